import Postgres

/// One statement of the metrics job, with the tables it replaces and the totals it reports
/// having read. A step over a run of days is a unit of work: it deletes its tables' rows for
/// those days, writes them again and checks them, so any session can take it.
struct MetricsStep: Sendable {
    let name: String
    let sql: String
    /// The `metrics_daily_*` tables the statement writes, and no others.
    let tables: [String]
    /// The `source_*` columns the statement returns, for `MetricsQualityCheck.readTotals`.
    let readTotals: [String]
    /// A day of events fills thousands of heap pages in a row. A bitmap scan reads each page
    /// once and checks its rows together; the planner, seeing the heap in time order, picks the
    /// index scan, which fetches row by row and took about 1.2 times as long
    /// (docs/performance.md). The other statements keep the planner's choice.
    let indexScansOff: Bool
    /// The settings the statement takes after the job's three parameters, as `$4`….
    var settings: @Sendable (MetricsSettings) -> [any PostgresEncodable] = { _ in [] }

    /// The weekly cohorts: not a statement over a slice of days but `MetricsCohorts` over every
    /// week the run's days fall in, as one unit handed out first, beside the events' slices.
    static let cohorts = MetricsStep(
        name: "cohorts", sql: "", tables: ["metrics_weekly_cohorts", "metrics_weekly_retention"], readTotals: [],
        indexScansOff: false)

    /// In the order their work is handed out: the longest first, so the short ones fill in
    /// at the end of a run.
    static let all = [
        MetricsStep(
            name: "events", sql: MetricsSQL.events,
            tables: ["metrics_daily_orders", "metrics_daily_calls", "metrics_daily_platform"],
            readTotals: ["source_orders", "source_calls", "source_platform"], indexScansOff: true),
        MetricsStep(
            name: "payments", sql: MetricsSQL.payments, tables: ["metrics_daily_payments", "metrics_daily_revenue"],
            readTotals: ["source_payments", "source_gross", "source_refunded"], indexScansOff: false,
            settings: { [$0.reportingCurrency, $0.fxMaxAgeDays, MetricsSQL.exponents] }),
        MetricsStep(
            name: "content", sql: MetricsSQL.contentAndNotifications,
            tables: ["metrics_daily_content", "metrics_daily_notifications"],
            readTotals: ["source_moderation", "source_notifications"], indexScansOff: false),
        MetricsStep(
            name: "customers", sql: MetricsSQL.customersAndReaders,
            tables: ["metrics_daily_engagement", "metrics_daily_readers"],
            readTotals: ["source_customer_days", "source_bookings"], indexScansOff: false,
            settings: { [$0.bookingMinutes, $0.readerShiftHours] }),
        MetricsStep(
            name: "incidents", sql: MetricsSQL.incidents, tables: ["metrics_daily_incidents"], readTotals: [],
            indexScansOff: false),
    ]
}
