import Foundation
import Logging
import Postgres

/// The nightly purge (`samia-batch retention`): deletes for good, from the database and from
/// storage, the rows the retention rules say have been kept long enough (docs/retention.md).
///
/// Every rule is planned before any rule deletes, so a guard (a cutoff inside the keep
/// period, too large a share of a table, more than `--max-rows`) stops the run with nothing
/// changed. Deletes then go in short batches, each its own transaction: rows, the media rows
/// nothing else uses, the storage keys they named into `storage_outbox`, an `audit_log` row and
/// the progress in the run ledger commit together; objects are deleted only after that commit.
/// A crash at any point leaves at worst an object without a row, which the next run deletes
/// from the outbox or finds in its orphan sweep; never a row without its object.
public struct RetentionJob: Job {
    public let name = "retention"
    public var partitionKind: PartitionKind { .none }
    public var isDestructive: Bool { true }
    /// Several workers may purge at once: each batch claims its rows with `FOR UPDATE SKIP
    /// LOCKED` and re-checks them under the lock, the outbox is claimed the same way, and the
    /// orphan sweep of a rule runs on one worker at a time (docs/scaling.md).
    public var allowsConcurrentRuns: Bool { true }

    let policy: RetentionPolicy
    let map: DataMap
    let store: any ObjectStore
    let only: String?
    let maxRows: Int64?
    let maxFraction: Double?

    public init(
        policy: RetentionPolicy, map: DataMap, store: any ObjectStore, rule: String? = nil, maxRows: Int64? = nil,
        maxFraction: Double? = nil
    ) {
        self.policy = policy
        self.map = map
        self.store = store
        only = rule
        self.maxRows = maxRows
        self.maxFraction = maxFraction
    }

    /// What one rule would delete, counted before anything is.
    struct Plan {
        var rule: ResolvedRule
        var total: Int64
        var expired: Int64
        var due: Int64
        var firstKeys: [String]
        var mediaRows: Int64
        var objects: Int64
        /// The most rows this run may delete for the rule (its fraction, `--max-rows`).
        var limit: Int64
        /// The cutoff's value, for the output and the audit rows.
        var cutoff = ""
    }

