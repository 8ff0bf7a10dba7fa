import Foundation
import Postgres
import Runner

/// Recomputes the daily KPI tables for a window of business days ending at its partition's day.
///
/// Whole days are replaced: the window's rows are deleted and inserted again from the sources
/// in REPEATABLE READ transactions, then checked (`MetricsQualityCheck`) before commit, so a
/// re-run is idempotent, keys that vanished from the sources vanish from the tables, and a
/// failed check leaves the previous figures in place. The work is cut into units, each one
/// statement (`MetricsStep`) over a slice of whole days, and handed out to `settings.sessions`
/// sessions side by side (one statement uses one core) as each becomes free; all of them read
/// one snapshot of the sources, and none commits until all are clean.
public struct MetricsJob: Job {
    public let name = "metrics"
    public let partitionKind = PartitionKind.day
    public var isDestructive: Bool { false }

    public let settings: MetricsSettings
    /// Days to recompute, ending at the partition's day (1 for a backfill day).
    public let windowDays: Int

    /// Whether a run for a day also recomputes earlier days whose sources changed since the
    /// last run (watermarks): the nights and `metrics --date`; a backfill recomputes exactly
    /// the days it is asked for and leaves the watermarks alone.
    public let detectsLateData: Bool

    public init(settings: MetricsSettings, windowDays: Int? = nil, detectsLateData: Bool = true) {
        self.settings = settings
        self.windowDays = max(1, windowDays ?? settings.lookbackDays)
        self.detectsLateData = detectsLateData
    }

