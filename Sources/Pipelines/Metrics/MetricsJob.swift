import Foundation
import Postgres

/// Recomputes the daily KPI tables for a window of business days ending at its partition's day.
///
/// Whole days are replaced: the window's rows are deleted and inserted again from the sources
/// in REPEATABLE READ transactions, then checked (`MetricsQualityCheck`) before commit, so a
/// re-run is idempotent, keys that vanished from the sources vanish from the tables, and a
/// failed check leaves the previous figures in place. The window is cut into slices of whole
/// days recomputed on `settings.sessions` sessions side by side (one statement uses one core);
/// none commits until all are clean.
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
        let db = context.connection
        // Ask PostgreSQL itself (cheaper than scanning pg_timezone_names): an unknown zone is 22023.
        do {
            _ = try db.query("SELECT now() AT TIME ZONE $1", [settings.timeZone])
        } catch {
            guard error.sqlState == "22023" else { throw error }
            throw BatchError.configuration("PostgreSQL does not know the time zone \"\(settings.timeZone)\"")
        }
        let days = Int64(window.upperBound.daysSince(window.lowerBound) + 1)
        let slices = Self.slices(of: window, sessions: settings.sessions)
        if context.dryRun {
            print(
                "would recompute \(days) day(s) \(window.lowerBound)…\(window.upperBound) in \(settings.timeZone)"
                    + " on \(slices.count) session(s)")
            return JobOutcome(stats: ["days": days])
        }
        context.logger.info(
            "recomputing daily metrics",
            metadata: [
                "event": "metrics_window", "from": "\(window.lowerBound)", "to": "\(window.upperBound)",
                "time_zone": "\(settings.timeZone)", "sessions": "\(slices.count)",
            ])
        // Every slice but the first runs on its own session and thread. Each leaves its
        // transaction open and checked; only when all are done and clean does any commit.
        var sessions: [Connection] = []
        defer { sessions.forEach { context.closeSession($0) } }
        for index in slices.indices.dropFirst() {
            sessions.append(try context.openSession(purpose: "slice-\(index + 1)"))
        }
        let beside = zip(slices.dropFirst(), sessions).map { slice, session in
            BackgroundCall(name: "metrics \(slice.lowerBound)…\(slice.upperBound)") {
                try self.recompute(slice, on: session, context: context, reportsProgress: false)
            }
        }
        let first = Result { try recompute(slices[0], on: db, context: context, reportsProgress: true) }
        // A failed first slice dooms the run: stop the others rather than wait for them.
        if case .failure = first { sessions.forEach { $0.cancel() } }
        let results = [first] + beside.map { call in Result { try call.wait() } }
        let connections = [db] + sessions
        for case .failure(let failure) in results {
            for (connection, result) in zip(connections, results) {
                if case .success = result { try? connection.execute("ROLLBACK") }
            }
            throw failure
        }
        // Days never span slices, and each slice's days are whole and checked: should the
        // process die between two commits, every day holds either its new or its previous
        // figures, and the run (not marked succeeded) is recomputed whole next time.
        for (index, connection) in connections.enumerated() {
            do { try connection.commit() } catch {
                for later in connections.dropFirst(index + 1) { try? later.execute("ROLLBACK") }
                throw error
            }
        }
        var stats: [String: Int64] = ["days": days, "sessions": Int64(slices.count)]
        for result in results {
            for (name, value) in try result.get() { stats[name, default: 0] += value }
        }
        return JobOutcome(stats: stats, itemsProcessed: days)
    }

    /// Longest a slice's statement waits for a row lock. Only the metrics job writes the
    /// `metrics_daily_*` tables and it runs one at a time, so no wait is legitimate for long.
    static let sliceLockTimeoutSeconds = 60

    /// Contiguous runs of days, one per session, as even as the days allow; never more slices
    /// than days.
    static func slices(of window: ClosedRange<LocalDate>, sessions: Int) -> [ClosedRange<LocalDate>] {
        let days = window.upperBound.daysSince(window.lowerBound) + 1
        let count = max(1, min(sessions, days))
        var slices: [ClosedRange<LocalDate>] = []
        var first = window.lowerBound
        for index in 0..<count {
            let length = days / count + (index < days % count ? 1 : 0)
            let last = first.adding(days: length - 1)
            slices.append(first...last)
            first = last.adding(days: 1)
        }
        return slices
    }

    /// Replaces `slice`'s days on `db` in a REPEATABLE READ transaction and runs the checks,
    /// leaving the transaction open for the caller to commit; rolls back and throws on any
    /// error or violation. Returns the rows written per table.
    private func recompute(
        _ slice: ClosedRange<LocalDate>, on db: Connection, context: JobContext, reportsProgress: Bool
    ) throws -> [String: Int64] {
        let parameters: [any PostgresEncodable] = [slice.lowerBound, slice.upperBound, settings.timeZone]
        var stats: [String: Int64] = [:]
        try db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        do {
            // Percentiles and distinct counts sort a window's events; keep those sorts in memory
            // for this transaction only (PostgreSQL's default 4 MB spills a 10-day window to disk).
            // JIT compilation is off for it too: these statements cost enough to trigger it, and
            // compiling took 1.3–2 s per statement, more than it saved (docs/performance.md).
            // Slices write disjoint days, so one never waits for another's rows; should a fault
            // make one write a day of another, the lock timeout fails the run instead of leaving
            // both waiting for ever (the other slice's thread waits for this one to return).
            let indexScans = try db.query(
                "SELECT current_setting('enable_indexscan'), set_config('work_mem', $1, true), "
                    + "set_config('jit', 'off', true), set_config('lock_timeout', $2, true)",
                [settings.workMem, "\(Self.sliceLockTimeoutSeconds)s"])[0].decode(0, as: String.self)
            for table in MetricsSQL.tables {
                _ = try db.query(
                    "DELETE FROM public.\(table) WHERE day BETWEEN $1::date AND $2::date",
                    [slice.lowerBound, slice.upperBound])
            }
            // A day of events fills thousands of heap pages in a row. A bitmap scan reads each
            // page once and checks its rows together; the planner, seeing the heap in time order,
            // picks the index scan, which fetches row by row and took about 1.2 times as long
            // (docs/performance.md). The other statements keep the planner's choice.
            let steps = [
                (sql: MetricsSQL.events, indexScans: "off"), (sql: MetricsSQL.payments, indexScans: indexScans),
                (sql: MetricsSQL.contentAndNotifications, indexScans: indexScans),
            ]
            var read: [String: Int64] = [:]
            for (index, (sql, indexScans)) in steps.enumerated() {
                try context.checkpoint()
                _ = try db.query("SELECT set_config('enable_indexscan', $1, true)", [indexScans])
                let result = try db.query(sql, parameters)
                for (column, name) in result.columnNames.enumerated() {
                    let value = try result[0].decode(column, as: Int64.self)
                    if name.hasPrefix("source_") { read[name] = value } else { stats["rows_" + name] = value }
                }
                if reportsProgress {
                    context.progress.update("sources", done: Int64(index + 1), total: Int64(steps.count))
                }
            }
            var violations: [String] = []
            let readTotals: [any PostgresEncodable] = MetricsQualityCheck.readTotalNames.map { read[$0] ?? -1 }
            let checks =
                MetricsQualityCheck.all.map { ($0, parameters) } + [
                    (MetricsQualityCheck.readTotals, parameters + readTotals)
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
                    message:
                        "data-quality check failed for \(slice.lowerBound)…\(slice.upperBound); nothing of this run "
                        + "is committed, every day keeps its previous figures: "
                        + violations.joined(separator: "; "))
            }
            return stats
        } catch {
            try? db.execute("ROLLBACK")
            guard (error as? PostgresError)?.sqlState == "55P03" else { throw error }
            throw BatchError.jobFailed(
                job: name,
                message:
                    "\(slice.lowerBound)…\(slice.upperBound) waited over \(Self.sliceLockTimeoutSeconds) s for rows "
                    + "of the metrics tables that another session holds; nothing of this run is committed")
        }
    }
}
