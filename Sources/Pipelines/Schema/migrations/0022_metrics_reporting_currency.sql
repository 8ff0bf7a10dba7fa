-- Revenue in one reporting currency (docs/metrics.md, "Reporting currency"): dated exchange
-- rates loaded by finance, and beside each day's revenue figures the rate that converted them.
CREATE TABLE IF NOT EXISTS public.fx_rates (
  reporting_currency char(3) NOT NULL CHECK (reporting_currency ~ '^[A-Z]{3}$'),
  currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  rate_date date NOT NULL,
  -- Units of the reporting currency per one unit of `currency` (not per minor unit).
  rate numeric NOT NULL CHECK (rate > 0),
  source text NOT NULL DEFAULT 'manual',
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (reporting_currency, currency, rate_date),
  CHECK (currency <> reporting_currency)
);
ALTER TABLE public.fx_rates ENABLE ROW LEVEL SECURITY;
GRANT ALL ON public.fx_rates TO service_role;

ALTER TABLE public.metrics_daily_revenue
  ADD COLUMN IF NOT EXISTS reporting_currency char(3),
  ADD COLUMN IF NOT EXISTS fx_rate numeric,
  ADD COLUMN IF NOT EXISTS fx_rate_date date,
  ADD COLUMN IF NOT EXISTS gross_reporting_minor bigint,
  ADD COLUMN IF NOT EXISTS refunded_reporting_minor bigint;
