-- Bank statements as the bank delivered them (camt.053, MT940, OFX), for the bank tie-out of the
-- monthly reconciliation (docs/reconciliation.md, "Bank tie-out"). Amounts are integer minor
-- units of the account's currency; credits (money in) are positive.

CREATE TABLE IF NOT EXISTS public.bank_statement_files (
  id bigserial PRIMARY KEY,
  file_name text NOT NULL,
  sha256 text NOT NULL UNIQUE,
  format text NOT NULL CHECK (format IN ('camt.053', 'MT940', 'OFX')),
  imported_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS public.bank_statements (
  id bigserial PRIMARY KEY,
  file_id bigint NOT NULL REFERENCES public.bank_statement_files(id),
  statement_ref text NOT NULL,
  account text NOT NULL,
  currency char(3) NOT NULL,
  opening_minor bigint NOT NULL,
  opening_date date NOT NULL,
  closing_minor bigint NOT NULL,
  closing_date date NOT NULL,
  CHECK (opening_date <= closing_date)
);
CREATE INDEX IF NOT EXISTS bank_statements_account_idx ON public.bank_statements (account, currency, closing_date);

CREATE TABLE IF NOT EXISTS public.bank_entries (
  id bigserial PRIMARY KEY,
  statement_id bigint NOT NULL REFERENCES public.bank_statements(id),
  line_no integer NOT NULL,
  account text NOT NULL,
  currency char(3) NOT NULL,
  -- The bank's id of the entry, else one made of its date, amount and reference: an entry that
  -- overlapping statements deliver twice is kept once.
  entry_key text NOT NULL,
  booking_date date NOT NULL,
  value_date date NOT NULL,
  amount_minor bigint NOT NULL,
  reference text NOT NULL,
  is_fee boolean NOT NULL,
  UNIQUE (account, currency, entry_key)
);
CREATE INDEX IF NOT EXISTS bank_entries_date_idx ON public.bank_entries (booking_date);

-- Finance data: no API access; the batch (owner or service_role) reads it.
ALTER TABLE public.bank_statement_files ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.bank_statements ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.bank_entries ENABLE ROW LEVEL SECURITY;
GRANT ALL ON public.bank_statement_files, public.bank_statements, public.bank_entries TO service_role;