    public func run(_ context: JobContext) throws -> JobOutcome {
        let db = context.connection
        var rules = policy.rules
        if let only {
            rules = rules.filter { $0.name == only }
            guard !rules.isEmpty else { throw RetentionError.unknownRule(only, known: policy.rules.map(\.name)) }
        }
        var stats: [String: Int64] = [:]
        var gauges: [String: Double] = [:]
        let outbox = StorageOutbox(connection: db, store: store)
        // Objects an earlier run queued but died before deleting (a crash after a commit).
        if !context.dryRun {
            for origin in try db.query(
                "SELECT DISTINCT origin FROM public.storage_outbox WHERE origin LIKE 'retention%' AND deleted_at IS NULL"
            ).map({ try $0.decode(0, as: String.self) }) {
                let before = try pendingCount(db, origin: origin)
                let left = try outbox.drain(origin: origin, logger: context.logger)
                stats["recovered_objects", default: 0] += before - Int64(left)
            }
        }

        // The cutoff comes from the database's clock; a host that disagrees with it refuses.
        let clockRow = try db.query(
            "SELECT now()::text, extract(epoch FROM now())::float8, (now() AT TIME ZONE $1)::date::text",
            [policy.timeZone]
        ).first!
        let (dbNow, dbEpoch, today) =
            (
                try clockRow.decode(0, as: String.self), try clockRow.decode(1, as: Double.self),
                try clockRow.decode(2, as: String.self)
            )
        let skew = abs(dbEpoch - context.clock.now().timeIntervalSince1970)
        if skew > policy.maxClockSkewSeconds {
            throw RetentionError.cutoffInsideKeepPeriod(
                rule: rules.map(\.name).joined(separator: ", "),
                reason:
                    "this host's clock is \(Int(skew)) s away from the database's (limit \(Int(policy.maxClockSkewSeconds)) s); "
                    + "fix the clock (NTP) before purging")
        }
        for rule in rules where !rule.expiry && rule.keepDays < rule.floorDays {
            throw RetentionError.cutoffInsideKeepPeriod(
                rule: rule.name,
                reason: "keep_days is \(rule.keepDays), below the platform's keep period of \(rule.floorDays) days")
        }

        let scope = try SubjectScope(map: map, connection: db)
        let holds = try db.query(
            "SELECT subject, table_name FROM public.legal_holds WHERE released_at IS NULL AND subject IS NOT NULL"
        ).map { (subject: try $0.decode(0, as: UUID.self), table: try $0.decodeOptional(1, as: String.self)) }
        let resolved = try rules.map {
            try ResolvedRule(rule: $0, scope: scope, map: map, today: today, now: dbNow, subjectHolds: holds)
        }
        let references = referenceColumns(scope: scope, rules: resolved)

        var plans: [Plan] = []
        for rule in resolved {
            var plan = try plan(rule, db: db, scope: scope, holds: holds)
            plan.cutoff = try db.scalar("SELECT (\(rule.cutoff))::text", as: String.self) ?? rule.cutoff
            plans.append(plan)
        }
        for plan in plans {
            stats["\(plan.rule.rule.name).due"] = plan.due
            let fraction = maxFraction ?? plan.rule.rule.maxFraction
            if let maxRows, plan.due > maxRows {
                throw RetentionError.tooMany(rule: plan.rule.rule.name, rows: plan.due, limit: "--max-rows \(maxRows)")
            }
            if plan.total > 0 && Double(plan.due) > fraction * Double(plan.total) {
                throw RetentionError.tooMany(
                    rule: plan.rule.rule.name, rows: plan.due,
                    limit:
                        "\(percent(fraction)) of the \(plan.total) rows of \(plan.rule.rule.table) "
                        + "(\(percent(Double(plan.due) / Double(plan.total))) would go)")
            }
        }

        let sweep = OrphanSweep(
            db: db, store: store, references: references, grace: policy.orphanGraceHours * 3600, clock: context.clock,
            logger: context.logger)
        if context.dryRun {
            for plan in plans {
                print(describe(plan, cutoffDay: today))
                for prefix in plan.rule.rule.orphans {
                    let orphans = try sweep.orphans(prefix: prefix)
                    print(
                        "  orphans under \(prefix): \(orphans.count) object(s) older than \(formatHours(policy.orphanGraceHours)) "
                            + "that no row names\(orphans.isEmpty ? "" : ", e.g. \(orphans.prefix(3).joined(separator: ", "))")"
                    )
                    stats["\(plan.rule.rule.name).orphans"] = Int64(orphans.count)
                }
            }
            print("dry run: nothing was deleted")
            return JobOutcome(stats: stats, itemsProcessed: 0)
        }

        var total: Int64 = 0
        for plan in plans {
            let name = plan.rule.rule.name
            let result = try purge(
                plan, context: context, scope: scope, holds: holds, references: references,
                outbox: outbox, stats: &stats)
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
            stats["\(name).orphans_deleted"] = orphans
            total += result.rows
            gauges["samia_retention_rows_deleted{rule=\"\(name)\"}"] = Double(result.rows)
            gauges["samia_retention_media_rows_deleted{rule=\"\(name)\"}"] = Double(result.mediaRows)
            gauges["samia_retention_objects_deleted{rule=\"\(name)\"}"] = Double(result.objects + orphans)
            print(
                "retention \(name): \(result.rows) row(s) deleted in \(result.batches) batch(es), \(result.mediaRows) media row(s), "
                    + "\(result.objects) object(s) queued, \(orphans) orphan object(s) removed; "
                    + "\(plan.expired - plan.due) expired row(s) kept (held, referenced or public); longest batch \(result.longestMilliseconds) ms"
            )
        }
        let pending =
            try db.scalar(
                "SELECT count(*) FROM public.storage_outbox WHERE origin LIKE 'retention%' AND deleted_at IS NULL",
                as: Int64.self) ?? 0
        stats["objects_pending"] = pending
        gauges["samia_retention_objects_pending"] = Double(pending)
        if pending > 0 {
            context.logger.warning(
                "storage objects still queued for deletion; the next run retries them",
                metadata: ["event": "retention_objects_pending", "count": "\(pending)"])
        }
        var outcome = JobOutcome(stats: stats, itemsProcessed: total)
        outcome.gauges = gauges
        return outcome
    }

    // MARK: - Planning

