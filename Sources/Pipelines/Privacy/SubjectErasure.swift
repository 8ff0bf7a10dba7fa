import Foundation
import Postgres

/// Erasure of one subject (Art. 17) as the data map declares it, inside the caller's
/// transaction: the subject's own rows of each table get the table's action (`delete`,
/// `anonymize`, or `retain` with the declared redactions), children before parents and never by
/// cascade. A row that cannot be deleted because a record that stays references it (an order a
/// retained tax invoice points at) is kept and cleared as the table's `if_referenced` says; the
/// storage objects of deleted rows go to the outbox in the same transaction, unless a remaining
/// row still names them. Rows under a legal hold are left untouched and reported.
///
/// The same code plans (`apply: false`, for `--dry-run` and the ledger entry) and applies, so
/// the plan is what happens. Results hold counts and table names only: no personal data.
public struct SubjectErasure {
    public struct TableResult: Codable, Sendable, Equatable {
        public var table: String
        public var action: String
        /// The subject's own rows found (before any change).
        public var owned: Int64 = 0
        public var deleted: Int64 = 0
        /// Rows changed in place: anonymized, redacted while retained, or cleared while kept.
        public var anonymized: Int64 = 0
        /// `delete` rows kept because a remaining record references them.
        public var keptReferenced: Int64 = 0
        /// The references that kept them, e.g. `invoices.order_id`.
        public var keptBy: [String] = []
        /// Rows left untouched under a legal hold.
        public var held: Int64 = 0
        public var legalBasis: String?
        public var period: String?
    }

    public struct Hold: Codable, Sendable, Equatable {
        public var id: Int64
        public var table: String?
        public var reason: String
    }

    public struct Plan: Codable, Sendable, Equatable {
        public var tables: [TableResult]
        public var objects: Int
        public var holds: [Hold]
        /// The subject's earlier export ZIPs: deleted from the store and the registry with the
        /// erasure (nil in plans recorded before this was counted).
        public var earlierExports: Int?
        /// A hold on the whole subject: nothing may be erased.
        public var blockedByHold: Bool { holds.contains { $0.table == nil } }
    }

    public struct Verification: Codable, Sendable, Equatable {
        public var passed: Bool
        public var problems: [String]
        /// What an export would still show, per table, after the erasure.
        public var remaining: [String: Int64]
        /// Column by column, for each table an export still shows rows of: how many of those rows
        /// still hold a value in each personal column, and why it stays (counts only, no value).
        public var remainingColumns: [String: [RemainingColumn]]? = nil
    }

    public struct RemainingColumn: Codable, Sendable, Equatable {
        public var column: String
        public var rowsWithValue: Int64
        public var why: String
    }

    let db: Connection
    let scope: SubjectScope

    public init(connection: Connection, scope: SubjectScope) {
        db = connection
        self.scope = scope
    }

    static let redaction = "[erased]"

    /// Plans, and with `apply` carries out, the erasure. Needs an open transaction; with `apply`,
    /// `samia.erasure_salt` must be set in it (the `hash` strategy's per-request salt).
    ///
    /// The steps: list the subject's rows (held ones apart), keep the ones a remaining record
    /// still references, count per table, list the objects no remaining row names; then, with
    /// `apply`, change rows in place, queue the objects and delete, children first.
    public func run(subject: UUID, requestID: Int64, apply: Bool) throws -> Plan {
        try scope.bind(subject, on: db)
        let holds = try db.query(
            """
            SELECT id, table_name, reason FROM public.legal_holds
             WHERE subject = $1::uuid AND released_at IS NULL ORDER BY id
            """, [subject]
        ).map {
            Hold(id: try $0.decode("id"), table: try $0.decodeOptional("table_name"), reason: try $0.decode("reason"))
        }
        try db.execute(
            """
            CREATE TEMP TABLE er_rows (tbl text NOT NULL, pk text NOT NULL, action text NOT NULL,
                                       blocked boolean NOT NULL DEFAULT false, blocked_by text) ON COMMIT DROP;
            CREATE TEMP TABLE er_objects (storage_key text PRIMARY KEY) ON COMMIT DROP
            """)
        var results = try listRows(subject: subject, holds: holds)
        try keepReferenced()
        try countRows(into: &results)
        try listObjects()
        let objects = try db.scalar("SELECT count(*) FROM er_objects", as: Int64.self) ?? 0
        let exports = try db.query(Self.earlierExports, [subject]).count
        let plan = Plan(
            tables: scope.map.tables.keys.sorted().map { results[$0]! }, objects: Int(objects), holds: holds,
            earlierExports: exports)
        guard apply else { return plan }
        guard !plan.blockedByHold else {
            throw DSRError.legalHold(subject: subject, holds: holds.filter { $0.table == nil }.map(\.id))
        }
        try changeInPlace()
        try deleteEarlierExports(subject: subject, requestID: requestID)
        try db.query(
            "INSERT INTO public.storage_outbox (storage_key, origin) SELECT storage_key, $1 FROM er_objects ORDER BY 1",
            ["dsr-erasure:\(requestID)"])
        for name in try deletionOrder() {
            let (pk, type) = try primaryKey(name)
            try db.execute(
                """
                DELETE FROM public.\(q(name)) t USING er_rows e
                 WHERE e.tbl = \(lit(name)) AND e.action = 'delete' AND NOT e.blocked AND e.pk::\(type) = t.\(q(pk))
                """)
        }
        return plan
    }

