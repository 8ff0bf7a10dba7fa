-- Invoicing: gapless number series, credit notes, and a record of documents that failed.

-- One row per series and year. Numbers are taken by UPDATE ... RETURNING in the same
-- transaction that inserts the document, so a rollback or crash returns the number: no gaps.
CREATE TABLE IF NOT EXISTS public.document_sequences (
  series text NOT NULL CHECK (series IN ('invoice', 'credit_note')),
  year integer NOT NULL CHECK (year BETWEEN 2000 AND 2999),
  last_value bigint NOT NULL DEFAULT 0 CHECK (last_value >= 0),
  PRIMARY KEY (series, year)
);
ALTER TABLE public.document_sequences ENABLE ROW LEVEL SECURITY;

-- At most one invoice per payment, whatever the number of workers.
CREATE UNIQUE INDEX IF NOT EXISTS invoices_payment_intent_uidx
  ON public.invoices (payment_intent_id) WHERE payment_intent_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS invoices_pending_pdf_idx ON public.invoices (id) WHERE pdf_media_id IS NULL;

CREATE TABLE IF NOT EXISTS public.credit_notes (
  id bigserial PRIMARY KEY,
  refund_id bigint NOT NULL UNIQUE REFERENCES public.refunds(id),
  invoice_id bigint NOT NULL REFERENCES public.invoices(id),
  order_id bigint NOT NULL REFERENCES public.orders(id),
  number text NOT NULL UNIQUE,
  amount_cents bigint NOT NULL CHECK (amount_cents > 0),
  vat_cents bigint NOT NULL CHECK (vat_cents >= 0),
  currency char(3) NOT NULL,
  pdf_media_id bigint REFERENCES public.media_assets(id),
  meta jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS credit_notes_invoice_idx ON public.credit_notes (invoice_id);
CREATE INDEX IF NOT EXISTS credit_notes_order_idx ON public.credit_notes (order_id);
ALTER TABLE public.credit_notes ENABLE ROW LEVEL SECURITY;
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = 'public.credit_notes'::regclass) THEN
    CREATE POLICY credit_notes_own_read ON public.credit_notes FOR SELECT TO authenticated
      USING (private.owns_order(order_id));
    CREATE POLICY credit_notes_admin_read ON public.credit_notes FOR SELECT TO authenticated
      USING (private.has_role('admin', 'superadmin'));
  END IF;
END
$$;

-- Source rows that could not be turned into a document, with the reason (no personal data).
CREATE TABLE IF NOT EXISTS public.document_failures (
  source text NOT NULL CHECK (source IN ('payment_intent', 'refund', 'invoice', 'credit_note')),
  source_id bigint NOT NULL,
  error text NOT NULL,
  attempts integer NOT NULL DEFAULT 1,
  first_failed_at timestamptz NOT NULL DEFAULT now(),
  last_failed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source, source_id)
);
ALTER TABLE public.document_failures ENABLE ROW LEVEL SECURITY;
