-- Makes public.events_raw a table partitioned by UTC day on occurred_at, one partition per day from
-- FIRST to LAST, a default partition for anything else, and the time index; then fills it from the
-- table SOURCE (the plain events_raw moved aside by the caller, or a copy). What the metrics job
-- reads and a `drop_partitions` retention rule drops (docs/retention.md); used by the tests and
-- bench/retention-partitions.sh, and an example for a platform that partitions its events.
--   psql -v first=2026-10-01 -v last=2026-12-01 -v source=events_raw_plain -f scripts/partition-events-raw.sql
\set ON_ERROR_STOP on
SELECT set_config('samia.partition_first', :'first', false), set_config('samia.partition_last', :'last', false) \gset
CREATE TABLE public.events_raw (LIKE public.:"source" INCLUDING DEFAULTS) PARTITION BY RANGE (occurred_at);
DO $$
DECLARE d date;
BEGIN
  FOR d IN SELECT g::date FROM generate_series(current_setting('samia.partition_first')::date,
                                               current_setting('samia.partition_last')::date, interval '1 day') g LOOP
    EXECUTE format('CREATE TABLE public.events_raw_%s PARTITION OF public.events_raw FOR VALUES FROM (%L) TO (%L)',
                   to_char(d, 'YYYYMMDD'), d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC');
  END LOOP;
END $$;
CREATE TABLE public.events_raw_default PARTITION OF public.events_raw DEFAULT;
CREATE INDEX ON public.events_raw (occurred_at);
-- The data map's JSON key registry follows new events' props here as on the plain table
-- (migration 0032; docs/privacy.md).
CREATE TRIGGER samia_json_keys_props AFTER INSERT ON public.events_raw REFERENCING NEW TABLE AS samia_new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION private.samia_note_json_keys('props');
CREATE TRIGGER samia_json_keys_props_u AFTER UPDATE ON public.events_raw REFERENCING NEW TABLE AS samia_new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION private.samia_note_json_keys('props');
-- What the metrics job finds arrivals (late data, duplicates) through: migrations 0019 and 0020.
CREATE INDEX ON public.events_raw (received_at);
CREATE INDEX ON public.events_raw (event_uuid) WHERE event_uuid IS NOT NULL;
INSERT INTO public.events_raw SELECT * FROM public.:"source";