    private func plan(
        _ rule: ResolvedRule, db: Connection, scope: SubjectScope, holds: [(subject: UUID, table: String?)]
    )
        throws -> Plan
    {
        let table = "public.\(SQLIdentifier.quote(rule.rule.table))"
        let key = SQLIdentifier.quote(rule.primaryKey)
        let counts = try db.query(
            """
            SELECT count(*)::bigint,
                   count(*) FILTER (WHERE \(rule.expired))::bigint,
                   count(*) FILTER (WHERE \(rule.due))::bigint
              FROM \(table) t
            """
        ).first!
        let firstKeys = try db.query(
            "SELECT t.\(key)::text FROM \(table) t WHERE \(rule.due) ORDER BY t.\(key) LIMIT 10"
        ).map { try $0.decode(0, as: String.self) }
        var mediaRows: Int64 = 0
        var objects: Int64 = 0
        for m in rule.media {
            // Media rows only the due rows use: those go with them.
            let others = m.referencedBy.map { ref -> String in
                let base =
                    "SELECT 1 FROM public.\(SQLIdentifier.quote(ref.table)) r WHERE r.\(SQLIdentifier.quote(ref.column)) = m.\(SQLIdentifier.quote(m.primaryKey))"
                return ref.table == rule.rule.table
                    ? "NOT EXISTS (\(base) AND NOT EXISTS (SELECT 1 FROM due d WHERE d.k = r.\(key)))"
                    : "NOT EXISTS (\(base))"
            }
            let row = try db.query(
                """
                WITH due AS MATERIALIZED (SELECT t.\(key) AS k, t.\(SQLIdentifier.quote(m.column)) AS media FROM \(table) t WHERE \(rule.due))
                SELECT count(*)::bigint, count(DISTINCT m.\(SQLIdentifier.quote(m.keyColumn)))::bigint
                  FROM public.\(SQLIdentifier.quote(m.table)) m
                 WHERE m.\(SQLIdentifier.quote(m.primaryKey)) IN (SELECT media FROM due WHERE media IS NOT NULL)
                   AND \((others + [ResolvedRule.notHeld(table: m.table, key: m.primaryKey, alias: "m", scope: scope, holds: holds)]).joined(separator: " AND "))
                """
            ).first!
            mediaRows += try row.decode(0, as: Int64.self)
            objects += try row.decode(1, as: Int64.self)
        }
        for column in rule.rule.storage {
            objects +=
                try db.scalar(
                    "SELECT count(t.\(SQLIdentifier.quote(column)))::bigint FROM \(table) t WHERE \(rule.due)",
                    as: Int64.self) ?? 0
        }
        let total = try counts.decode(0, as: Int64.self)
        let due = try counts.decode(2, as: Int64.self)
        let fraction = maxFraction ?? rule.rule.maxFraction
        var limit = Int64((fraction * Double(total)).rounded(.down))
        if let maxRows { limit = min(limit, maxRows) }
        return Plan(
            rule: rule, total: total, expired: try counts.decode(1, as: Int64.self), due: due, firstKeys: firstKeys,
            mediaRows: mediaRows, objects: objects, limit: limit)
    }

    private func describe(_ plan: Plan, cutoffDay: String) -> String {
        let r = plan.rule.rule
        return """
            rule \(r.name): \(r.table) rows with \(r.age) < \(plan.cutoff) (\(r.expiry ? "expired" : "kept \(r.keepDays) days"); today is \(cutoffDay) in \(policy.timeZone))
              would delete \(plan.due) of \(plan.total) row(s)\(plan.total > 0 ? " (\(percent(Double(plan.due) / Double(plan.total))))" : ""); \(plan.expired - plan.due) expired row(s) kept (legal hold, still referenced, or public today)
              media rows that would go with them: \(plan.mediaRows); storage objects: at most \(plan.objects)
              first keys: \(plan.firstKeys.isEmpty ? "(none)" : plan.firstKeys.joined(separator: ", "))
            """
    }

    // MARK: - Deleting

    struct Result {
        var rows: Int64 = 0
        var mediaRows: Int64 = 0
        var objects: Int64 = 0
        var batches: Int64 = 0
        var longestMilliseconds: Int64 = 0
    }

