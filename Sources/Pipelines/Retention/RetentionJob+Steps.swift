import Foundation
import Metrics
import Postgres
import Privacy
import Runner
import Storage

/// The steps of `RetentionJob.run`, in the order it takes them.
extension RetentionJob {
    /// What the run has counted so far, for the ledger, the metrics and the output.
    struct Totals {
        var stats: [String: Int64] = [:]
        var gauges: [String: Double] = [:]
        var rows: Int64 = 0
    }

    /// The database's idea of now, from which every cutoff is taken.
    struct DatabaseClock {
        /// `now()` as text, for cutoffs on timestamps.
        let now: String
        /// Today in the policy's time zone, for cutoffs on dates.
        let today: String
    }

    /// The policy's rules, or the one `--rule` names.
    func selectedRules() throws -> [RetentionPolicy.Rule] {
        guard let only else { return policy.rules }
        let rules = policy.rules.filter { $0.name == only }
        guard !rules.isEmpty else { throw RetentionError.unknownRule(only, known: policy.rules.map(\.name)) }
        return rules
    }

    /// Objects an earlier run queued but died before deleting (a crash after a commit).
    func recoverQueuedObjects(
        _ db: Connection, outbox: StorageOutbox, context: JobContext, totals: inout Totals
    ) throws {
        for origin in try db.query(
            "SELECT DISTINCT origin FROM public.storage_outbox WHERE origin LIKE 'retention%' AND deleted_at IS NULL"
        ).map({ try $0.decode(0, as: String.self) }) {
            let before = try pendingCount(db, origin: origin)
            let left = try outbox.drain(origin: origin, logger: context.logger, removeDone: true)
            totals.stats["recovered_objects", default: 0] += before - Int64(left)
        }
    }

    /// The cutoff comes from the database's clock; a host that disagrees with it refuses.
    func databaseClock(_ db: Connection, context: JobContext, rules: [RetentionPolicy.Rule]) throws -> DatabaseClock {
        let row = try db.query(
            "SELECT now()::text, extract(epoch FROM now())::float8, (now() AT TIME ZONE $1)::date::text",
            [policy.timeZone]
        ).first!
        let skew = abs(try row.decode(1, as: Double.self) - context.clock.now().timeIntervalSince1970)
        if skew > policy.maxClockSkewSeconds {
            throw RetentionError.cutoffInsideKeepPeriod(
                rule: rules.map(\.name).joined(separator: ", "),
                reason:
                    "this host's clock is \(Int(skew)) s away from the database's (limit \(Int(policy.maxClockSkewSeconds)) s); "
                    + "fix the clock (NTP) before purging")
        }
        let clock = DatabaseClock(now: try row.decode(0, as: String.self), today: try row.decode(2, as: String.self))
        try ResolvedRule.bindClock(now: clock.now, today: clock.today, rules: policy.rules, on: db)
        return clock
    }

    /// No rule may purge inside the platform's keep period, nor raw events the metrics job
    /// may still recompute days from (it would overwrite those days' history with zeros).
    func checkKeepPeriods(_ rules: [RetentionPolicy.Rule]) throws {
        for rule in rules where !rule.expiry && rule.keepDays < rule.floorDays {
            throw RetentionError.cutoffInsideKeepPeriod(
                rule: rule.name,
                reason: "keep_days is \(rule.keepDays), below the platform's keep period of \(rule.floorDays) days")
        }
        let rawEventRules = rules.filter { $0.table == "events_raw" }
        let horizon = try rawEventRules.isEmpty ? 0 : MetricsSettings.fromEnvironment().rawRetentionDays
        for rule in rawEventRules where rule.expiry || rule.keepDays < horizon {
            throw RetentionError.cutoffInsideKeepPeriod(
                rule: rule.name,
                reason:
                    "the metrics job recomputes days back to METRICS_RAW_RETENTION_DAYS=\(horizon) from these "
                    + "raw events; keep_days \(rule.keepDays) would let it overwrite those days with zeros. Keep "
                    + "them at least \(horizon) days, or lower METRICS_RAW_RETENTION_DAYS first")
        }
    }

    /// A worker's session takes the run's clock from the job's own.
    func copyClock(from db: Connection, to session: Connection) throws {
        let row = try db.query(
            "SELECT current_setting('samia.retention_now'), current_setting('samia.retention_today')"
        ).first!
        try ResolvedRule.bindClock(
            now: try row.decode(0, as: String.self), today: try row.decode(1, as: String.self), rules: policy.rules,
            on: session)
    }

