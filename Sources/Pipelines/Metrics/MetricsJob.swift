import Foundation
import Postgres

/// Recomputes the daily KPI tables for a window of business days ending at its partition's day.
///
/// Whole days are replaced: the window's rows are deleted and inserted again from the sources
/// in one REPEATABLE READ transaction, then checked (`MetricsQualityCheck`) before commit, so a
/// re-run is idempotent, keys that vanished from the sources vanish from the tables, and a
/// failed check leaves the previous figures in place. Every source is read once per window.
public struct MetricsJob: Job {
    public let name = "metrics"
    public let partitionKind = PartitionKind.day
    public var isDestructive: Bool { false }

    public let settings: MetricsSettings
    /// Days to recompute, ending at the partition's day (1 for a backfill day).
    public let windowDays: Int

    public init(settings: MetricsSettings, windowDays: Int? = nil) {
        self.settings = settings
        self.windowDays = max(1, windowDays ?? settings.lookbackDays)
    }

    /// The window for `day`, clipped at the raw-data horizon; nil when `day` itself is older.
    public func window(endingAt day: LocalDate, now: Date) -> ClosedRange<LocalDate>? {
        let horizon = settings.horizon(now: now)
        guard day >= horizon else { return nil }
        return max(day.adding(days: -(windowDays - 1)), horizon)...day
    }

    private func refusal(_ day: LocalDate, now: Date) -> BatchError {
        .refused(
            "metrics for \(day) refused: it is before the raw-data horizon \(settings.horizon(now: now)) "
                + "(METRICS_RAW_RETENTION_DAYS=\(settings.rawRetentionDays)); its raw events are purged, so "
                + "recomputing would overwrite history with zeros")
    }

    public func run(_ context: JobContext) throws -> JobOutcome {
        let now = context.clock.now()
        let window: ClosedRange<LocalDate>
        switch (context.partition.kind, context.partition.dayRange) {
        case (.day, let range?):
            guard let clipped = self.window(endingAt: range.upperBound, now: now) else {
                throw refusal(range.upperBound, now: now)
            }
            window = clipped
        case (.range, let range?):
            // A backfill chunk is recomputed exactly as asked, never partly.
            guard range.lowerBound >= settings.horizon(now: now) else { throw refusal(range.lowerBound, now: now) }
            window = range
        default:
            throw BatchError.configuration("the metrics job runs for a day or a day range, not \(context.partition)")
        }
        let parameters: [any PostgresEncodable] = [window.lowerBound, window.upperBound, settings.timeZone]
        let db = context.connection
        // Ask PostgreSQL itself (cheaper than scanning pg_timezone_names): an unknown zone is 22023.
        do {
            _ = try db.query("SELECT now() AT TIME ZONE $1", [settings.timeZone])
        } catch {
            guard error.sqlState == "22023" else { throw error }
            throw BatchError.configuration("PostgreSQL does not know the time zone \"\(settings.timeZone)\"")
        }
        let days = Int64(window.upperBound.daysSince(window.lowerBound) + 1)
        if context.dryRun {
            print("would recompute \(days) day(s) \(window.lowerBound)…\(window.upperBound) in \(settings.timeZone)")
            return JobOutcome(stats: ["days": days])
        }
        context.logger.info(
            "recomputing daily metrics",
            metadata: [
                "event": "metrics_window", "from": "\(window.lowerBound)", "to": "\(window.upperBound)",
                "time_zone": "\(settings.timeZone)",
            ])
        var stats: [String: Int64] = ["days": days]
        try db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        do {
            // Percentiles and distinct counts sort a window's events; keep those sorts in memory
            // for this transaction only (PostgreSQL's default 4 MB spills a 10-day window to disk).
            _ = try db.query("SELECT set_config('work_mem', $1, true)", [settings.workMem])
            for table in MetricsSQL.tables {
                _ = try db.query(
                    "DELETE FROM public.\(table) WHERE day BETWEEN $1::date AND $2::date",
                    [
                        window.lowerBound, window.upperBound,
                    ])
            }
            let steps = [MetricsSQL.events, MetricsSQL.payments, MetricsSQL.contentAndNotifications]
            var read: [String: Int64] = [:]
            for (index, sql) in steps.enumerated() {
                try context.checkpoint()
                let result = try db.query(sql, parameters)
                for (column, name) in result.columnNames.enumerated() {
                    let value = try result[0].decode(column, as: Int64.self)
                    if name.hasPrefix("source_") { read[name] = value } else { stats["rows_" + name] = value }
                }
                context.progress.update("sources", done: Int64(index + 1), total: Int64(steps.count))
            }
            var violations: [String] = []
            let eventCounts: [any PostgresEncodable] = ["source_orders", "source_calls", "source_platform"].map {
                read[$0] ?? -1
            }
            let checks =
                MetricsQualityCheck.all.map { ($0, parameters) } + [
                    (MetricsQualityCheck.eventTotals, parameters + eventCounts)
                ]
            for (check, values) in checks {
                let result = try db.query(check.sql, values)
                for row in result.prefix(5) {
                    violations.append("\(check.table): \(check.name): \(try row.decode(0, as: String.self))")
                }
            }
            guard violations.isEmpty else {
                throw BatchError.jobFailed(
                    job: name,
                    message: "data-quality check failed, \(window.lowerBound)…\(window.upperBound) left as it was: "
                        + violations.joined(separator: "; "))
            }
            try db.commit()
        } catch {
            try? db.execute("ROLLBACK")
            throw error
        }
        return JobOutcome(stats: stats, itemsProcessed: days)
    }
}
