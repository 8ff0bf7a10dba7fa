-- Late data by design (docs/metrics.md, "Late data"): how far the metrics job has seen each
-- source, so that a night recomputes every day whose source rows changed since, however old,
-- not only the days of its look-back window. One row per source and business time zone.
CREATE TABLE IF NOT EXISTS public.metrics_watermarks (
  source text NOT NULL,
  time_zone text NOT NULL,
  -- The newest change time (events_raw.received_at, payment_intents.updated_at) the last
  -- committed run had seen.
  seen_until timestamptz NOT NULL,
  run_id bigint,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source, time_zone)
);
ALTER TABLE public.metrics_watermarks ENABLE ROW LEVEL SECURITY;
GRANT ALL ON public.metrics_watermarks TO service_role;

-- What changed since a watermark is found through these. On a large production table, build
-- them with CREATE INDEX CONCURRENTLY beforehand: this migration then finds them and skips.
CREATE INDEX IF NOT EXISTS events_raw_received_idx ON public.events_raw (received_at);
CREATE INDEX IF NOT EXISTS payment_intents_updated_idx ON public.payment_intents (updated_at);
