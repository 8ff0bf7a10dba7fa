import Foundation
import Postgres
import Privacy
import Runner

/// A retention rule with `drop_partitions`: the table is partitioned by range on the rule's age
/// column (`events_raw` by day on `occurred_at`), and a partition whose every row is past the
/// keep period goes whole, by `DROP TABLE`, instead of its rows being deleted in batches.
///
/// A partition is due only when its upper bound is at or before the cutoff, so no row inside the
/// keep period ever goes; rows of the partition that straddles the cutoff wait for a later night,
/// at most one partition's width. The default partition and one bounded by `MAXVALUE` are never
/// dropped: they may hold rows of any age (events that came before their day's partition was
/// made, or after the last one), so their rows past the cutoff are deleted in batches instead,
/// or a missed partition's events would outlive the keep period for ever. Each drop and each
/// batch is its own transaction with its `audit_log` row and the run's progress, so a crash
/// leaves every partition either whole or gone with its record, and a re-run goes on.
struct PartitionDrop {
    struct Partition {
        /// Schema-qualified, quoted as `regclass` prints it.
        var name: String
        var upperBound: String
        var rows: Int64
    }

    let rule: RetentionPolicy.Rule
    /// The cutoff as SQL, from the database's clock (as `ResolvedRule` makes it).
    let cutoff: String
    /// The partitions wholly before the cutoff, oldest first (rows counted by `counted`).
    private(set) var due: [Partition]
    /// Partitions that stay (not yet past, the default one, `MAXVALUE`).
    let kept: [String]
    let hasDefault: Bool
    /// The partitions without an upper bound (the default one, `MAXVALUE`), whose rows past the
    /// cutoff are deleted in batches.
    let unbounded: [String]
    /// Rows of `unbounded` past the cutoff (by `counted`).
    private(set) var strayRows: Int64 = 0
    let age: String
    /// Rows in the whole table, for the rule's `max_fraction` (by `counted`; partly estimated).
    private(set) var total: Int64 = 0
    /// Whether `total` includes estimates.
    private(set) var estimated = false
    /// For a table of the data map: the SQL condition (over `t`) of a row under a legal hold, of
    /// its own or of its subject. A due partition holding such a row is kept whole, and the rows
    /// of unbounded partitions matching it are not deleted, until the hold is released.
    var held: String?

    /// Rows in the due partitions.
    var partitionRows: Int64 { due.reduce(0) { $0 + $1.rows } }
    /// Every row that goes: the due partitions' and the unbounded partitions' past the cutoff.
    var dueRows: Int64 { partitionRows + strayRows }

