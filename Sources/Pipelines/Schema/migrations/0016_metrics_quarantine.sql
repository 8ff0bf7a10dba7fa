-- Analytics events the metrics job cannot read (a value that should be a number and is not):
-- set aside with the reason instead of failing the night, counted in the run's log and metrics.
-- Ids and reasons only: the event itself stays in events_raw.
CREATE TABLE IF NOT EXISTS public.metrics_quarantine (
  event_id bigint PRIMARY KEY,
  occurred_at timestamptz NOT NULL,
  event text NOT NULL,
  reason text NOT NULL,
  run_id bigint,
  quarantined_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE public.metrics_quarantine ENABLE ROW LEVEL SECURITY;
GRANT ALL ON public.metrics_quarantine TO service_role;