    /// The partition-dropping rules, counted, each with its cutoff's value.
    func planPartitions(
        _ rules: [RetentionPolicy.Rule], scope: SubjectScope, holds: [(subject: UUID, table: String?)], db: Connection,
        clock: DatabaseClock
    ) throws -> [(plan: PartitionDrop, cutoff: String)] {
        try rules.filter(\.dropPartitions).map { rule in
            var plan = try PartitionDrop(rule: rule, scope: scope, db: db)
                .counted(db)
            if scope.map.tables[rule.table] != nil {
                let key = scope.primaryKeys[rule.table]?.first ?? "id"
                plan.held =
                    "NOT (\(ResolvedRule.notHeld(table: rule.table, key: key, alias: "t", scope: scope, holds: holds)))"
            }
            return (plan, try db.scalar("SELECT (\(plan.cutoff))::text", as: String.self) ?? plan.cutoff)
        }
    }

    /// Every rule's count against its limits, before anything is deleted.
    func guardLimits(_ plans: [Plan], _ partitionPlans: [(plan: PartitionDrop, cutoff: String)], totals: inout Totals)
        throws
    {
        for plan in plans {
            totals.stats["\(plan.rule.rule.name).due"] = plan.due
            try checkLimits(plan.rule.rule, due: plan.due, total: "\(plan.total)", of: plan.total)
        }
        for (plan, _) in partitionPlans {
            totals.stats["\(plan.rule.name).due"] = plan.dueRows
            try checkLimits(
                plan.rule, due: plan.dueRows, total: "\(plan.estimated ? "about " : "")\(plan.total)", of: plan.total)
        }
    }

    /// What a run would delete, printed; nothing is.
    func describeDryRun(
        _ plans: [Plan], _ partitionPlans: [(plan: PartitionDrop, cutoff: String)], sweep: OrphanSweep,
        today: String, db: Connection, totals: inout Totals
    ) throws {
        for plan in plans {
            print(describe(plan, cutoffDay: today))
            for prefix in plan.rule.rule.orphans {
                let orphans = try sweep.orphans(prefix: prefix)
                print(
                    "  orphans under \(prefix): \(orphans.count) object(s) older than \(formatHours(policy.orphanGraceHours)) "
                        + "that no row names\(orphans.isEmpty ? "" : ", e.g. \(orphans.prefix(3).joined(separator: ", "))")"
                )
                totals.stats["\(plan.rule.rule.name).orphans"] = Int64(orphans.count)
            }
        }
        for (plan, cutoff) in partitionPlans {
            let held = try plan.heldPartitions(db)
            totals.stats["\(plan.rule.name).partitions_held"] = Int64(held.count)
            print(plan.describe(cutoffValue: cutoff, today: today, timeZone: policy.timeZone, held: held))
        }
        print("dry run: nothing was deleted")
    }

    /// One row rule: its batches, then its orphan objects.
    func purgeRule(
        _ plan: Plan, context: JobContext, scope: SubjectScope, holds: [(subject: UUID, table: String?)],
        references: [(table: String, column: String)], outbox: StorageOutbox, sweep: OrphanSweep,
        totals: inout Totals
    ) throws {
        let (db, name) = (context.connection, plan.rule.rule.name)
        let result = try purge(
            plan, context: context, scope: scope, holds: holds, references: references, outbox: outbox,
            stats: &totals.stats)
        // One worker sweeps a rule's prefixes at a time; another finding the sweep taken
        // leaves it (the listing is the expensive part, and the next night sweeps again).
        let sweepLock = AdvisoryLockKey("samia-batch:retention-sweep:\(name)")
        var orphans: Int64 = 0
        if try db.tryAdvisoryLock(sweepLock) {
            defer { _ = try? db.advisoryUnlock(sweepLock) }
            orphans = try plan.rule.rule.orphans.reduce(0) {
                $0 + (try sweep.sweep(prefix: $1, rule: name, runID: context.runID, outbox: outbox))
            }
        } else {
            context.logger.info(
                "another worker is sweeping this rule's orphans",
                metadata: ["event": "sweep_skipped", "rule": "\(name)"])
        }
        totals.stats["\(name).orphans_deleted"] = orphans
        totals.rows += result.rows
        totals.gauges[MetricsTextfile.sample("samia_retention_rows_deleted", labels: [("rule", name)])] = Double(
            result.rows)
        totals.gauges[MetricsTextfile.sample("samia_retention_media_rows_deleted", labels: [("rule", name)])] = Double(
            result.mediaRows)
        totals.gauges[MetricsTextfile.sample("samia_retention_objects_deleted", labels: [("rule", name)])] = Double(
            result.objects + orphans)
        print(
            "retention \(name): \(result.rows) row(s) deleted in \(result.batches) batch(es), \(result.mediaRows) media row(s), "
                + "\(result.objects) object(s) queued, \(orphans) orphan object(s) removed; "
                + "\(plan.expired - plan.due) expired row(s) kept (held, referenced or public); longest batch \(result.longestMilliseconds) ms"
        )
    }