    /// Checks the table's partitioning against the rule and lists what is due, without reading
    /// any row (`datamap check` does this much). Every refusal names the rule and the table, and
    /// comes before anything is dropped.
    init(rule: RetentionPolicy.Rule, scope: SubjectScope, db: Connection) throws {
        self.rule = rule
        age = SQLIdentifier.quote(rule.age)
        func fail(_ reason: String) -> RetentionError { .schema(rule: rule.name, reason: reason) }
        guard let columns = scope.columns[rule.table] else { throw fail("table \(rule.table) does not exist") }
        guard let ageType = columns.first(where: { $0.name == rule.age })?.type else {
            throw fail("column \(rule.table).\(rule.age) does not exist")
        }
        let table = "public.\(SQLIdentifier.quote(rule.table))"
        let key = try db.query(
            """
            SELECT p.partstrat::text, p.partnatts::int, a.attname::text
              FROM pg_partitioned_table p
              LEFT JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
             WHERE p.partrelid = $1::regclass
            """, [table]
        ).first
        guard let key, try key.decode(0, as: String.self) == "r", try key.decode(1, as: Int.self) == 1,
            try key.decodeOptional(2, as: String.self) == rule.age
        else {
            throw fail(
                "drop_partitions needs table \(rule.table) partitioned by range on \(rule.age) alone; it is "
                    + (key == nil ? "not partitioned" : "partitioned otherwise")
                    + " (without drop_partitions its rows are deleted in batches)")
        }
        if let referrer = scope.foreignKeys.first(where: { $0.parent == rule.table }) {
            throw fail(
                "\(referrer.child).\(referrer.column) references \(rule.table); a partition with rows another "
                    + "table points at cannot go whole")
        }
        let literal = try ResolvedRule.cutoff(rule, ageType: ageType)
        cutoff = literal
        // The bounds are read from the catalog's text of each partition (`FOR VALUES FROM (…) TO
        // (…)`); the upper one is cast back to the column's type and compared there.
        var due: [Partition] = []
        var kept: [String] = []
        var unbounded: [String] = []
        var hasDefault = false
        for row in try db.query(
            """
            SELECT c.oid::regclass::text, b.bound, coalesce(u.quoted, m[2]), v.upper <= \(literal)
              FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
              CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS bound) b
              LEFT JOIN LATERAL regexp_match(b.bound, '^FOR VALUES FROM \\((.*)\\) TO \\((.*)\\)$') m ON true
              -- A quoted literal is a value (MAXVALUE and the default partition have none).
              CROSS JOIN LATERAL (SELECT CASE WHEN m[2] ~ '^''.*''$' THEN substr(m[2], 2, length(m[2]) - 2) END AS quoted) u
              CROSS JOIN LATERAL (SELECT u.quoted::\(ageType) AS upper) v
             WHERE i.inhparent = $1::regclass
             ORDER BY v.upper NULLS LAST, 1
            """, [table])
        {
            let name = try row.decode(0, as: String.self)
            let isDefault = try row.decode(1, as: String.self) == "DEFAULT"
            hasDefault = hasDefault || isDefault
            let upper = try row.decodeOptional(2, as: String.self)
            if isDefault || upper?.contains("MAXVALUE") == true {
                unbounded.append(name)
            }
            if try row.decodeOptional(3, as: Bool.self) == true {
                due.append(Partition(name: name, upperBound: try row.decode(2, as: String.self), rows: 0))
            } else {
                kept.append(name)
            }
        }
        self.due = due
        self.kept = kept
        self.hasDefault = hasDefault
        self.unbounded = unbounded
    }

    /// This plan with the rows of each due partition counted, for the guards and the dry run,
    /// and the table's total for `max_fraction`: the due rows plus the other partitions' row
    /// estimates (`pg_class.reltuples`, kept by autovacuum and ANALYZE), counted exactly only for
    /// a partition never analysed. Counting a 10M-row table took longer than dropping its
    /// expired days (docs/performance.md); a fraction guard does not need the last row.
    func counted(_ db: Connection) throws -> PartitionDrop {
        var copy = self
        for i in copy.due.indices {
            copy.due[i].rows = try db.scalar("SELECT count(*) FROM \(due[i].name)", as: Int64.self) ?? 0
        }
        copy.strayRows = try unbounded.reduce(0) {
            $0 + (try db.scalar("SELECT count(*) FROM \($1) WHERE \(age) < \(cutoff)", as: Int64.self) ?? 0)
        }
        var total = copy.partitionRows
        for name in kept {
            let estimate =
                try db.scalar("SELECT reltuples::bigint FROM pg_class WHERE oid = $1::regclass", [name], as: Int64.self)
                ?? -1
            copy.estimated = copy.estimated || estimate >= 0
            total += try estimate >= 0 ? estimate : db.scalar("SELECT count(*) FROM \(name)", as: Int64.self) ?? 0
        }
        copy.total = total
        return copy
    }

    /// The due partitions holding a row under a legal hold: a run keeps them whole (`drop`), so
    /// the dry run must not count them as going.
    func heldPartitions(_ db: Connection) throws -> Set<String> {
        guard let held else { return [] }
        return Set(
            try due.filter {
                try db.scalar("SELECT EXISTS (SELECT 1 FROM \($0.name) t WHERE \(held))", as: Bool.self) == true
            }.map(\.name))
    }

