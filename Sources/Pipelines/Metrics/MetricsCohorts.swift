import Postgres
import Runner

/// Cohort retention: customers grouped by the week (local Monday) of their first order, and
/// for each later week how many of them ordered again. A week's row depends on every order of
/// that week, so it cannot be cut into day slices like the daily tables: once the units are
/// done, the job's own session recomputes every week that a recomputed day falls in, whole, in
/// the same transaction and snapshot.
///
/// The size of a cohort is kept in `metrics_weekly_cohorts`, recomputed with its week; a cohort
/// met for the first time (history from before the job) is sized then. Each row of
/// `metrics_weekly_retention` carries the size it was divided by.
enum MetricsCohorts {
    /// Week bounds in zone `$1` for a `week` column (a local Monday).
    private static func bounds(_ week: String) -> (String, String) {
        ("(\(week)::timestamp AT TIME ZONE $1)", "((\(week) + 7)::timestamp AT TIME ZONE $1)")
    }

    /// Recomputes the weeks of `days` in `zone`; returns the weeks and the retention rows
    /// written. Throws, naming the row, when a cohort has more active customers than members.
    static func recompute(_ db: Connection, days: [LocalDate], zone: String) throws -> (weeks: Int64, rows: Int64) {
        let list = "{" + days.map(\.description).joined(separator: ",") + "}"
        try db.query(
            """
            CREATE TEMP TABLE metrics_touched_weeks ON COMMIT DROP AS
            SELECT DISTINCT date_trunc('week', d)::date AS week FROM unnest($1::date[]) d
            """, [list])
        let (low, high) = bounds("w.week")
        try db.query(
            """
            CREATE TEMP TABLE metrics_cohort_active ON COMMIT DROP AS
            SELECT w.week, date_trunc('week', f.first_at AT TIME ZONE $1)::date AS cohort, count(*) AS active
              FROM metrics_touched_weeks w
              CROSS JOIN LATERAL (SELECT DISTINCT o.user_id FROM public.orders o
                                   WHERE o.created_at >= \(low) AND o.created_at < \(high)) a
              CROSS JOIN LATERAL (SELECT min(x.created_at) AS first_at FROM public.orders x WHERE x.user_id = a.user_id) f
             GROUP BY 1, 2
            """, [zone])
        try sizeCohorts(db, zone: zone)
        try db.query(
            """
            DELETE FROM public.metrics_weekly_retention t USING metrics_touched_weeks w
             WHERE t.cohort_week + 7 * t.weeks_since = w.week
            """)
        let rows =
            try db.scalar(
                """
                WITH ins AS (
                  INSERT INTO public.metrics_weekly_retention (cohort_week, weeks_since, cohort_customers, active_customers,
                         retention_rate)
                  SELECT a.cohort, (a.week - a.cohort) / 7, c.customers, a.active,
                         a.active::double precision / nullif(c.customers, 0)
                    FROM metrics_cohort_active a JOIN public.metrics_weekly_cohorts c ON c.cohort_week = a.cohort
                  RETURNING 1)
                SELECT count(*) FROM ins
                """, as: Int64.self) ?? 0
        try check(db)
        let weeks = try db.scalar("SELECT count(*) FROM metrics_touched_weeks", as: Int64.self) ?? 0
        try db.query("DROP TABLE metrics_touched_weeks, metrics_cohort_active")
        return (weeks, rows)
    }

    /// Sizes the touched weeks' cohorts and any cohort met for the first time: customers with an
    /// order in the week and none before it. Rows of a resized cohort take the new size.
    private static func sizeCohorts(_ db: Connection, zone: String) throws {
        let (low, high) = bounds("n.week")
        try db.query(
            """
            WITH need AS (
              SELECT week FROM metrics_touched_weeks
              UNION SELECT cohort FROM metrics_cohort_active
               WHERE cohort NOT IN (SELECT cohort_week FROM public.metrics_weekly_cohorts))
            INSERT INTO public.metrics_weekly_cohorts (cohort_week, customers)
            SELECT n.week, (SELECT count(DISTINCT o.user_id) FROM public.orders o
                             WHERE o.created_at >= \(low) AND o.created_at < \(high)
                               AND NOT EXISTS (SELECT 1 FROM public.orders x
                                                WHERE x.user_id = o.user_id AND x.created_at < \(low)))
              FROM need n
            ON CONFLICT (cohort_week) DO UPDATE SET customers = excluded.customers
            """, [zone])
        try db.query(
            """
            UPDATE public.metrics_weekly_retention t
               SET cohort_customers = c.customers, retention_rate = t.active_customers::double precision / nullif(c.customers, 0)
              FROM public.metrics_weekly_cohorts c JOIN metrics_touched_weeks w ON w.week = c.cohort_week
             WHERE t.cohort_week = c.cohort_week AND t.cohort_customers <> c.customers
            """)
    }

    /// A cohort never has more active customers than members, and weeks never run backwards.
    private static func check(_ db: Connection) throws {
        let bad = try db.query(
            """
            SELECT t.cohort_week::text || ' + ' || t.weeks_since || ' week(s): ' || t.active_customers
                   || ' active of a cohort of ' || t.cohort_customers
              FROM public.metrics_weekly_retention t JOIN metrics_touched_weeks w ON t.cohort_week + 7 * t.weeks_since = w.week
             WHERE t.active_customers > t.cohort_customers OR t.weeks_since < 0
             LIMIT 5
            """
        ).map { try $0.decode(0, as: String.self) }
        guard bad.isEmpty else {
            throw BatchError.jobFailed(
                job: "metrics",
                message:
                    "data-quality check failed for metrics_weekly_retention: a cohort has more active customers than "
                    + "members; nothing of this run is committed: " + bad.joined(separator: "; "))
        }
    }
}
