import Foundation
import Logging
import Metrics
import Postgres
import Privacy
import Runner
import Storage
import Threads

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
    /// The data map's file, for the messages of the check every run starts with.
    public var mapFile = "data-map.yaml"

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
        /// The temporary table listing the due keys (`k`), made when planning.
        var dueTable: String
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

    /// The purge, as a list of steps: nothing is deleted before every rule is planned, counted
    /// and guarded.
    public func run(_ context: JobContext) throws -> JobOutcome {
        let db = context.connection
        // A table or column the map does not classify stops the purge before anything goes:
        // a rule's reach and its references are only as complete as the map.
        _ = try DataMapValidator(connection: db).validate(map, file: mapFile)
        let rules = try selectedRules()
        var totals = Totals()
        let outbox = StorageOutbox(connection: db, store: store)
        if !context.dryRun { try recoverQueuedObjects(db, outbox: outbox, context: context, totals: &totals) }
        let clock = try databaseClock(db, context: context, rules: rules)
        try checkKeepPeriods(rules)
        let scope = try SubjectScope(map: map, connection: db)
        let holds = try db.query(
            "SELECT subject, table_name FROM public.legal_holds WHERE released_at IS NULL AND subject IS NOT NULL"
        ).map { (subject: try $0.decode(0, as: UUID.self), table: try $0.decodeOptional(1, as: String.self)) }
        let resolved = try rules.filter { !$0.dropPartitions }.map {
            try ResolvedRule(rule: $0, scope: scope, map: map, subjectHolds: holds)
        }
        // Whole partitions, planned and guarded with the other rules before anything goes.
        // A held subject's pseudonymous rows are found through the salted hash: the salt must be
        // bound for the statements that keep them (78 without it, before anything goes).
        if !holds.isEmpty, rules.contains(where: { map.tables[$0.table]?.pseudonym != nil }) {
            try scope.bindSalts(on: db)
        }
        let partitionPlans = try planPartitions(rules, scope: scope, holds: holds, db: db, clock: clock)
        let references = referenceColumns(scope: scope, rules: resolved)
        defer { for i in resolved.indices { try? db.execute("DROP TABLE IF EXISTS pg_temp.retention_due_\(i)") } }
        var plans: [Plan] = []
        for (i, rule) in resolved.enumerated() {
            var plan = try plan(rule, index: i, db: db, scope: scope, holds: holds, dryRun: context.dryRun)
            plan.cutoff = try db.scalar("SELECT (\(rule.cutoff))::text", as: String.self) ?? rule.cutoff
            plans.append(plan)
        }
        try guardLimits(plans, partitionPlans, totals: &totals)
        let sweep = OrphanSweep(
            db: db, store: store, references: references, grace: policy.orphanGraceHours * 3600, clock: context.clock,
            logger: context.logger)
        if context.dryRun {
            try describeDryRun(plans, partitionPlans, sweep: sweep, today: clock.today, db: db, totals: &totals)
            return JobOutcome(stats: totals.stats, itemsProcessed: 0)
        }
        for plan in plans {
            try purgeRule(
                plan, context: context, scope: scope, holds: holds, references: references, outbox: outbox,
                sweep: sweep, totals: &totals)
        }
        for (plan, cutoff) in partitionPlans {
            try dropPartitions(plan, cutoff: cutoff, context: context, totals: &totals)
        }
        try recordPending(db, context: context, totals: &totals)
        var outcome = JobOutcome(stats: totals.stats, itemsProcessed: totals.rows)
        outcome.gauges = totals.gauges
        return outcome
    }

    /// Stops a rule, before anything is deleted, that would delete more than `--max-rows` or
    /// more than its fraction of the table's `total` rows (`shown` as the message gives it).
    func checkLimits(_ rule: RetentionPolicy.Rule, due: Int64, total shown: String, of total: Int64) throws {
        let fraction = maxFraction ?? rule.maxFraction
        if let maxRows, due > maxRows {
            throw RetentionError.tooMany(rule: rule.name, rows: due, limit: "--max-rows \(maxRows)")
        }
        if total > 0 && Double(due) > fraction * Double(total) {
            throw RetentionError.tooMany(
                rule: rule.name, rows: due,
                limit:
                    "\(percent(fraction)) of the \(shown) rows of \(rule.table) "
                    + "(\(percent(Double(due) / Double(total))) would go)")
        }
    }

    // MARK: - Planning

    private func plan(
        _ rule: ResolvedRule, index: Int, db: Connection, scope: SubjectScope,
        holds: [(subject: UUID, table: String?)], dryRun: Bool
    )
        throws -> Plan
    {
        let table = "public.\(SQLIdentifier.quote(rule.rule.table))"
        let key = SQLIdentifier.quote(rule.primaryKey)
        // The due keys are listed once, here: the guards count them and the batches take the
        // next ones by key, instead of searching the table again (which sorted every remaining
        // due row per batch). The list lives in a temporary table of this session.
        let dueTable = "pg_temp.retention_due_\(index)"
        // The list and the counts the guards compare it with come from one snapshot: another
        // worker deleting in between would otherwise make more rows due than the table holds.
        try db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        let counts: Row
        let firstKeys: [String]
        do {
            try listDue(rule, into: index, on: db)
            counts = try db.query(
                """
                SELECT count(*)::bigint, count(*) FILTER (WHERE \(rule.expired))::bigint,
                       (SELECT count(*) FROM \(dueTable))::bigint
                  FROM \(table) t
                """
            ).first!
            firstKeys = try db.query("SELECT d.k::text FROM \(dueTable) d ORDER BY d.k LIMIT 10").map {
                try $0.decode(0, as: String.self)
            }
            try db.execute("COMMIT")
        } catch {
            try? db.execute("ROLLBACK")
            throw error
        }
        var mediaRows: Int64 = 0
        var objects: Int64 = 0
        // What would go with the rows is only reported by a dry run; a real run counts what it
        // deletes (on a 10M-row table this count alone took 10 s).
        for m in rule.media where dryRun {
            // Media rows only the due rows use: those go with them.
            let others = m.referencedBy.map { ref -> String in
                let base =
                    "SELECT 1 FROM public.\(SQLIdentifier.quote(ref.table)) r WHERE r.\(SQLIdentifier.quote(ref.column)) = m.\(SQLIdentifier.quote(m.primaryKey))"
                return ref.table == rule.rule.table
                    ? "NOT EXISTS (\(base) AND NOT EXISTS (SELECT 1 FROM \(dueTable) d WHERE d.k = r.\(key)))"
                    : "NOT EXISTS (\(base))"
            }
            let row = try db.query(
                """
                SELECT count(*)::bigint, count(DISTINCT m.\(SQLIdentifier.quote(m.keyColumn)))::bigint
                  FROM public.\(SQLIdentifier.quote(m.table)) m
                 WHERE m.\(SQLIdentifier.quote(m.primaryKey)) IN (
                         SELECT t.\(SQLIdentifier.quote(m.column)) FROM \(table) t JOIN \(dueTable) d ON d.k = t.\(key))
                   AND \((others + [ResolvedRule.notHeld(table: m.table, key: m.primaryKey, alias: "m", scope: scope, holds: holds)]).joined(separator: " AND "))
                """
            ).first!
            mediaRows += try row.decode(0, as: Int64.self)
            objects += try row.decode(1, as: Int64.self)
        }
        for column in rule.rule.storage where dryRun {
            objects +=
                try db.scalar(
                    "SELECT count(t.\(SQLIdentifier.quote(column)))::bigint FROM \(table) t JOIN \(dueTable) d ON d.k = t.\(key)",
                    as: Int64.self) ?? 0
        }
        let total = try counts.decode(0, as: Int64.self)
        let due = try counts.decode(2, as: Int64.self)
        let fraction = maxFraction ?? rule.rule.maxFraction
        var limit = Int64((fraction * Double(total)).rounded(.down))
        if let maxRows { limit = min(limit, maxRows) }
        return Plan(
            rule: rule, dueTable: dueTable, total: total, expired: try counts.decode(1, as: Int64.self), due: due,
            firstKeys: firstKeys, mediaRows: mediaRows, objects: objects, limit: limit)
    }

    func describe(_ plan: Plan, cutoffDay: String) -> String {
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

        /// Adds `other`'s counts to these and keeps the longer of the two longest batches. A
        /// worker's batches, the workers' totals and the progress a batch writes all add up this
        /// one way, so the ledger, the audit rows and the stats cannot disagree on a field.
        mutating func absorb(_ other: Result) {
            rows += other.rows
            mediaRows += other.mediaRows
            objects += other.objects
            batches += other.batches
            longestMilliseconds = max(longestMilliseconds, other.longestMilliseconds)
        }
    }

    func purge(
        _ plan: Plan, context: JobContext, scope: SubjectScope, holds: [(subject: UUID, table: String?)],
        references: [(table: String, column: String)], outbox: StorageOutbox, stats: inout [String: Int64]
    ) throws -> Result {
        let name = plan.rule.rule.name
        // The first worker walks the list made when planning, on the job's session; each other
        // one gets a session, a thread and a list of its own (a temporary table is per session).
        let workers = max(1, min(policy.workers, Int(min(plan.due, Int64(Int.max)))))
        let tally = Tally()
        var sessions: [Connection] = []
        defer { sessions.forEach { context.closeSession($0) } }
        for index in 1..<max(workers, 1) {
            let session = try context.openSession(purpose: "purge-\(index)")
            sessions.append(session)
            try copyClock(from: context.connection, to: session)
        }
        let snapshot = stats
        let beside = sessions.enumerated().map { offset, session in
            BackgroundCall(name: "retention \(name) \(offset + 1)") {
                do {
                    let list = 100 + offset
                    try self.listDue(plan.rule, into: list, on: session)
                    return try self.lane(
                        plan, dueTable: "pg_temp.retention_due_\(list)", db: session, leads: false, tally: tally,
                        context: context, scope: scope, holds: holds, references: references, stats: snapshot,
                        drainPurpose: "storage-\(offset + 1)")
                } catch {
                    tally.stop()
                    throw error
                }
            }
        }
        let first = Swift.Result {
            try lane(
                plan, dueTable: plan.dueTable, db: context.connection, leads: true, tally: tally, context: context,
                scope: scope, holds: holds, references: references, stats: stats, drainPurpose: "storage")
        }
        // A failed first worker (cancelled, its session lost) stops the others.
        if case .failure = first {
            tally.stop()
            sessions.forEach { $0.cancel() }
        }
        let lanes = [first] + beside.map { call in Swift.Result { try call.wait() } }
        var result = Result()
        var transactionMilliseconds: Int64 = 0
        var objectDeleteMilliseconds: Int64 = 0
        for lane in lanes {
            let lane = try lane.get()
            result.absorb(lane.result)
            transactionMilliseconds += lane.transactionMilliseconds
            objectDeleteMilliseconds += lane.objectDeleteMilliseconds
        }
        let closing = Date()
        _ = try outbox.drain(origin: "retention:\(name)", logger: context.logger, removeDone: true)
        stats["\(name).workers"] = Int64(workers)
        stats["\(name).transaction_ms"] = transactionMilliseconds
        stats["\(name).object_delete_ms"] = objectDeleteMilliseconds + Int64(Date().timeIntervalSince(closing) * 1000)
        stats["\(name).rows_deleted"] = result.rows
        stats["\(name).media_rows_deleted"] = result.mediaRows
        stats["\(name).objects_queued"] = result.objects
        stats["\(name).batches"] = result.batches
        stats["\(name).longest_batch_ms"] = result.longestMilliseconds
        stats["\(name).kept"] = plan.expired - plan.due
        return result
    }

    /// What one worker did.
    struct Lane {
        var result = Result()
        var transactionMilliseconds: Int64 = 0
        var objectDeleteMilliseconds: Int64 = 0
    }

    /// The totals of all workers of a rule, and whether one has failed.
    final class Tally: Sendable {
        private let state = Locked((total: Result(), failed: false))

        var rows: Int64 { state.withLock { $0.total.rows } }
        var stopped: Bool { state.withLock { $0.failed } }
        func stop() { state.withLock { $0.failed = true } }
        func add(_ batch: Result) { state.withLock { $0.total.absorb(batch) } }
        /// The totals as they will be once `batch` commits (for the progress it writes).
        func adding(_ batch: Result) -> Result {
            state.withLock {
                var next = $0.total
                next.absorb(batch)
                return next
            }
        }
    }

    /// Lists `rule`'s due keys into the session's temporary table `retention_due_INDEX`.
    private func listDue(_ rule: ResolvedRule, into index: Int, on db: Connection) throws {
        let table = "pg_temp.retention_due_\(index)"
        try db.execute(
            """
            DROP TABLE IF EXISTS \(table);
            CREATE TEMP TABLE retention_due_\(index) AS
              SELECT t.\(SQLIdentifier.quote(rule.primaryKey)) AS k FROM public.\(SQLIdentifier.quote(rule.rule.table)) t
               WHERE \(rule.due);
            CREATE INDEX ON \(table) (k);
            ANALYZE \(table)
            """)
    }

    /// One worker's walk of the due keys on `db`, batch after batch, until the list is done,
    /// the rule's limit is reached or another worker failed. The leading worker (the job's own
    /// session) checks for cancellation and writes the run's progress, with every worker's
    /// totals, in its batch transactions; the others leave the ledger row alone, or their
    /// batches would queue on its row lock.
    private func lane(
        _ plan: Plan, dueTable: String, db: Connection, leads: Bool, tally: Tally, context: JobContext,
        scope: SubjectScope, holds: [(subject: UUID, table: String?)], references: [(table: String, column: String)],
        stats: [String: Int64], drainPurpose: String
    ) throws -> Lane {
        let name = plan.rule.rule.name
        let sql = BatchSQL(rule: plan.rule, references: references)
        var result = Result()
        var done = Lane()
        let pause = Double(policy.pauseMilliseconds) / 1000
        // Objects are deleted on a second thread while the next batch runs; what it leaves is
        // drained below, after the last batch.
        let drain = BackgroundDrain(
            connection: try context.openSession(purpose: drainPurpose), release: context.closeSession, store: store,
            origin: sql.origin, logger: context.logger)
        var drainFinished = false
        defer { if !drainFinished { _ = try? drain.finish() } }
        var shared = Array(repeating: false, count: plan.rule.media.count)
        let (slot, slotLock) = try claimSlot(db, rule: name)
        defer { if let slotLock { _ = try? db.advisoryUnlock(slotLock) } }
        var walk = KeyWalk(
            start: try startKey(slot: slot, dueTable: dueTable, due: plan.due, db: db),
            keyType: plan.rule.primaryKeyType)
        while !tally.stopped, tally.rows < plan.limit {
            if leads { try context.checkpoint() }
            let size = max(1, min(Int64(policy.batchSize), plan.limit - tally.rows))
            let bounds = walk.range(walk.cursor)
            let candidates = try db.query(
                "SELECT d.k::text FROM \(dueTable) d WHERE \(bounds.sql) ORDER BY d.k LIMIT $\(bounds.values.count + 1)",
                bounds.values + [String(size)]
            ).map { try $0.decode(0, as: String.self) }
            guard let lastCandidate = candidates.last else {
                if walk.wrapRound() { continue } else { break }
            }
            let started = Date()
            // One batch: its counts are filled in by the transaction below.
            var batch = Result(batches: 1)
            try withRetries(context) {
                batch = Result(batches: 1)
                try db.transaction { tx in
                    let target = BatchTarget(
                        plan: plan, sql: sql, candidates: candidates, scope: scope, holds: holds, runID: context.runID)
                    let lastKey = try deleteBatch(target, tx: tx, shared: &shared, batch: &batch)
                    if leads, let lastKey {
                        try writeProgress(
                            tally.adding(batch), lastKey: lastKey, name: name, stats: stats, tx: tx,
                            runID: context.runID)
                    }
                }
            }
            walk.cursor = (lastCandidate, false)
            guard batch.rows > 0 else {
                guard let next = try nextKeyStillInTable(walk, dueTable: dueTable, sql: sql, db: db) else {
                    if walk.wrapRound() { continue } else { break }
                }
                walk.cursor = (next, true)
                continue
            }
            let held = Int64(Date().timeIntervalSince(started) * 1000)
            done.transactionMilliseconds += held
            batch.longestMilliseconds = held
            result.absorb(batch)
            tally.add(batch)
            if leads { context.progress.update(name, done: tally.rows, total: plan.due) }
            drain.kick()
            if pause > 0 { context.clock.sleep(seconds: pause) }
        }
        drainFinished = true
        done.objectDeleteMilliseconds = try drain.finish().milliseconds
        done.result = result
        return done
    }

    /// Where a worker starts in the due-key list. Workers purging one rule together start at
    /// different places (the first at its start, the second half-way, the next ones between),
    /// then wrap round: in the same order they would take turns at every batch, each finding
    /// the other's rows locked. Keys another worker has deleted are skipped when listed.
    private func startKey(slot: Int, dueTable: String, due: Int64, db: Connection) throws -> String? {
        guard slot > 0 else { return nil }
        return try db.scalar(
            "SELECT d.k::text FROM \(dueTable) d ORDER BY d.k OFFSET $1 LIMIT 1",
            [Int64(Self.startFraction(slot) * Double(due))], as: String.self)
    }

    /// Another worker has been here (or holds these rows now): the walk goes on from the next
    /// key still in the table, found by one walk of the list instead of a batch per thousand
    /// deleted keys. (Each key is checked by a subplan, not a join, so the walk follows the
    /// list's index and stops at the first.)
    private func nextKeyStillInTable(_ walk: KeyWalk, dueTable: String, sql: BatchSQL, db: Connection) throws
        -> String?
    {
        let rest = walk.range(walk.cursor)
        return try db.scalar(
            """
            SELECT d.k::text FROM \(dueTable) d
             WHERE \(rest.sql) AND (SELECT 1 FROM \(sql.table) t WHERE t.\(sql.key) = d.k) IS NOT NULL
             ORDER BY d.k LIMIT 1
            """, rest.values, as: String.self)
    }

    /// What one batch deletes: the rule's plan, its SQL and the keys listed for this batch.
    struct BatchTarget {
        let plan: Plan
        let sql: BatchSQL
        let candidates: [String]
        let scope: SubjectScope
        let holds: [(subject: UUID, table: String?)]
        let runID: Int64
    }

    /// One batch, inside its transaction: the due rows among `candidates` (the condition checked
    /// again under the row locks: a row changed or held since the list was made is left alone,
    /// one the API holds is skipped), then their media rows nothing uses any more, their objects
    /// queued in the outbox, and an audit row. Returns the last key deleted (nil: none was).
    private func deleteBatch(_ target: BatchTarget, tx: Connection, shared: inout [Bool], batch: inout Result) throws
        -> String?
    {
        let (rule, sql) = (target.plan.rule, target.sql)
        let rows = try tx.query(
            """
            WITH victims AS (
              SELECT t.\(sql.key) FROM \(sql.table) t
               WHERE t.\(sql.key) = ANY($1::\(rule.primaryKeyType)[]) AND \(rule.due)
               FOR UPDATE OF t SKIP LOCKED)
            DELETE FROM \(sql.table) t USING victims v WHERE t.\(sql.key) = v.\(sql.key)
            RETURNING \(sql.returning)
            """, [PostgresArray(target.candidates)])
        guard rows.count > 0 else { return nil }
        var keys: [String] = []
        var objectKeys: [String] = []
        var mediaIDs = Array(repeating: [String](), count: rule.media.count)
        for row in rows {
            keys.append(try row.decode(0, as: String.self))
            for i in rule.media.indices {
                if let id = try row.decodeOptional(1 + i, as: String.self) { mediaIDs[i].append(id) }
            }
            for i in rule.rule.storage.indices {
                if let k = try row.decodeOptional(1 + rule.media.count + i, as: String.self) { objectKeys.append(k) }
            }
        }
        // Children first (the rows above), then the media rows nothing uses any more.
        for (i, m) in rule.media.enumerated() where !mediaIDs[i].isEmpty {
            let gone = try deleteMedia(
                m, ids: mediaIDs[i], rule: rule, scope: target.scope, holds: target.holds, tx: tx, shared: &shared[i])
            batch.mediaRows += Int64(gone.count)
            for row in gone {
                if let k = try row.decodeOptional(0, as: String.self) { objectKeys.append(k) }
            }
        }
        if !objectKeys.isEmpty {
            let queued = try tx.query(
                """
                INSERT INTO public.storage_outbox (storage_key, origin)
                SELECT DISTINCT k, $2 FROM unnest($1::text[]) k WHERE \(sql.stillUsed)
                RETURNING id
                """, [PostgresArray(objectKeys), sql.origin])
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
                rule.rule.table, "\(keys.first!)..\(keys.last!)", rule.rule.name, batch.rows, batch.mediaRows,
                batch.objects, keys.first!, keys.last!, target.plan.cutoff, target.runID,
            ])
        return keys.last
    }

    /// The run's progress with every worker's totals, written by the leading worker in its
    /// batch's transaction.
    private func writeProgress(
        _ totals: Result, lastKey: String, name: String, stats: [String: Int64], tx: Connection, runID: Int64
    ) throws {
        var progress = stats
        progress["\(name).rows_deleted"] = totals.rows
        progress["\(name).media_rows_deleted"] = totals.mediaRows
        progress["\(name).objects_queued"] = totals.objects
        progress["\(name).batches"] = totals.batches
        // The key the run has reached, where keys are numbers (stats hold integers).
        if let reached = Int64(lastKey) { progress["\(name).last_key"] = reached }
        try RunLedger(connection: tx).progress(runID: runID, stats: progress)
    }

    /// Deletes the media rows of a batch's deleted rows that nothing references any more, and
    /// returns their storage keys.
    ///
    /// The foreign keys into the media table are what "nothing references it" means, and
    /// PostgreSQL checks every one of them on every delete anyway. So the delete is first tried
    /// without checking them again, in a savepoint: when no media row of the batch is shared (the
    /// usual case) that is the whole cost. When one is, the foreign key refuses the delete, the
    /// savepoint is rolled back, and the rows still referenced are left out explicitly; after
    /// such a batch the next ones are checked explicitly from the start (`shared`), until one
    /// finds every media row free again.
    private func deleteMedia(
        _ m: ResolvedRule.Media, ids: [String], rule: ResolvedRule, scope: SubjectScope,
        holds: [(subject: UUID, table: String?)], tx: Connection, shared: inout Bool
    ) throws -> QueryResult {
        func delete(checkingReferences: Bool) throws -> QueryResult {
            try tx.query(
                """
                DELETE FROM public.\(SQLIdentifier.quote(m.table)) m
                 WHERE m.\(SQLIdentifier.quote(m.primaryKey)) = ANY($1::\(m.primaryKeyType)[])
                   AND \(checkingReferences ? rule.unreferenced(m, scope: scope, holds: holds) : ResolvedRule.notHeld(table: m.table, key: m.primaryKey, alias: "m", scope: scope, holds: holds))
                RETURNING m.\(SQLIdentifier.quote(m.keyColumn))::text
                """, [PostgresArray(ids)])
        }
        if !shared {
            do {
                return try tx.savepoint("retention_media") { _ in try delete(checkingReferences: false) }
            } catch let error as PostgresError where error.sqlState == "23503" {
                shared = true
                return try delete(checkingReferences: true)
            }
        }
        let rows = try delete(checkingReferences: true)
        shared = rows.count < Set(ids).count
        return rows
    }

    /// This worker's place among the workers purging `rule` now: the lowest free slot, held by
    /// a session lock until the purge of the rule ends. Past 64 workers, slot 0 again.
    private func claimSlot(_ db: Connection, rule: String) throws -> (Int, AdvisoryLockKey?) {
        for slot in 0..<64 {
            let key = AdvisoryLockKey("samia-batch:retention-slot:\(rule):\(slot)")
            if try db.tryAdvisoryLock(key) { return (slot, key) }
        }
        return (0, nil)
    }

    /// Where in the key list slot `slot` starts, as a fraction: 0, 1/2, 1/4, 3/4, 1/8, 5/8, ...
    /// (the bits of the slot reversed), so any number of workers spread out evenly.
    static func startFraction(_ slot: Int) -> Double {
        var fraction = 0.0
        var weight = 0.5
        var rest = slot
        while rest > 0 {
            if rest & 1 == 1 { fraction += weight }
            weight /= 2
            rest >>= 1
        }
        return fraction
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
    func referenceColumns(scope: SubjectScope, rules: [ResolvedRule]) -> [(table: String, column: String)] {
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

    func pendingCount(_ db: Connection, origin: String) throws -> Int64 {
        try db.scalar(
            "SELECT count(*) FROM public.storage_outbox WHERE origin = $1 AND deleted_at IS NULL", [origin],
            as: Int64.self) ?? 0
    }

    private func percent(_ value: Double) -> String { String(format: "%.1f%%", value * 100) }
    func formatHours(_ hours: Double) -> String { hours == hours.rounded() ? "\(Int(hours)) h" : "\(hours) h" }
}