    /// The registry rows of the subject's export ZIPs (`id`, `storage_key`). An export made
    /// before the erasure is a copy of what it erases: it goes too.
    static let earlierExports = """
        SELECT a.id, a.storage_key FROM public.batch_artifacts a
          JOIN public.dsr_requests r ON r.kind = 'export' AND a.partition_key = 'request-' || r.id
         WHERE a.kind = 'dsr-export' AND r.subject = $1::uuid
         ORDER BY a.id
        """

    /// Queues the export ZIPs' objects for deletion with the erasure's own, removes their
    /// registry rows, and says on each export request why its download is gone.
    private func deleteEarlierExports(subject: UUID, requestID: Int64) throws {
        try db.query(
            """
            WITH gone AS (SELECT * FROM (\(Self.earlierExports)) e),
            queued AS (
              INSERT INTO public.storage_outbox (storage_key, origin) SELECT storage_key, $2 FROM gone RETURNING 1
            ),
            deleted AS (DELETE FROM public.batch_artifacts a USING gone WHERE a.id = gone.id RETURNING a.id)
            UPDATE public.dsr_requests r SET error = 'export deleted by erasure #' || $3::bigint
             WHERE r.subject = $1::uuid AND r.kind = 'export' AND r.artifact_id IN (SELECT id FROM deleted)
            """, [subject, "dsr-erasure:\(requestID)", requestID])
    }

    /// The subject's own rows of every mapped table into `er_rows`, with their action; a table
    /// under a hold, and a row under a hold of its own, only counted.
    private func listRows(subject: UUID, holds: [Hold]) throws -> [String: TableResult] {
        let map = scope.map
        let heldTables = Set(holds.compactMap(\.table))
        var results: [String: TableResult] = [:]
        for name in map.tables.keys.sorted() {
            let erasure = map.tables[name]!.erasure
            results[name] = TableResult(
                table: name, action: erasure.action.rawValue, legalBasis: erasure.legalBasis, period: erasure.period)
            let (pk, _) = try primaryKey(name)
            let predicate = scope.predicate(name, owned: true)
            if heldTables.contains(name) || holds.contains(where: { $0.table == nil }) {
                results[name]!.held =
                    try db.scalar(
                        "SELECT count(*) FROM public.\(q(name)) t WHERE \(predicate)", as: Int64.self) ?? 0
                results[name]!.owned = results[name]!.held
                continue
            }
            // A hold on one row (`legal-hold place --table T --key PK`) keeps that row as it is.
            let rowHeld = LegalHoldSQL.rowHeld(table: name, key: pk, alias: "t")
            let inserted = try db.query(
                """
                INSERT INTO er_rows (tbl, pk, action)
                SELECT \(lit(name)), t.\(q(pk))::text, \(lit(erasure.action.rawValue))
                  FROM public.\(q(name)) t WHERE (\(predicate)) AND NOT \(rowHeld)
                """)
            let held =
                try db.scalar(
                    "SELECT count(*) FROM public.\(q(name)) t WHERE (\(predicate)) AND \(rowHeld)", as: Int64.self) ?? 0
            results[name]!.held = held
            results[name]!.owned = Int64(inserted.affectedRows) + held
        }
        try db.execute("ANALYZE er_rows")
        return results
    }

