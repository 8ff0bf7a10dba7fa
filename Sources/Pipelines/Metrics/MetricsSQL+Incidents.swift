extension MetricsSQL {
    /// One read of the run ledger (`batch_runs`, a small table) for incidents: per job, a run that
    /// failed, ended partial or was aborted after a success (or as the job's first run) opens an
    /// incident, and the job's next succeeded run resolves it. Dry runs and runs still going on do
    /// not count. An incident counts as opened on the local day it opened, as resolved (with its
    /// time to recover) on the day it was resolved, and as open at the end of every day it spans.
    static let incidents = """
        WITH days AS (\(days)),
        runs AS MATERIALIZED (
          SELECT r.job, coalesce(r.finished_at, r.started_at) AS at, r.status <> 'succeeded' AS bad
            FROM public.batch_runs r
           WHERE NOT r.dry_run AND r.status IN ('succeeded', 'failed', 'partial', 'aborted')
             AND coalesce(r.finished_at, r.started_at) < \(windowEnd)
        ),
        marked AS (SELECT job, at, bad, lag(bad) OVER (PARTITION BY job ORDER BY at) AS was_bad FROM runs),
        incidents AS MATERIALIZED (
          SELECT s.job, s.at AS opened_at,
                 (SELECT min(m.at) FROM marked m WHERE m.job = s.job AND NOT m.bad AND m.at > s.at) AS resolved_at
            FROM marked s WHERE s.bad AND NOT coalesce(s.was_bad, false)
        ),
        per_day AS (
          SELECT d.day,
                 count(*) FILTER (WHERE i.opened_at >= lo AND i.opened_at < hi) AS opened,
                 count(*) FILTER (WHERE i.resolved_at >= lo AND i.resolved_at < hi) AS resolved,
                 count(*) FILTER (WHERE i.opened_at < hi AND (i.resolved_at IS NULL OR i.resolved_at >= hi)) AS still_open,
                 avg(extract(epoch FROM i.resolved_at - i.opened_at)) FILTER (WHERE i.resolved_at >= lo AND i.resolved_at < hi) AS mttr_avg,
                 max(extract(epoch FROM i.resolved_at - i.opened_at)) FILTER (WHERE i.resolved_at >= lo AND i.resolved_at < hi) AS mttr_max
            FROM days d
            CROSS JOIN LATERAL (SELECT d.day::timestamp AT TIME ZONE $3 AS lo, (d.day + 1)::timestamp AT TIME ZONE $3 AS hi) b
            LEFT JOIN incidents i ON i.opened_at < b.hi
           GROUP BY d.day
        ),
        ins AS (
          INSERT INTO public.metrics_daily_incidents (day, incidents_opened, incidents_resolved, open_at_end, mttr_avg_s,
                 mttr_max_s)
          SELECT day, opened, resolved, still_open, mttr_avg::double precision, mttr_max::double precision FROM per_day
          RETURNING 1
        )
        SELECT (SELECT count(*) FROM ins) AS incidents
        """
}
