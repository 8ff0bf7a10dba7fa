-- Provider settlement reports, as imported (docs/reconciliation.md). Amounts are integer minor
-- units of the row's currency; the original decimal text is kept in `raw` for audit.

CREATE TABLE IF NOT EXISTS public.settlement_files (
  id bigserial PRIMARY KEY,
  provider text NOT NULL CHECK (provider IN ('stripe', 'checkout')),
  report_type text NOT NULL,
  file_name text NOT NULL,
  sha256 text NOT NULL UNIQUE,
  rows_read integer NOT NULL,
  rows_imported integer NOT NULL,
  rows_already_known integer NOT NULL,
  imported_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS public.settlement_lines (
  id bigserial PRIMARY KEY,
  file_id bigint NOT NULL REFERENCES public.settlement_files(id),
  provider text NOT NULL,
  line_no integer NOT NULL,
  -- Stripe: balance_transaction_id. Checkout.com: Action ID and breakdown type.
  line_key text NOT NULL,
  created_at timestamptz NOT NULL,
  available_on date,
  category text NOT NULL,
  currency char(3) NOT NULL,
  gross_minor bigint NOT NULL,
  fee_minor bigint NOT NULL,
  net_minor bigint NOT NULL,
  presentment_currency char(3),
  presentment_minor bigint,
  source_id text,
  charge_id text,
  payment_intent_id text,
  payout_id text,
  description text,
  raw jsonb NOT NULL,
  UNIQUE (provider, line_key)
);
CREATE INDEX IF NOT EXISTS settlement_lines_pi_idx ON public.settlement_lines (payment_intent_id);
CREATE INDEX IF NOT EXISTS settlement_lines_created_idx ON public.settlement_lines (created_at);

-- Finance data: no API access; the batch (owner or service_role) reads it.
ALTER TABLE public.settlement_files ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.settlement_lines ENABLE ROW LEVEL SECURITY;
GRANT ALL ON public.settlement_files, public.settlement_lines TO service_role;
