-- Retention (docs/retention.md): legal holds on single rows as well as on subjects, and the
-- indexes the nightly purge walks. The purge itself writes audit_log and storage_outbox.

-- A hold names a subject (all their rows, or one table's), or one row of one table by its
-- primary key (a horoscope kept for a complaint, an artefact an authority asked for).
ALTER TABLE public.legal_holds ADD COLUMN IF NOT EXISTS row_key text;
ALTER TABLE public.legal_holds ALTER COLUMN subject DROP NOT NULL;
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'legal_holds_target_check') THEN
    ALTER TABLE public.legal_holds ADD CONSTRAINT legal_holds_target_check
      CHECK (subject IS NOT NULL OR (table_name IS NOT NULL AND row_key IS NOT NULL));
  END IF;
END $$;
CREATE INDEX IF NOT EXISTS legal_holds_row_idx ON public.legal_holds (table_name, row_key)
  WHERE released_at IS NULL AND row_key IS NOT NULL;

-- The purge finds expired rows by age; without these it scans whole tables every night.
CREATE INDEX IF NOT EXISTS horoscopes_ref_date_idx ON public.horoscopes (ref_date);
CREATE INDEX IF NOT EXISTS batch_artifacts_expires_idx ON public.batch_artifacts (expires_at)
  WHERE expires_at IS NOT NULL;
-- "Does any row still use this object?" is asked for every deleted media row.
CREATE INDEX IF NOT EXISTS media_assets_url_idx ON public.media_assets (url);
CREATE INDEX IF NOT EXISTS horoscopes_audio_idx ON public.horoscopes (audio_media_id);
CREATE INDEX IF NOT EXISTS orders_input_media_idx ON public.orders (input_media_id) WHERE input_media_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS orders_output_media_idx ON public.orders (output_media_id) WHERE output_media_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS invoices_pdf_media_idx ON public.invoices (pdf_media_id) WHERE pdf_media_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS credit_notes_pdf_media_idx ON public.credit_notes (pdf_media_id) WHERE pdf_media_id IS NOT NULL;
