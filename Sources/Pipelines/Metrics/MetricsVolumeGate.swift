import Postgres

/// The check that keeps a day from being recomputed to nothing: each gated figure of a day in
/// the window against the median of the same figure over the seven days before it. A figure
/// that falls by more than `share` (to zero included) from a median of at least `minimumVolume`
/// is a drop; the source rows were probably lost or not loaded yet, and committing would replace
/// real history with the gap. Days with fewer than three earlier days of figures are not judged.
///
/// It runs in the unit's transaction, after the unit's own tables are written: the earlier days
/// it compares with are the figures as this session sees them (this run's for its own slice,
/// the committed ones for the rest).
struct MetricsVolumeGate: Sendable {
    /// The share a figure may fall below its trailing median before the day is refused (0…1).
    var share: Double
    /// Medians below this are too small to judge a drop by.
    var minimumVolume: Int

    /// One gated figure per table: SQL over the table's rows of one day. Moderation decisions
    /// are not gated: they follow orders by hours or days, so the latest days are always short
    /// of them and a drop there is the normal lag, not lost data (the demo's seed shows it).
    static let figures: [(table: String, label: String, sql: String)] = [
        ("metrics_daily_orders", "orders created", "sum(orders_created)"),
        ("metrics_daily_payments", "payment attempts", "sum(payments_attempted)"),
        ("metrics_daily_revenue", "succeeded payments", "sum(payments_succeeded)"),
        ("metrics_daily_calls", "calls started", "sum(calls_started)"),
        ("metrics_daily_platform", "active clients", "sum(daily_active_clients)"),
        ("metrics_daily_notifications", "notifications", "sum(queued + sent + failed)"),
    ]

    static let trailingDays = 7

    /// The statement for one table's figure: `$1`, `$2` the unit's days, `$3` the share, `$4`
    /// the minimum volume; one text row per drop, naming the table, the day and the figures.
    static func sql(table: String, label: String, figure: String) -> String {
        """
        WITH d AS (
          SELECT day, (\(figure))::double precision AS v FROM public.\(table)
           WHERE day BETWEEN $1::date - \(trailingDays) AND $2::date GROUP BY day
        )
        SELECT '\(table): \(label) on ' || cur.day || ': ' || cur.v::bigint || ' against a median of '
               || round(m.median::numeric, 1) || ' over the ' || m.n || ' day(s) before, a drop of '
               || round((100 * (1 - cur.v / m.median))::numeric) || '%'
          FROM d cur
          CROSS JOIN LATERAL (
            SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY p.v) AS median, count(*) AS n
              FROM d p WHERE p.day BETWEEN cur.day - \(trailingDays) AND cur.day - 1) m
         WHERE cur.day BETWEEN $1::date AND $2::date AND m.n >= 3 AND m.median >= $4::double precision
           AND cur.v < m.median * (1 - $3::double precision)
         ORDER BY cur.day
        """
    }

    /// The drops among `tables` for `days`.
    func drops(_ db: Connection, tables: [String], from first: LocalDate, to last: LocalDate) throws -> [String] {
        var found: [String] = []
        for figure in Self.figures where tables.contains(figure.table) {
            let rows = try db.query(
                Self.sql(table: figure.table, label: figure.label, figure: figure.sql),
                [first, last, share, minimumVolume])
            found += try rows.map { try $0.decode(0, as: String.self) }
        }
        return found
    }
}