    private func purge(
        _ plan: Plan, context: JobContext, scope: SubjectScope, holds: [(subject: UUID, table: String?)],
        references: [(table: String, column: String)], outbox: StorageOutbox, stats: inout [String: Int64]
    ) throws -> Result {
        let db = context.connection
        let rule = plan.rule
        let name = rule.rule.name
        let origin = "retention:\(name)"
        let table = "public.\(SQLIdentifier.quote(rule.rule.table))"
        let key = SQLIdentifier.quote(rule.primaryKey)
        let returning =
            (["t.\(key)::text"] + rule.media.map { "t.\(SQLIdentifier.quote($0.column))::text" }
            + rule.rule.storage.map { "t.\(SQLIdentifier.quote($0))::text" }).joined(separator: ", ")
        let stillUsed = references.map {
            "NOT EXISTS (SELECT 1 FROM public.\(SQLIdentifier.quote($0.table)) u WHERE u.\(SQLIdentifier.quote($0.column)) = k)"
        }.joined(separator: " AND ")
        var result = Result()
        var last: String?
        let pause = Double(policy.pauseMilliseconds) / 1000
        // The due keys, listed once: each batch then takes the next ones by primary key instead
        // of searching the table again (which sorted every remaining due row per batch).
        if try db.scalar("SELECT to_regclass('pg_temp.retention_due') IS NOT NULL", as: Bool.self) ?? false {
            try db.execute("DROP TABLE pg_temp.retention_due")
        }
        try db.execute(
            """
            CREATE TEMP TABLE retention_due AS SELECT t.\(key) AS k FROM \(table) t WHERE \(rule.due);
            CREATE INDEX ON retention_due (k);
            ANALYZE retention_due
            """)
        defer { try? db.execute("DROP TABLE IF EXISTS pg_temp.retention_due") }
        // Objects are deleted on a second thread while the next batch runs; what it leaves is
        // drained below, after the last batch.
        let drain = BackgroundDrain(
            connection: try context.openSession(purpose: "storage"), release: context.closeSession, store: store,
            origin: origin, logger: context.logger)
        var drainFinished = false
        defer { if !drainFinished { _ = try? drain.finish() } }
        var transactionMilliseconds: Int64 = 0
        while result.rows < plan.limit {
            try context.checkpoint()
            let size = min(Int64(policy.batchSize), plan.limit - result.rows)
            let candidates = try db.query(
                "SELECT d.k::text FROM retention_due d WHERE $1::text IS NULL OR d.k > $1::text::\(rule.primaryKeyType) ORDER BY d.k LIMIT \(size)",
                [last]
            ).map { try $0.decode(0, as: String.self) }
            guard let lastCandidate = candidates.last else { break }
            let started = Date()
            var batch = Result()
            try withRetries(context) {
                batch = Result()
                try db.transaction { tx in
                    // The condition is checked again under the row locks: a row changed or held
                    // since the list was made is left alone, and one the API holds is skipped.
                    let rows = try tx.query(
                        """
                        WITH victims AS (
                          SELECT t.\(key) FROM \(table) t
                           WHERE t.\(key) = ANY($1::text::\(rule.primaryKeyType)[]) AND \(rule.due)
                           FOR UPDATE OF t SKIP LOCKED)
                        DELETE FROM \(table) t USING victims v WHERE t.\(key) = v.\(key)
                        RETURNING \(returning)
                        """, [Self.arrayLiteral(candidates)])
                    guard rows.count > 0 else { return }
                    var keys: [String] = []
                    var objectKeys: [String] = []
                    var mediaIDs = Array(repeating: [String](), count: rule.media.count)
                    for row in rows {
                        keys.append(try row.decode(0, as: String.self))
                        for i in rule.media.indices {
                            if let id = try row.decodeOptional(1 + i, as: String.self) { mediaIDs[i].append(id) }
                        }
                        for i in rule.rule.storage.indices {
                            if let k = try row.decodeOptional(1 + rule.media.count + i, as: String.self) {
                                objectKeys.append(k)
                            }
                        }
                    }
                    // Children first (the rows above), then the media rows nothing uses any more.
                    for (i, m) in rule.media.enumerated() where !mediaIDs[i].isEmpty {
                        let gone = try tx.query(
                            """
                            DELETE FROM public.\(SQLIdentifier.quote(m.table)) m
                             WHERE m.\(SQLIdentifier.quote(m.primaryKey)) = ANY($1::text::\(m.primaryKeyType)[])
                               AND \(rule.unreferenced(m, scope: scope, holds: holds))
                            RETURNING m.\(SQLIdentifier.quote(m.keyColumn))::text
                            """, [Self.arrayLiteral(mediaIDs[i])])
                        batch.mediaRows += Int64(gone.count)
                        for row in gone {
                            if let k = try row.decodeOptional(0, as: String.self) { objectKeys.append(k) }
                        }
                    }
                    if !objectKeys.isEmpty {
                        let queued = try tx.query(
                            """
                            INSERT INTO public.storage_outbox (storage_key, origin)
                            SELECT DISTINCT k, $2 FROM unnest($1::text[]) k WHERE \(stillUsed.isEmpty ? "true" : stillUsed)
                            RETURNING id
                            """, [Self.arrayLiteral(objectKeys), origin])
                        batch.objects = Int64(queued.count)
                    }
                    batch.rows = Int64(rows.count)
                    try tx.query(
                        """
                        INSERT INTO public.audit_log (actor_role, event, entity, entity_id, meta)
                        VALUES ('system', 'retention_delete', $1, $2,
                                jsonb_build_object('rule', $3::text, 'rows', $4::bigint, 'media_rows', $5::bigint,
                                                   'objects', $6::bigint, 'first_key', $7::text, 'last_key', $8::text,
                                                   'cutoff', $9::text, 'run_id', $10::bigint))
                        """,
                        [
                            rule.rule.table, "\(keys.first!)..\(keys.last!)", name, batch.rows, batch.mediaRows,
                            batch.objects, keys.first!, keys.last!, plan.cutoff, context.runID,
                        ])
                    var progress = stats
                    progress["\(name).rows_deleted"] = result.rows + batch.rows
                    progress["\(name).media_rows_deleted"] = result.mediaRows + batch.mediaRows
                    progress["\(name).objects_queued"] = result.objects + batch.objects
                    progress["\(name).batches"] = result.batches + 1
                    // The key the run has reached, where keys are numbers (stats hold integers).
                    if let reached = Int64(keys.last!) { progress["\(name).last_key"] = reached }
                    try RunLedger(connection: tx).progress(runID: context.runID, stats: progress)
                }
            }
            last = lastCandidate
            guard batch.rows > 0 else { continue }
            let held = Int64(Date().timeIntervalSince(started) * 1000)
            transactionMilliseconds += held
            result.longestMilliseconds = max(result.longestMilliseconds, held)
            result.rows += batch.rows
            result.mediaRows += batch.mediaRows
            result.objects += batch.objects
            result.batches += 1
            context.progress.update(name, done: result.rows, total: plan.due)
            // Test-only crash point: the batch committed, its objects are only in the outbox.
            if ProcessInfo.processInfo.environment["SAMIA_FAULT_INJECTION"] == "retention-after-commit" { _exit(71) }
            drain.kick()
            if pause > 0 { context.clock.sleep(seconds: pause) }
        }
        drainFinished = true
        let background = try drain.finish()
        let closing = Date()
        _ = try outbox.drain(origin: origin, logger: context.logger)
        stats["\(name).transaction_ms"] = transactionMilliseconds
        stats["\(name).object_delete_ms"] = background.milliseconds + Int64(Date().timeIntervalSince(closing) * 1000)
        stats["\(name).rows_deleted"] = result.rows
        stats["\(name).media_rows_deleted"] = result.mediaRows
        stats["\(name).objects_queued"] = result.objects
        stats["\(name).batches"] = result.batches
        stats["\(name).longest_batch_ms"] = result.longestMilliseconds
        stats["\(name).kept"] = plan.expired - plan.due
        return result
    }