    /// A night that already succeeded runs again when rows of its window, or of any day its
    /// late-data horizon covers, changed since it started; a backfill chunk when rows of its
    /// days did.
    public func sourcesChanged(since runID: Int64, partition: Partition, on connection: Connection, now: Date) throws
        -> String?
    {
        guard let range = partition.dayRange else { return nil }
        let from =
            partition.kind == .day
            ? max(range.upperBound.adding(days: -settings.lateHorizonDays), settings.horizon(now: now))
            : range.lowerBound
        return try MetricsLateData.changedSince(
            connection, runID: runID, from: from, to: range.upperBound, zone: settings.timeZone)
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

    /// The run, as its steps: the window it may recompute, the time zone checked, the sessions
    /// opened on one snapshot, the units worked on all of them, and every session committed only
    /// once all are done and clean.
    public func run(_ context: JobContext) throws -> JobOutcome {
        let window = try self.window(for: context)
        let db = context.connection
        try checkTimeZone(db)
        let sessionCount = min(settings.sessions, Self.units(of: window, sessions: settings.sessions).count)
        if context.dryRun {
            let late = try lateWork(db, window: window, context: context)
            let days = Int64(window.upperBound.daysSince(window.lowerBound) + 1) + Int64(late?.days.count ?? 0)
            print(
                "would recompute \(days) day(s) \(window.lowerBound)…\(window.upperBound)"
                    + (late.map {
                        $0.days.isEmpty ? "" : " and, with source rows changed since the last run, \($0.list)"
                    }
                        ?? "") + " in \(settings.timeZone) on \(sessionCount) session(s)")
            return JobOutcome(stats: ["days": days])
        }
        let duplicates = try recordDuplicates(db, context: context)
        // Every session but the first works on its own thread. Each leaves its transaction open
        // and checked; only when all are done and clean does any commit.
        var sessions: [Connection] = []
        defer { sessions.forEach { context.closeSession($0) } }
        for index in 1..<sessionCount {
            sessions.append(try context.openSession(purpose: "metrics-\(index + 1)"))
        }
        let connections = [db] + sessions
        try beginOnOneSnapshot(connections)
        // What changed since the last run is read in the same snapshot the units read.
        let late = try lateWork(db, window: window, context: context)
        let ranges = [window] + (late?.ranges ?? [])
        let days = Int64(ranges.reduce(0) { $0 + $1.upperBound.daysSince($1.lowerBound) + 1 })
        let allDays = ranges.flatMap { range in
            (0...range.upperBound.daysSince(range.lowerBound)).map { range.lowerBound.adding(days: $0) }
        }
        let cohorts = MetricsWorkQueue.Unit(step: .cohorts, days: window, allDays: allDays)
        let queue = MetricsWorkQueue([cohorts] + ranges.flatMap { Self.units(of: $0, sessions: settings.sessions) })
        context.logger.info(
            "recomputing daily metrics",
            metadata: [
                "event": "metrics_window", "from": "\(window.lowerBound)", "to": "\(window.upperBound)",
                "late_days": "\(late?.list ?? "none")", "time_zone": "\(settings.timeZone)",
                "sessions": "\(sessionCount)",
            ])
        let results = workOnEverySession(queue, connections: connections, context: context)
        let clean = results.allSatisfy { if case .success = $0 { true } else { false } }
        if let late, late.beyond.isEmpty, clean {
            // In the transaction that commits last: a crash before it leaves the changes to find again.
            do {
                try MetricsLateData.advance(
                    connections.last!, zone: settings.timeZone, highWater: late.highWater, runID: context.runID)
            } catch {
                for connection in connections { try? connection.execute("ROLLBACK") }
                throw error
            }
        }
        try commitAll(connections, results: results)
        var stats: [String: Int64] = [
            "days": days, "sessions": Int64(sessionCount), "duplicates_found": duplicates,
            "double_bookings": try doubleBookings(db, window: window, context: context),
        ]
        for result in results {
            for (name, value) in try result.get() { stats[name, default: 0] += value }
        }
        return outcome(stats: stats, days: days, late: late, context: context)
    }

    /// Records the duplicated events that arrived since the last search (committed on its own,
    /// before the snapshot the sessions share) and logs how many; returns that count.
    private func recordDuplicates(_ db: Connection, context: JobContext) throws -> Int64 {
        let started = Date()
        let found = try MetricsDuplicates.record(db, runID: context.runID)
        context.logger.debug(
            "duplicates searched",
            metadata: ["event": "metrics_duplicates", "ms": "\(Int(Date().timeIntervalSince(started) * 1000))"])
        if found > 0 {
            context.logger.warning(
                "duplicated events left out (metrics_event_duplicates)",
                metadata: ["event": "metrics_events_duplicated", "count": "\(found)"])
        }
        return found
    }

    /// The window's double bookings, as committed: the operations plan wants none, so any is
    /// logged (days and counts, no names) and alerted on through its gauge.
    private func doubleBookings(_ db: Connection, window: ClosedRange<LocalDate>, context: JobContext) throws -> Int64 {
        let rows = try db.query(
            "SELECT day::text AS day, double_bookings FROM public.metrics_daily_readers "
                + "WHERE day BETWEEN $1::date AND $2::date AND double_bookings > 0 ORDER BY day",
            [window.lowerBound, window.upperBound])
        let days = try rows.map {
            (try $0.decode("day", as: String.self), try $0.decode("double_bookings", as: Int64.self))
        }
        let total = days.reduce(0) { $0 + $1.1 }
        if total > 0 {
            context.logger.warning(
                "readers double-booked (metrics_daily_readers); the operations plan wants none",
                metadata: [
                    "event": "metrics_double_bookings", "count": "\(total)",
                    "days": "\(days.map { "\($0.0):\($0.1)" }.joined(separator: ","))",
                ])
        }
        return total
    }

    /// The outcome with its gauges; changed days beyond the late-data horizon fail the run
    /// (after the rest is committed) until `--force` takes them.
    private func outcome(stats: [String: Int64], days: Int64, late: LateWork?, context: JobContext) -> JobOutcome {
        var stats = stats
        stats["late_days"] = Int64(late?.days.count ?? 0)
        stats["late_days_beyond_horizon"] = Int64(late?.beyond.count ?? 0)
        var outcome = JobOutcome(stats: stats, itemsProcessed: days)
        outcome.gauges["samia_metrics_events_quarantined"] = Double(stats["events_quarantined"] ?? 0)
        outcome.gauges["samia_metrics_duplicates_found"] = Double(stats["duplicates_found"] ?? 0)
        outcome.gauges["samia_metrics_double_bookings"] = Double(stats["double_bookings"] ?? 0)
        outcome.gauges["samia_metrics_drops_accepted"] = Double(stats["drops_accepted"] ?? 0)
        outcome.gauges["samia_metrics_late_days"] = Double(late?.days.count ?? 0)
        outcome.gauges["samia_metrics_late_days_beyond_horizon"] = Double(late?.beyond.count ?? 0)
        if let late, !late.beyond.isEmpty {
            outcome.failedItems = late.beyond.count
            context.logger.error(
                "source rows changed for days beyond the late-data horizon; their figures are stale",
                metadata: [
                    "event": "metrics_late_beyond_horizon",
                    "days": "\(late.beyond.map(\.description).joined(separator: ","))",
                    "horizon_days": "\(settings.lateHorizonDays)",
                    "fix": "run the same command with --force (or raise METRICS_LATE_HORIZON_DAYS)",
                ])
        }
        return outcome
    }

    /// What changed since the last run, for a night (a backfill recomputes exactly what it is
    /// asked): the days to add to the window, those beyond the late-data horizon, and how far
    /// the watermarks may move (`MetricsLateData.handledUpTo`).
    struct LateWork {
        var highWater: [String: String]
        var days: [LocalDate]
        var beyond: [LocalDate]
        var ranges: [ClosedRange<LocalDate>] { MetricsLateData.ranges(days) }
        var list: String { days.isEmpty ? "none" : days.map(\.description).joined(separator: ", ") }
    }

    private func lateWork(_ db: Connection, window: ClosedRange<LocalDate>, context: JobContext) throws -> LateWork? {
        guard detectsLateData, context.partition.kind == .day else { return nil }
        let watermarks = try MetricsLateData.watermarks(db, zone: settings.timeZone)
        let seen = try MetricsLateData.highWater(db)
        let lateHorizon = window.upperBound.adding(days: -settings.lateHorizonDays)
        let rawHorizon = settings.horizon(now: context.clock.now())
        let compared = max(lateHorizon, rawHorizon)
        let refunds = try MetricsLateData.refundDays(
            db, zone: settings.timeZone, from: compared, before: window.lowerBound)
        let readers = try MetricsLateData.readerDays(
            db, zone: settings.timeZone, from: compared, before: window.lowerBound)
        let rates = try MetricsLateData.fxDays(
            db, reportingCurrency: settings.reportingCurrency, maxAgeDays: settings.fxMaxAgeDays, from: compared,
            before: window.lowerBound)
        let changed = try Set(
            MetricsLateData.changedDays(
                db, zone: settings.timeZone, watermarks: watermarks, highWater: seen, before: window.lowerBound)
                + refunds + readers + rates
        ).sorted()
        let highWater = try MetricsLateData.handledUpTo(
            db, zone: settings.timeZone, watermarks: watermarks, highWater: seen, after: window.upperBound)
        // Days whose raw events are purged cannot be recomputed without writing zeros.
        let purged = changed.filter { $0 < rawHorizon }
        if !purged.isEmpty {
            context.logger.warning(
                "source rows changed for days before the raw-data horizon; they cannot be recomputed",
                metadata: [
                    "event": "metrics_late_purged", "days": "\(purged.map(\.description).joined(separator: ","))",
                ])
        }
        let usable = changed.filter { $0 >= rawHorizon }
        let beyond = settings.lateBeyondHorizon ? [] : usable.filter { $0 < lateHorizon }
        return LateWork(highWater: highWater, days: usable.filter { !beyond.contains($0) }, beyond: beyond)
    }

    /// The days the run recomputes: the nightly window ending at its day, or a backfill chunk
    /// exactly as asked; never a day behind the raw-data horizon.
    private func window(for context: JobContext) throws -> ClosedRange<LocalDate> {
        let now = context.clock.now()
        if let last = context.partition.dayRange?.upperBound, let zone = TimeZone(identifier: settings.timeZone) {
            // A day that has not begun has no data yet: its zeros would be committed as figures.
            let today = LocalDate(now, in: zone)
            guard last <= today else {
                throw BatchError.badInput(
                    file: "--date", line: nil, field: "day",
                    message: "\(last) is in the future in \(settings.timeZone) (today is \(today)); "
                        + "a day is computed once it has begun")
            }
        }
        switch (context.partition.kind, context.partition.dayRange) {
        case (.day, let range?):
            guard let clipped = self.window(endingAt: range.upperBound, now: now) else {
                throw refusal(range.upperBound, now: now)
            }
            return clipped
        case (.range, let range?):
            // A backfill chunk is recomputed exactly as asked, never partly.
            guard range.lowerBound >= settings.horizon(now: now) else { throw refusal(range.lowerBound, now: now) }
            return range
        default:
            throw BatchError.configuration("the metrics job runs for a day or a day range, not \(context.partition)")
        }
    }

    /// Asks PostgreSQL itself (cheaper than scanning pg_timezone_names): an unknown zone is 22023.
    private func checkTimeZone(_ db: Connection) throws {
        do {
            _ = try db.query("SELECT now() AT TIME ZONE $1", [settings.timeZone])
        } catch {
            guard error.sqlState == "22023" else { throw error }
            throw BatchError.configuration("PostgreSQL does not know the time zone \"\(settings.timeZone)\"")
        }
    }

    /// One snapshot for all: a day's tables agree with each other whichever session wrote them.
    private func beginOnOneSnapshot(_ connections: [Connection]) throws {
        var begun: [Connection] = []
        do {
            for connection in connections {
                try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
                begun.append(connection)
            }
            try connections[0].shareSnapshot(with: Array(connections.dropFirst()))
        } catch {
            for connection in begun { try? connection.execute("ROLLBACK") }
            throw error
        }
    }

    /// The units handed out to every session, the first on this thread. A failed unit dooms the
    /// run: the queue hands out no more, and when the job's own session fails, the others'
    /// statements are cancelled rather than waited for.
    private func workOnEverySession(_ queue: MetricsWorkQueue, connections: [Connection], context: JobContext)
        -> [Result<[String: Int64], any Error>]
    {
        let sessions = connections.dropFirst()
        let beside = sessions.enumerated().map { index, session in
            BackgroundCall(name: "metrics session \(index + 2)") {
                try self.work(queue, on: session, context: context)
            }
        }
        let first = Result { try work(queue, on: connections[0], context: context) }
        if case .failure = first { sessions.forEach { $0.cancel() } }
        return [first] + beside.map { call in Result { try call.wait() } }
    }

    /// Each table's days are written by one session and checked there: should the process die
    /// between two commits, every table holds for each day either its new or its previous
    /// figures, and the run (not marked succeeded) is recomputed whole next time.
    private func commitAll(_ connections: [Connection], results: [Result<[String: Int64], any Error>]) throws {
        for case .failure(let failure) in results {
            for (connection, result) in zip(connections, results) {
                if case .success = result { try? connection.execute("ROLLBACK") }
            }
            throw failure
        }
        for (index, connection) in connections.enumerated() {
            do { try connection.commit() } catch {
                for later in connections.dropFirst(index + 1) { try? later.execute("ROLLBACK") }
                throw error
            }
        }
    }

    /// Longest a unit's statement waits for a row lock. Only the metrics job writes the
    /// `metrics_daily_*` tables and it runs one at a time, so no wait is legitimate for long.
    static let lockTimeoutSeconds = 60

    /// Contiguous runs of days, one per session for each statement, as even as the days allow;
    /// never more slices than days.
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

    /// The units of `window`: each step over each of the window's slices, the longest steps
    /// first and, within a step, the longer slices first, so the last units handed out are short.
    static func units(of window: ClosedRange<LocalDate>, sessions: Int) -> [MetricsWorkQueue.Unit] {
        let slices = slices(of: window, sessions: sessions)
        return MetricsStep.all.flatMap { step in slices.map { MetricsWorkQueue.Unit(step: step, days: $0) } }
    }

    /// Takes units from `queue` until none is left and runs each on `db`, inside the transaction
    /// the caller began, leaving it open for the caller to commit; rolls back and throws on any
    /// error or violation (and stops the queue). Returns the rows written per table.
    private func work(_ queue: MetricsWorkQueue, on db: Connection, context: JobContext) throws -> [String: Int64] {
        var stats: [String: Int64] = [:]
        do {
            // Percentiles and distinct counts sort a window's events; keep those sorts in memory
            // for this transaction only (PostgreSQL's default 4 MB spills a 10-day window to disk).
            // JIT compilation is off for it too: these statements cost enough to trigger it, and
            // compiling took 1.3–2 s per statement, more than it saved (docs/performance.md).
            // Sessions write disjoint days or tables, so one never waits for another's rows;
            // should a fault make one write rows of another, the lock timeout fails the run
            // instead of leaving both waiting for ever (the other's thread waits for this one).
            let indexScans = try db.query(
                "SELECT current_setting('enable_indexscan'), set_config('work_mem', $1, true), "
                    + "set_config('jit', 'off', true), set_config('lock_timeout', $2, true)",
                [settings.workMem, "\(Self.lockTimeoutSeconds)s"])[0].decode(0, as: String.self)
            while let unit = queue.take() {
                try context.checkpoint()
                if unit.step.name == "events" {
                    stats["events_quarantined", default: 0] += try quarantine(unit, on: db, context: context)
                }
                let started = Date()
                if unit.step.name == MetricsStep.cohorts.name {
                    let (weeks, rows) = try MetricsCohorts.recompute(db, days: unit.allDays, zone: settings.timeZone)
                    stats["cohort_weeks", default: 0] += weeks
                    stats["rows_retention", default: 0] += rows
                } else {
                    for (table, rows) in try run(unit, on: db, indexScans: indexScans) {
                        stats[table, default: 0] += rows
                    }
                }
                stats["drops_accepted", default: 0] += try checkDrops(unit, on: db, context: context)
                // Which statement a slow night spends its time in (SAMIA_LOG_LEVEL=debug).
                context.logger.debug(
                    "unit done",
                    metadata: [
                        "event": "metrics_unit", "step": "\(unit.step.name)", "from": "\(unit.days.lowerBound)",
                        "to": "\(unit.days.upperBound)",
                        "ms": "\(Int(Date().timeIntervalSince(started) * 1000))",
                    ])
                context.progress.update("units", done: Int64(queue.done()), total: Int64(queue.units.count))
            }
            return stats
        } catch {
            queue.stop()
            try? db.execute("ROLLBACK")
            guard (error as? PostgresError)?.sqlState == "55P03" else { throw error }
            throw BatchError.jobFailed(
                job: name,
                message:
                    "a session waited over \(Self.lockTimeoutSeconds) s for rows of the metrics tables that "
                    + "another session holds; nothing of this run is committed")
        }
    }

    /// Sets the unit's unreadable events aside (`metrics_quarantine`) so that one bad value does
    /// not fail the night; the events statement leaves the same events out. Returns how many of
    /// the unit's days' events are in quarantine.
    private func quarantine(_ unit: MetricsWorkQueue.Unit, on db: Connection, context: JobContext) throws -> Int64 {
        let row = try db.query(
            MetricsSQL.quarantine, [unit.days.lowerBound, unit.days.upperBound, settings.timeZone, context.runID])[0]
        let (count, newly) = (try row.decode(0, as: Int64.self), try row.decode(1, as: Int64.self))
        if count > 0 {
            context.logger.warning(
                "malformed events set aside (metrics_quarantine)",
                metadata: [
                    "event": "metrics_events_quarantined", "from": "\(unit.days.lowerBound)",
                    "to": "\(unit.days.upperBound)", "count": "\(count)", "new": "\(newly)",
                ])
        }
        return count
    }

    /// The drop gate on the unit's tables: a drop fails the run (nothing is committed) unless
    /// `--accept-drop`, which logs each one and goes on. Returns the drops accepted.
    private func checkDrops(_ unit: MetricsWorkQueue.Unit, on db: Connection, context: JobContext) throws -> Int64 {
        let gate = MetricsVolumeGate(share: settings.dropShare, minimumVolume: settings.dropMinimumVolume)
        let drops = try gate.drops(db, tables: unit.step.tables, from: unit.days.lowerBound, to: unit.days.upperBound)
        guard !drops.isEmpty else { return 0 }
        guard settings.acceptDrop else {
            throw BatchError.jobFailed(
                job: name,
                message:
                    "figures dropped by more than \(Int(settings.dropShare * 100))% against the trailing median; nothing "
                    + "of this run is committed (source rows lost or not loaded yet?). Rerun with --accept-drop if the "
                    + "drop is real: " + drops.joined(separator: "; "))
        }
        for drop in drops {
            context.logger.warning("drop accepted", metadata: ["event": "metrics_drop_accepted", "drop": "\(drop)"])
        }
        return Int64(drops.count)
    }

    /// Replaces `unit`'s tables for its days and checks them. Returns the rows written per table.
    private func run(_ unit: MetricsWorkQueue.Unit, on db: Connection, indexScans: String) throws -> [String: Int64] {
        let (step, slice) = (unit.step, unit.days)
        let parameters: [any PostgresEncodable] = [slice.lowerBound, slice.upperBound, settings.timeZone]
        for table in step.tables {
            _ = try db.query(
                "DELETE FROM public.\(table) WHERE day BETWEEN $1::date AND $2::date",
                [slice.lowerBound, slice.upperBound])
        }
        _ = try db.query("SELECT set_config('enable_indexscan', $1, true)", [step.indexScansOff ? "off" : indexScans])
        let result = try db.query(step.sql, parameters + step.settings(settings))
        var stats: [String: Int64] = [:]
        var read: [String: Int64] = [:]
        for (column, name) in result.columnNames.enumerated() {
            let value = try result[0].decode(column, as: Int64.self)
            if name.hasPrefix("source_") { read[name] = value } else { stats["rows_" + name] = value }
        }
        // The totals of the step's own tables must match what it read; the others' are not
        // this unit's to check (NULL skips them).
        let readTotals: [any PostgresEncodable] = MetricsQualityCheck.readTotalNames.map { name in
            guard step.readTotals.contains(name) else { return PostgresNull() }
            return read[name] ?? -1
        }
        let checks =
            MetricsQualityCheck.all.filter { step.tables.contains($0.table) }.map { ($0, parameters) } + [
                (MetricsQualityCheck.readTotals, parameters + readTotals)
            ]
        var violations: [String] = []
        for (check, values) in checks {
            for row in try db.query(check.sql, values).prefix(5) {
                violations.append("\(check.table): \(check.name): \(try row.decode(0, as: String.self))")
            }
        }
        guard violations.isEmpty else {
            throw BatchError.jobFailed(
                job: name,
                message:
                    "data-quality check failed for \(step.name) \(slice.lowerBound)…\(slice.upperBound); nothing of this run "
                    + "is committed, every day keeps its previous figures: " + violations.joined(separator: "; "))
        }
        return stats
    }
}
