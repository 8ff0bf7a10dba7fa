-- The register of reconciliation breaks (docs/reconciliation.md, "Working breaks"): each break
-- has a stable id, is carried from month to month while open, and is resolved by a person with
-- a reason (an audit_log row each time). A break resolved once is not raised again.

CREATE TABLE IF NOT EXISTS public.reconciliation_breaks (
  -- 'BR-' and 12 hex digits of the break's identity (type and the keys naming its items).
  id text PRIMARY KEY CHECK (id ~ '^BR-[0-9A-F]{12}(-[0-9]+)?$'),
  break_type text NOT NULL,
  first_month text NOT NULL CHECK (first_month ~ '^[0-9]{4}-[0-9]{2}$'),
  last_month text NOT NULL CHECK (last_month ~ '^[0-9]{4}-[0-9]{2}$'),
  first_seen_at timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  -- When the item happened (the ledger's or the provider's time): ageing counts from here.
  occurred_at timestamptz NOT NULL,
  -- The break's row as its CSV gives it (ids, currencies, minor units, detail): no personal data.
  item jsonb NOT NULL,
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'cleared', 'resolved')),
  -- Cleared: a later run of the same month no longer found it (a late settlement file).
  cleared_at timestamptz,
  cleared_by_run bigint,
  resolved_at timestamptz,
  resolved_by text,
  resolved_role text,
  resolution text,
  CHECK ((status = 'resolved') = (resolved_at IS NOT NULL AND resolved_by IS NOT NULL AND resolution IS NOT NULL)),
  CHECK (status <> 'cleared' OR cleared_at IS NOT NULL)
);
CREATE INDEX IF NOT EXISTS reconciliation_breaks_open_idx ON public.reconciliation_breaks (first_month)
  WHERE status = 'open';

-- Finance data: no API access; the batch (owner or service_role) reads and writes it.
ALTER TABLE public.reconciliation_breaks ENABLE ROW LEVEL SECURITY;
GRANT ALL ON public.reconciliation_breaks TO service_role;