    /// Rows to delete that a remaining record still references are kept. Keeping one can keep
    /// its own parents, so this repeats until nothing changes.
    private func keepReferenced() throws {
        let map = scope.map
        let edges = scope.foreignKeys.filter { map.tables[$0.parent]?.erasure.action == .delete }
        var changed = true
        var rounds = 0
        while changed && rounds < 50 {
            changed = false
            rounds += 1
            for edge in edges where try blockRowsReferenced(by: edge) > 0 { changed = true }
        }
    }

    /// Marks kept the parent rows to delete that a surviving child row of `edge` still
    /// references (after the child's own changes); returns how many.
    private func blockRowsReferenced(by edge: (child: String, column: String, parent: String, parentColumn: String))
        throws -> Int
    {
        let (parentPK, parentType) = try primaryKey(edge.parent)
        let child = scope.map.tables[edge.child]
        let childPK = scope.primaryKeys[edge.child]?.count == 1 ? scope.primaryKeys[edge.child]![0] : nil
        // Whether a surviving child row still holds the reference after its own changes.
        let nullsWhenChanged =
            child.map { $0.erasure.action != .delete && $0.erasure.columns[edge.column] == .null } ?? false
        let nullsWhenKept = child?.erasure.ifReferenced[edge.column] == .null
        let childRow =
            childPK.map {
                """
                LEFT JOIN er_rows d ON d.tbl = \(lit(edge.child)) AND d.pk = x.\(q($0))::text
                 WHERE NOT (d.pk IS NOT NULL AND d.action = 'delete' AND NOT d.blocked)
                   AND NOT (d.pk IS NOT NULL AND d.action <> 'delete' AND \(nullsWhenChanged))
                   AND NOT (d.pk IS NOT NULL AND d.action = 'delete' AND d.blocked AND \(nullsWhenKept))
                   AND
                """
            } ?? "WHERE"
        let updated = try db.query(
            """
            UPDATE er_rows e SET blocked = true, blocked_by = \(lit("\(edge.child).\(edge.column)"))
             WHERE e.tbl = \(lit(edge.parent)) AND e.action = 'delete' AND NOT e.blocked
               AND EXISTS (
                 SELECT 1 FROM public.\(q(edge.parent)) y
                   JOIN public.\(q(edge.child)) x ON x.\(q(edge.column)) = y.\(q(edge.parentColumn))
                   \(childRow) y.\(q(parentPK)) = e.pk::\(parentType))
            """)
        return updated.affectedRows
    }

    /// Per table: rows deleted, kept because referenced (and by what), changed in place.
    private func countRows(into results: inout [String: TableResult]) throws {
        for row in try db.query(
            """
            SELECT tbl, count(*) FILTER (WHERE action = 'delete' AND NOT blocked) AS deleted,
                   count(*) FILTER (WHERE action <> 'delete' OR blocked) AS changed,
                   count(*) FILTER (WHERE blocked) AS kept,
                   coalesce(array_to_string(array_agg(DISTINCT blocked_by) FILTER (WHERE blocked), ','), '') AS kept_by
              FROM er_rows GROUP BY tbl
            """)
        {
            let table: String = try row.decode("tbl")
            let entry = scope.map.tables[table]!.erasure
            results[table]!.deleted = try row.decode("deleted")
            results[table]!.keptReferenced = try row.decode("kept")
            let keptBy: String = try row.decode("kept_by")
            results[table]!.keptBy = keptBy.split(separator: ",").map(String.init).sorted()
            // Rows changed in place: only where there is something to change.
            let changedRows: Int64 = try row.decode("changed")
            let hasColumns = entry.action == .delete ? !entry.ifReferenced.isEmpty : !entry.columns.isEmpty
            results[table]!.anonymized = hasColumns ? changedRows : 0
        }
    }

