-- The payment receipt printed with each invoice, as a real reference: it was only a key in
-- invoices.meta, so an erasure deleted the receipt (the subject's own media row) while the tax
-- invoice it belongs to was retained. With the foreign key, the erasure keeps it as it keeps the
-- invoice's PDF, and retention never treats it as unreferenced.
ALTER TABLE public.invoices ADD COLUMN IF NOT EXISTS receipt_media_id bigint REFERENCES public.media_assets(id);
UPDATE public.invoices i SET receipt_media_id = (i.meta->>'receipt_media_id')::bigint
 WHERE i.receipt_media_id IS NULL AND i.meta->>'receipt_media_id' ~ '^[0-9]{1,18}$'
   AND EXISTS (SELECT 1 FROM public.media_assets m WHERE m.id = (i.meta->>'receipt_media_id')::bigint);
CREATE INDEX IF NOT EXISTS invoices_receipt_media_idx ON public.invoices (receipt_media_id);
