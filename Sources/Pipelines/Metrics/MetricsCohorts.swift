import Postgres
import Runner

/// Cohort retention: customers grouped by the week (local Monday) of their first order, and
/// for each later week how many of them ordered again. A week's row depends on every order of
/// that week, so it cannot be cut into day slices like the daily tables: once the units are
/// done, the job's own session recomputes every week that a recomputed day falls in, whole, in
/// the same transaction and snapshot.
///
/// The size of a cohort is kept in `metrics_weekly_cohorts`, recomputed with its week. The first
/// run (or one of many weeks, or one that meets a cohort never sized) reads every customer's
/// first order in one pass and sizes every cohort; a night's one or two weeks look up their own
/// customers' first orders one by one. Each row of `metrics_weekly_retention` carries the size
/// it was divided by.
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
            CREATE TEMP TABLE metrics_week_customers ON COMMIT DROP AS
            SELECT DISTINCT w.week, o.user_id FROM metrics_touched_weeks w
              JOIN public.orders o ON o.created_at >= \(low) AND o.created_at < \(high)
            """, [zone])
        let weeks = try db.scalar("SELECT count(*) FROM metrics_touched_weeks", as: Int64.self) ?? 0
        let sized = try db.scalar("SELECT count(*) FROM public.metrics_weekly_cohorts", as: Int64.self) ?? 0
        // A few weeks look up their customers' first orders one by one; the first run, or many
        // weeks, read every customer's first order in one pass and size every cohort with it.
        var everyone = sized == 0 || weeks > 3
        try firstOrders(db, zone: zone, everyone: everyone)
        if !everyone, try cohortMissing(db) {
            everyone = true
            try firstOrders(db, zone: zone, everyone: true)
        }
        try sizeCohorts(db, everyone: everyone)
        try db.query(
            """
            DELETE FROM public.metrics_weekly_retention t USING metrics_touched_weeks w
             WHERE t.cohort_week + 7 * t.weeks_since = w.week
            """)
        let rows =
            try db.scalar(
                """
                WITH active AS (
                  SELECT c.week, f.cohort, count(*) AS active
                    FROM metrics_week_customers c JOIN metrics_first_orders f ON f.user_id = c.user_id
                   GROUP BY 1, 2),
                ins AS (
                  INSERT INTO public.metrics_weekly_retention (cohort_week, weeks_since, cohort_customers, active_customers,
                         retention_rate)
                  SELECT a.cohort, (a.week - a.cohort) / 7, c.customers, a.active,
                         a.active::double precision / nullif(c.customers, 0)
                    FROM active a JOIN public.metrics_weekly_cohorts c ON c.cohort_week = a.cohort
                  RETURNING 1)
                SELECT count(*) FROM ins
                """, as: Int64.self) ?? 0
        try check(db)
        try db.query("DROP TABLE metrics_touched_weeks, metrics_week_customers, metrics_first_orders")
        return (weeks, rows)
    }

    /// Each customer's cohort: of the touched weeks' customers (one index probe each), or of
    /// every customer (one pass over the orders' customer index).
    private static func firstOrders(_ db: Connection, zone: String, everyone: Bool) throws {
        try db.query("DROP TABLE IF EXISTS metrics_first_orders")
        let source =
            everyone
            ? "SELECT user_id, min(created_at) AS first_at FROM public.orders GROUP BY user_id"
            : """
            SELECT a.user_id, (SELECT min(x.created_at) FROM public.orders x WHERE x.user_id = a.user_id) AS first_at
              FROM (SELECT DISTINCT user_id FROM metrics_week_customers) a
            """
        try db.query(
            """
            CREATE TEMP TABLE metrics_first_orders ON COMMIT DROP AS
            SELECT f.user_id, date_trunc('week', f.first_at AT TIME ZONE $1)::date AS cohort FROM (\(source)) f
            """, [zone])
    }

    /// Whether a touched week's customer belongs to a cohort never sized (history from before
    /// the job's first run, or a week another zone's runs sized differently).
    private static func cohortMissing(_ db: Connection) throws -> Bool {
        try db.scalar(
            """
            SELECT EXISTS (SELECT 1 FROM metrics_first_orders f
                            WHERE NOT EXISTS (SELECT 1 FROM public.metrics_weekly_cohorts c WHERE c.cohort_week = f.cohort)
                              AND NOT EXISTS (SELECT 1 FROM metrics_touched_weeks w WHERE w.week = f.cohort))
            """, as: Bool.self) ?? false
    }

    /// A cohort's customers are those whose first order falls in its week; each of them ordered
    /// in that week, so a touched week's cohort is complete among its own customers. Sizes the
    /// touched weeks (and, from a pass over everyone, every cohort); rows of a resized cohort
    /// take the new size.
    private static func sizeCohorts(_ db: Connection, everyone: Bool) throws {
        let others = everyone ? "UNION SELECT cohort FROM metrics_first_orders" : ""
        try db.query(
            """
            INSERT INTO public.metrics_weekly_cohorts (cohort_week, customers)
            SELECT n.week, coalesce(s.customers, 0)
              FROM (SELECT week FROM metrics_touched_weeks \(others)) n
              LEFT JOIN (SELECT cohort, count(*) AS customers FROM metrics_first_orders GROUP BY cohort) s
                ON s.cohort = n.week
            ON CONFLICT (cohort_week) DO UPDATE SET customers = excluded.customers
            """)
        try db.query(
            """
            UPDATE public.metrics_weekly_retention t
               SET cohort_customers = c.customers, retention_rate = t.active_customers::double precision / nullif(c.customers, 0)
              FROM public.metrics_weekly_cohorts c
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