    /// Objects of deleted rows that no remaining row names, into `er_objects`.
    private func listObjects() throws {
        let map = scope.map
        let storage = map.tables.keys.sorted().flatMap { t in map.tables[t]!.storage.sorted().map { (t, $0) } }
        for (table, column) in storage {
            let (pk, type) = try primaryKey(table)
            let stillNamed = try storage.map { other, otherColumn -> String in
                let (otherPK, otherType) = try primaryKey(other)
                return """
                    EXISTS (SELECT 1 FROM public.\(q(other)) o WHERE o.\(q(otherColumn)) = t.\(q(column))
                             AND NOT EXISTS (SELECT 1 FROM er_rows g WHERE g.tbl = \(lit(other)) AND g.action = 'delete'
                                               AND NOT g.blocked AND g.pk::\(otherType) = o.\(q(otherPK))))
                    """
            }.joined(separator: " OR ")
            try db.execute(
                """
                INSERT INTO er_objects (storage_key)
                SELECT DISTINCT t.\(q(column))::text FROM public.\(q(table)) t
                  JOIN er_rows e ON e.tbl = \(lit(table)) AND e.action = 'delete' AND NOT e.blocked AND e.pk::\(type) = t.\(q(pk))
                 WHERE t.\(q(column)) IS NOT NULL AND NOT (\(stillNamed))
                ON CONFLICT DO NOTHING
                """)
        }
    }

    /// Changes in place first (they may clear references): the columns of rows that stay, and
    /// of rows to delete that are kept because referenced.
    private func changeInPlace() throws {
        for name in scope.map.tables.keys.sorted() {
            let erasure = scope.map.tables[name]!.erasure
            let (pk, type) = try primaryKey(name)
            let sets: [(String, [String: DataMap.Strategy])] = [
                ("e.action <> 'delete'", erasure.action == .delete ? [:] : erasure.columns),
                ("e.blocked", erasure.action == .delete ? erasure.ifReferenced : [:]),
            ]
            for (condition, columns) in sets where !columns.isEmpty {
                let assignments = columns.keys.sorted().map {
                    "\(q($0)) = \(expression(columns[$0]!, column: $0, table: name))"
                }
                try db.execute(
                    """
                    UPDATE public.\(q(name)) t SET \(assignments.joined(separator: ", "))
                      FROM er_rows e WHERE e.tbl = \(lit(name)) AND \(condition) AND e.pk::\(type) = t.\(q(pk))
                    """)
            }
        }
    }

    /// After the commit and the object deletions: the subject's own rows left must be exactly the
    /// ones the plan kept (referenced or held), cleared as declared; and what an export would
    /// still show is recorded per table.
    public func verify(subject: UUID, plan: Plan) throws -> Verification {
        try db.transaction { _ in
            try scope.bind(subject, on: db)
            return try verifyBound(plan, subject: subject)
        }
    }

    private func verifyBound(_ plan: Plan, subject: UUID) throws -> Verification {
        var problems: [String] = []
        var remaining: [String: Int64] = [:]
        for result in plan.tables {
            let entry = scope.map.tables[result.table]!.erasure
            let owned = scope.predicate(result.table, owned: true)
            let left =
                try db.scalar("SELECT count(*) FROM public.\(q(result.table)) t WHERE \(owned)", as: Int64.self) ?? 0
            // Rows whose pseudonym the erasure clears cannot be found afterwards: that is the point.
            let unlinked = scope.map.tables[result.table]!.pseudonym.map { entry.columns[$0.column] != nil } ?? false
            let expected =
                entry.action == .delete
                ? result.keptReferenced + result.held : unlinked && result.held == 0 ? 0 : result.owned
            if left != expected {
                problems.append("\(result.table): \(left) of the subject's rows remain, \(expected) expected")
            }
            // Declared changes hold on every remaining row of theirs that is not under a hold.
            let columns = entry.action == .delete ? entry.ifReferenced : entry.columns
            if result.held == 0 {
                for (column, strategy) in columns.sorted(by: { $0.key < $1.key }) where strategy != .hash {
                    let condition =
                        switch strategy {
                        case .null: "t.\(q(column)) IS NOT NULL"
                        case .strip:
                            "t.\(q(column)) IS DISTINCT FROM \(expression(.strip, column: column, table: result.table))"
                        default: "t.\(q(column)) IS DISTINCT FROM \(lit(Self.redaction))"
                        }
                    let bad =
                        try db.scalar(
                            "SELECT count(*) FROM public.\(q(result.table)) t WHERE (\(owned)) AND \(condition)",
                            as: Int64.self) ?? 0
                    if bad > 0 {
                        problems.append("\(result.table).\(column): \(bad) row(s) not erased (\(strategy.rawValue))")
                    }
                }
            }
            remaining[result.table] =
                try db.scalar(
                    "SELECT count(*) FROM public.\(q(result.table)) t WHERE \(scope.predicate(result.table))",
                    as: Int64.self) ?? 0
        }
        let exports = try db.query(Self.earlierExports, [subject]).count
        if exports > 0 { problems.append("batch_artifacts: \(exports) export ZIP(s) of the subject remain") }
        var columns: [String: [RemainingColumn]] = [:]
        for (table, rows) in remaining where rows > 0 { columns[table] = try remainingColumns(table) }
        return Verification(
            passed: problems.isEmpty, problems: problems, remaining: remaining, remainingColumns: columns)
    }