    /// A batch that lost a race (an API insert referencing a media row being deleted fails the
    /// foreign-key check; a deadlock) is rolled back whole and tried again.
    private func withRetries(_ context: JobContext, _ body: () throws -> Void) throws {
        var attempt = 0
        while true {
            do { return try body() } catch let error as PostgresError
                where ["23503", "40001", "40P01"].contains(error.sqlState ?? "") && attempt < 3
            {
                attempt += 1
                context.logger.info(
                    "retention batch rolled back after a conflict; retrying",
                    metadata: ["event": "retention_batch_retry", "sqlstate": "\(error.sqlState ?? "")"])
            }
        }
    }

    // MARK: - Helpers

    /// Every column the database uses to name a storage object: an object is deleted only when
    /// none of them names it any more.
    private func referenceColumns(scope: SubjectScope, rules: [ResolvedRule]) -> [(table: String, column: String)] {
        var set: [String: (table: String, column: String)] = [:]
        for (name, table) in map.tables { for column in table.storage { set["\(name).\(column)"] = (name, column) } }
        for rule in rules {
            for column in rule.rule.storage { set["\(rule.rule.table).\(column)"] = (rule.rule.table, column) }
            for m in rule.media { set["\(m.table).\(m.keyColumn)"] = (m.table, m.keyColumn) }
        }
        if scope.columns["batch_artifacts"] != nil {
            set["batch_artifacts.storage_key"] = ("batch_artifacts", "storage_key")
        }
        return set.keys.sorted().map { set[$0]! }
    }

    private func pendingCount(_ db: Connection, origin: String) throws -> Int64 {
        try db.scalar(
            "SELECT count(*) FROM public.storage_outbox WHERE origin = $1 AND deleted_at IS NULL", [origin],
            as: Int64.self) ?? 0
    }

    /// A PostgreSQL array literal of text elements, each quoted.
    static func arrayLiteral(_ values: [String]) -> String {
        "{"
            + values.map {
                "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                    + "\""
            }
            .joined(separator: ",") + "}"
    }

    private func percent(_ value: Double) -> String { String(format: "%.1f%%", value * 100) }
    private func formatHours(_ hours: Double) -> String { hours == hours.rounded() ? "\(Int(hours)) h" : "\(hours) h" }
}