    /// One partition rule: its whole partitions, then the older rows of partitions without an
    /// upper bound. One worker drops a rule's partitions; another finding them taken leaves them.
    func dropPartitions(_ plan: PartitionDrop, cutoff: String, context: JobContext, totals: inout Totals) throws {
        let (db, name) = (context.connection, plan.rule.name)
        let lock = AdvisoryLockKey("samia-batch:retention-partitions:\(name)")
        guard try db.tryAdvisoryLock(lock) else {
            context.logger.info(
                "another worker is dropping this rule's partitions",
                metadata: ["event": "partitions_skipped", "rule": "\(name)"])
            return
        }
        defer { _ = try? db.advisoryUnlock(lock) }
        let done = try plan.drop(context: context, cutoffValue: cutoff, stats: &totals.stats)
        let strays = try plan.deleteStrays(
            context: context, cutoffValue: cutoff, batchSize: policy.batchSize,
            pauseMilliseconds: policy.pauseMilliseconds, stats: &totals.stats)
        totals.rows += done.rows + strays.rows
        totals.gauges[MetricsTextfile.sample("samia_retention_rows_deleted", labels: [("rule", name)])] = Double(
            done.rows + strays.rows)
        totals.gauges[MetricsTextfile.sample("samia_retention_partitions_dropped", labels: [("rule", name)])] = Double(
            done.partitions)
        print(
            "retention \(name): \(done.partitions) partition(s) of \(plan.rule.table) dropped, \(done.rows) row(s); "
                + "\(strays.rows) older row(s) deleted from partitions without an upper bound in \(strays.batches) batch(es); "
                + "\(plan.kept.count) partition(s) kept")
    }

    /// Objects still queued (a store that failed): counted for the alert; the next run retries.
    func recordPending(_ db: Connection, context: JobContext, totals: inout Totals) throws {
        let pending =
            try db.scalar(
                "SELECT count(*) FROM public.storage_outbox WHERE origin LIKE 'retention%' AND deleted_at IS NULL",
                as: Int64.self) ?? 0
        totals.stats["objects_pending"] = pending
        totals.gauges["samia_retention_objects_pending"] = Double(pending)
        if pending > 0 {
            context.logger.warning(
                "storage objects still queued for deletion; the next run retries them",
                metadata: ["event": "retention_objects_pending", "count": "\(pending)"])
        }
    }
}

/// Where a worker is in a rule's due-key list: it starts at `start` (nil: the list's first key),
/// walks to the end, then wraps round once to the keys before its start.
struct KeyWalk {
    let start: String?
    let keyType: String
    private(set) var wrapped: Bool
    /// Where the next batch starts: after the last key listed, or at a key (the start, or the
    /// next one still in the table after other workers' deletes).
    var cursor: (key: String, inclusive: Bool)?

    init(start: String?, keyType: String) {
        self.start = start
        self.keyType = keyType
        wrapped = start == nil
        cursor = start.map { ($0, true) }
    }

    /// The condition on `d.k` for keys from `from` on (and before the start, once wrapped), with
    /// its bound values.
    func range(_ from: (key: String, inclusive: Bool)?) -> (sql: String, values: [String]) {
        var bounds: [String] = []
        var values: [String] = []
        if let from {
            values.append(from.key)
            bounds.append("d.k \(from.inclusive ? ">=" : ">") $\(values.count)::text::\(keyType)")
        }
        if wrapped, let start {
            values.append(start)
            bounds.append("d.k < $\(values.count)::text::\(keyType)")
        }
        return (bounds.isEmpty ? "true" : bounds.joined(separator: " AND "), values)
    }

    /// At the end of the list: goes round to its beginning once; false when it already has.
    mutating func wrapRound() -> Bool {
        if wrapped { return false }
        (wrapped, cursor) = (true, nil)
        return true
    }
}

/// The SQL one rule's batches share: its table and key, the columns a delete returns (key,
/// media ids, storage keys), and the condition that an object no other row still names.
struct BatchSQL {
    let table: String
    let key: String
    let returning: String
    let stillUsed: String
    let origin: String

    init(rule: ResolvedRule, references: [(table: String, column: String)]) {
        let q = SQLIdentifier.quote
        table = "public.\(q(rule.rule.table))"
        key = q(rule.primaryKey)
        returning =
            (["t.\(key)::text"] + rule.media.map { "t.\(q($0.column))::text" }
            + rule.rule.storage.map { "t.\(q($0))::text" }).joined(separator: ", ")
        let checks = references.map {
            "NOT EXISTS (SELECT 1 FROM public.\(q($0.table)) u WHERE u.\(q($0.column)) = k)"
        }
        stillUsed = checks.isEmpty ? "true" : checks.joined(separator: " AND ")
        origin = "retention:\(rule.rule.name)"
    }
}