    /// The personal columns of `table` that still hold a value in the rows an export shows,
    /// with the reason the data map gives: the proof says what remains and why, not only how many.
    private func remainingColumns(_ table: String) throws -> [RemainingColumn] {
        let entry = scope.map.tables[table]!
        let names = entry.personal.keys.sorted()
        guard !names.isEmpty else { return [] }
        let counts = names.map {
            "count(*) FILTER (WHERE t.\(q($0)) IS NOT NULL AND t.\(q($0))::text NOT IN ('', \(lit(Self.redaction))))"
        }
        let row = try db.query(
            "SELECT \(counts.joined(separator: ", ")) FROM public.\(q(table)) t WHERE \(scope.predicate(table))")[0]
        return try names.enumerated().map { i, column in
            RemainingColumn(column: column, rowsWithValue: try row.decode(i, as: Int64.self), why: why(entry, column))
        }
    }

    private func why(_ entry: DataMap.Table, _ column: String) -> String {
        let erasure = entry.erasure
        switch erasure.columns[column] ?? erasure.ifReferenced[column] {
        case .strip?:
            let keys = entry.jsonPersonalKeys[column, default: []].joined(separator: ", ")
            return "kept without its personal keys (\(keys)); \(erasure.legalBasis ?? "")"
        case .hash?: return "replaced by a salted hash that names no one"
        case let strategy?:
            return "cleared (\(strategy.rawValue)); a value left is another's row that names the subject"
        case nil: break
        }
        switch erasure.action {
        case .retain:
            return "retained: \(erasure.legalBasis ?? "") (\(erasure.period ?? ""))"
        case .anonymize:
            return "kept by the anonymisation, which clears \(erasure.columns.keys.sorted().joined(separator: ", "))"
        case .delete:
            return
                "a row that stays: referenced by a retained record, or another's row (reader, staff) that names the subject"
        }
    }

    /// Delete tables ordered so that a table referencing another is emptied first.
    func deletionOrder() throws -> [String] {
        let tables = Set(scope.map.tables.filter { $0.value.erasure.action == .delete }.keys)
        var dependsOn: [String: Set<String>] = [:]  // parent -> children still to delete first
        for edge in scope.foreignKeys where tables.contains(edge.child) && tables.contains(edge.parent) {
            if edge.child != edge.parent { dependsOn[edge.parent, default: []].insert(edge.child) }
        }
        var order: [String] = []
        var left = tables
        while !left.isEmpty {
            let ready = left.filter { (dependsOn[$0] ?? []).isDisjoint(with: left) }.sorted()
            guard let next = ready.first else {
                throw DSRError.erasureCycle(tables: left.sorted())
            }
            order.append(next)
            left.remove(next)
        }
        return order
    }

    private func primaryKey(_ table: String) throws -> (String, String) {
        guard let keys = scope.primaryKeys[table], keys.count == 1,
            let type = scope.columns[table]?.first(where: { $0.name == keys[0] })?.type
        else { throw DSRError.unsupportedTable(table: table, reason: "erasure needs a single-column primary key") }
        return (keys[0], type)
    }

    private func expression(_ strategy: DataMap.Strategy, column: String, table: String) -> String {
        switch strategy {
        case .strip:
            let keys = (scope.map.tables[table]?.jsonPersonalKeys[column] ?? []).map(lit).joined(separator: ", ")
            return "private.samia_strip_keys(t.\(q(column)), ARRAY[\(keys)]::text[])"
        case .null: return "NULL"
        case .redact: return lit(Self.redaction)
        case .hash:
            return
                "encode(sha256(convert_to(current_setting('samia.erasure_salt') || t.\(q(column))::text, 'UTF8')), 'hex')"
        }
    }

    private func q(_ identifier: String) -> String { scope.q(identifier) }
    /// A table name, action or marker compared as a string in SQL, quoted the one way.
    private func lit(_ text: String) -> String { SQLIdentifier.literal(text) }
}
