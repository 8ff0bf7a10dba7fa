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
-- Aggregates only; staff dashboards read them, as the daily KPI tables (migration 0021).
SELECT private.samia_kpi_table(t) FROM unnest(ARRAY['metrics_weekly_cohorts', 'metrics_weekly_retention']) t;
