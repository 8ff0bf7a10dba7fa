-- Duplicate analytics events counted once (docs/metrics.md, "Duplicate events"). A sender that
-- retries (a mobile client offline, a queue redelivering) may write the same event twice; with
-- the event's own identifier in event_uuid (one UUID per event, the same on every retry) the
-- metrics job counts the first copy written (lowest id) and leaves the others out. Events
-- without one cannot be recognised and are counted as they come.
ALTER TABLE public.events_raw ADD COLUMN IF NOT EXISTS event_uuid uuid;
-- On a large production table, build it with CREATE INDEX CONCURRENTLY beforehand: this
-- migration then finds it and skips.
CREATE INDEX IF NOT EXISTS events_raw_event_uuid_idx ON public.events_raw (event_uuid) WHERE event_uuid IS NOT NULL;

-- The copies left out, found as they arrive: ids only, never the event itself.
CREATE TABLE IF NOT EXISTS public.metrics_event_duplicates (
  id bigint PRIMARY KEY,          -- events_raw.id of a copy left out
  original_id bigint NOT NULL,    -- events_raw.id of the copy counted
  event_uuid uuid NOT NULL,
  occurred_at timestamptz NOT NULL,
  run_id bigint,
  found_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE public.metrics_event_duplicates ENABLE ROW LEVEL SECURITY;
GRANT ALL ON public.metrics_event_duplicates TO service_role;
