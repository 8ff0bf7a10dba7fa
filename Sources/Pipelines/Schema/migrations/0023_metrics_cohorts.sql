-- Cohort retention (docs/metrics.md): customers by the week of their first order, and how many
-- of each cohort ordered in each later week. Weeks start on Monday in the business time zone.
CREATE TABLE IF NOT EXISTS public.metrics_weekly_cohorts (
  cohort_week date PRIMARY KEY,
  customers integer NOT NULL
);
CREATE TABLE IF NOT EXISTS public.metrics_weekly_retention (
  cohort_week date NOT NULL,
  weeks_since integer NOT NULL,
  cohort_customers integer NOT NULL,
  active_customers integer NOT NULL,
  retention_rate double precision,
  PRIMARY KEY (cohort_week, weeks_since)
);
-- Aggregates only; staff dashboards read them, as the daily KPI tables.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['metrics_weekly_cohorts', 'metrics_weekly_retention'] LOOP
    EXECUTE format('ALTER TABLE public.%I ENABLE ROW LEVEL SECURITY', t);
    IF NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = format('public.%I', t)::regclass) THEN
      EXECUTE format('CREATE POLICY %I ON public.%I FOR SELECT TO authenticated USING (private.has_role(%L, %L, %L))',
                     t || '_staff_read', t, 'monitor', 'admin', 'superadmin');
    END IF;
    EXECUTE format('GRANT SELECT ON public.%I TO authenticated', t);
    EXECUTE format('GRANT ALL ON public.%I TO service_role', t);
  END LOOP;
END $$;
