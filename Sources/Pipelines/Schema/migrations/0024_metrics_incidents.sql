-- Incidents and their time to recover (docs/metrics.md): the operations plan wants MTTR on its
-- dashboards. The incidents this database records are the batch jobs' failures (the runs that
-- page on-call); a job's incident runs from its first failed run after a success to its next
-- succeeded run.
CREATE TABLE IF NOT EXISTS public.metrics_daily_incidents (
  day date PRIMARY KEY,
  incidents_opened integer NOT NULL,
  incidents_resolved integer NOT NULL,
  open_at_end integer NOT NULL,
  mttr_avg_s double precision,
  mttr_max_s double precision
);
SELECT private.samia_kpi_table('metrics_daily_incidents');