    /// The dry run's lines; `held` are the due partitions a run would keep (`heldPartitions`).
    func describe(cutoffValue: String, today: String, timeZone: String, held: Set<String> = []) -> String {
        let going = due.filter { !held.contains($0.name) }
        let rows = going.reduce(0) { $0 + $1.rows }
        let share = total > 0 ? String(format: " (%.1f%%)", Double(rows) / Double(total) * 100) : ""
        let names = going.prefix(10).map { "\($0.name) (\($0.rows))" }.joined(separator: ", ")
        var lines = [
            "rule \(rule.name): \(rule.table) partitions ending at or before \(cutoffValue) (kept \(rule.keepDays) days; today is \(today) in \(timeZone))",
            "  would drop \(going.count) of \(due.count + kept.count) partition(s), \(rows) of \(estimated ? "about " : "")\(total) row(s)\(share)",
        ]
        if !held.isEmpty {
            lines.append(
                "  would keep \(held.count) due partition(s) whole, holding rows under a legal hold: "
                    + held.sorted().prefix(10).joined(separator: ", "))
        }
        if !unbounded.isEmpty {
            lines.append(
                "  would delete \(strayRows) row(s) older than the cutoff from \(unbounded.joined(separator: ", ")), in batches"
            )
        }
        lines.append("  first partitions: \(names.isEmpty ? "(none)" : names)")
        lines.append(
            "  kept: \(kept.count) partition(s)\(hasDefault ? ", the default one among them (never dropped)" : "")")
        return lines.joined(separator: "\n")
    }

    /// Drops the due partitions, oldest first, one transaction each; returns the partitions and
    /// rows dropped. A partition another worker dropped meanwhile is skipped. A drop waits at most
    /// `lockTimeout` for the table's lock (readers and writers of the table queue behind a
    /// waiting drop), then fails the run, to be run again.
    func drop(context: JobContext, cutoffValue: String, stats: inout [String: Int64]) throws -> (
        partitions: Int64, rows: Int64
    ) {
        let db = context.connection
        var dropped: Int64 = 0
        var rows: Int64 = 0
        for partition in due {
            try context.checkpoint()
            var gone: Int64?
            do {
                gone = try db.transaction { tx -> Int64? in
                    try tx.query("SELECT set_config('lock_timeout', $1, true)", ["\(Self.lockTimeoutSeconds)s"])
                    guard try isAttached(partition.name, on: tx) else { return nil }
                    try tx.execute("LOCK TABLE \(partition.name) IN ACCESS EXCLUSIVE MODE")
                    if let held,
                        try tx.scalar("SELECT EXISTS (SELECT 1 FROM \(partition.name) t WHERE \(held))", as: Bool.self)
                            == true
                    {
                        return -1
                    }
                    let count = try tx.scalar("SELECT count(*) FROM \(partition.name)", as: Int64.self) ?? 0
                    try tx.execute("DROP TABLE \(partition.name)")
                    try tx.query(
                        """
                        INSERT INTO public.audit_log (actor_role, event, entity, entity_id, meta)
                        VALUES ('system', 'retention_drop_partition', $1, $2,
                                jsonb_build_object('rule', $3::text, 'rows', $4::bigint, 'upper_bound', $5::text,
                                                   'cutoff', $6::text, 'run_id', $7::bigint))
                        """,
                        [
                            rule.table, partition.name, rule.name, count, partition.upperBound, cutoffValue,
                            context.runID,
                        ])
                    var progress = stats
                    progress["\(rule.name).partitions_dropped"] = dropped + 1
                    progress["\(rule.name).rows_deleted"] = rows + count
                    try RunLedger(connection: tx).progress(runID: context.runID, stats: progress)
                    return count
                }
            } catch let error as PostgresError where error.sqlState == "42P01" {
                gone = nil  // dropped by another worker between the check and the lock
            } catch let error as PostgresError where error.sqlState == "55P03" {
                throw BatchError.jobFailed(
                    job: "retention",
                    message:
                        "rule \(rule.name): partition \(partition.name) stayed locked by other sessions for "
                        + "\(Self.lockTimeoutSeconds) s; \(dropped) partition(s) were dropped before it. Run again.")
            }
            guard let gone else { continue }
            guard gone >= 0 else {
                stats["\(rule.name).partitions_held", default: 0] += 1
                context.logger.info(
                    "a partition holding rows under a legal hold is kept",
                    metadata: ["event": "partition_held", "rule": "\(rule.name)", "partition": "\(partition.name)"])
                continue
            }
            dropped += 1
            rows += gone
            stats["\(rule.name).partitions_dropped"] = dropped
            stats["\(rule.name).rows_deleted"] = rows
            context.progress.update(rule.name, done: dropped, total: Int64(due.count))
        }
        return (dropped, rows)
    }

