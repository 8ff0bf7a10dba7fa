-- KPIs the analytics and operations plans name (docs/metrics.md): customer engagement, and
-- readers' bookings with the double-booking rate, which must stay 0.
CREATE TABLE IF NOT EXISTS public.metrics_daily_engagement (
  day date PRIMARY KEY,
  active_customers integer NOT NULL,
  new_customers integer NOT NULL,
  returning_customers integer NOT NULL
);

CREATE TABLE IF NOT EXISTS public.metrics_daily_readers (
  day date PRIMARY KEY,
  bookings integer NOT NULL,
  readers_booked integer NOT NULL,
  double_bookings integer NOT NULL,
  double_booking_rate double precision,
  calls integer NOT NULL,
  readers_on_calls integer NOT NULL,
  call_seconds double precision NOT NULL,
  call_utilisation double precision
);

-- Aggregates only (no personal data): staff dashboards read them, nobody writes through the API.
-- What migration 0006 does for the first KPI tables, as a function the later ones call.
CREATE OR REPLACE FUNCTION private.samia_kpi_table(t text) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
  EXECUTE format('ALTER TABLE public.%I ENABLE ROW LEVEL SECURITY', t);
  IF NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = format('public.%I', t)::regclass) THEN
    EXECUTE format('CREATE POLICY %I ON public.%I FOR SELECT TO authenticated USING (private.has_role(%L, %L, %L))',
                   t || '_staff_read', t, 'monitor', 'admin', 'superadmin');
  END IF;
  EXECUTE format('GRANT SELECT ON public.%I TO authenticated', t);
  EXECUTE format('GRANT ALL ON public.%I TO service_role', t);
END $f$;
REVOKE ALL ON FUNCTION private.samia_kpi_table(text) FROM PUBLIC;
SELECT private.samia_kpi_table(t) FROM unnest(ARRAY['metrics_daily_engagement', 'metrics_daily_readers']) t;

-- The statement reads bookings by their time and calls by their start. On a large production
-- table, build these indexes with CREATE INDEX CONCURRENTLY beforehand: this migration then skips.
-- A customer's orders in time order: whether they ordered before a day (engagement) and when
-- they first ordered (cohorts) is then one index probe each, not a visit to every order of theirs
-- (on the benchmark's million orders the first night took 7.1 s without it, 4.3 s with it).
CREATE INDEX IF NOT EXISTS orders_user_created_idx ON public.orders (user_id, created_at);
CREATE INDEX IF NOT EXISTS orders_scheduled_idx ON public.orders (scheduled_at) WHERE scheduled_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS calls_started_idx ON public.calls (started_at);