    /// Deletes the rows of the unbounded partitions past the cutoff, `batchSize` at a time, each
    /// batch one transaction with its `audit_log` row (`retention_delete`, with the partition)
    /// and the run's progress; returns the rows and batches. Never more rows than `counted` found
    /// and the guards passed: an old event arriving meanwhile waits for the next night.
    func deleteStrays(
        context: JobContext, cutoffValue: String, batchSize: Int, pauseMilliseconds: Int,
        stats: inout [String: Int64]
    ) throws -> (rows: Int64, batches: Int64) {
        let db = context.connection
        var rows: Int64 = 0
        var batches: Int64 = 0
        let notHeld = held.map { " AND NOT (\($0))" } ?? ""
        for partition in unbounded {
            while rows < strayRows {
                try context.checkpoint()
                let size = min(Int64(batchSize), strayRows - rows)
                let gone = try db.transaction { tx -> Int64 in
                    // A partition detached or dropped since the plan has nothing left here.
                    guard try isAttached(partition, on: tx) else { return 0 }
                    let count =
                        try tx.scalar(
                            """
                            WITH gone AS (
                              DELETE FROM \(partition) WHERE ctid = ANY (ARRAY(
                                SELECT ctid FROM \(partition) t WHERE \(age) < \(cutoff)\(notHeld) LIMIT $1))
                              RETURNING 1)
                            SELECT count(*) FROM gone
                            """, [size], as: Int64.self) ?? 0
                    guard count > 0 else { return 0 }
                    try tx.query(
                        """
                        INSERT INTO public.audit_log (actor_role, event, entity, entity_id, meta)
                        VALUES ('system', 'retention_delete', $1, $2,
                                jsonb_build_object('rule', $3::text, 'rows', $4::bigint, 'partition', $2::text,
                                                   'cutoff', $5::text, 'run_id', $6::bigint))
                        """,
                        [rule.table, partition, rule.name, count, cutoffValue, context.runID])
                    var progress = stats
                    progress["\(rule.name).rows_deleted"] = (stats["\(rule.name).rows_deleted"] ?? 0) + count
                    progress["\(rule.name).stray_rows_deleted"] = rows + count
                    try RunLedger(connection: tx).progress(runID: context.runID, stats: progress)
                    return count
                }
                guard gone > 0 else { break }
                rows += gone
                batches += 1
                stats["\(rule.name).rows_deleted", default: 0] += gone
                stats["\(rule.name).stray_rows_deleted"] = rows
                // A pause lets the platform's writers in between batches, not after the last.
                if pauseMilliseconds > 0, rows < strayRows { usleep(useconds_t(pauseMilliseconds) * 1000) }
            }
        }
        return (rows, batches)
    }

    /// Whether `partition` is still a partition of the rule's table: another worker may have
    /// dropped or detached it since the plan.
    private func isAttached(_ partition: String, on tx: Connection) throws -> Bool {
        try tx.scalar(
            "SELECT count(*) FROM pg_inherits WHERE inhrelid = to_regclass($1) AND inhparent = $2::regclass",
            [partition, "public.\(SQLIdentifier.quote(rule.table))"], as: Int64.self) == 1
    }

    /// How long one drop waits for the table's lock.
    static let lockTimeoutSeconds = 5
}
