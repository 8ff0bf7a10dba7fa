import Foundation
import Postgres

/// Rows made to test both sides of a write policy. A copy of an existing row tests almost
/// nothing: it belongs to someone else, so every policy refuses it whatever its `WITH CHECK`
/// says. These rows start from sampled rows of the table and change what policies decide on:
/// every column that holds a person's id is set to the prober's own id and to another user's,
/// every column that names a role, a status or a flag (a foreign key to a small table, an enum,
/// a boolean) takes each of its values, and every column the declared scope reads takes the
/// values the sampled rows have on either side. The declared scope then says, row by row, which
/// of them the role may write and which it may not.
struct SyntheticRows {
    /// A column a trial may change, and the values it tries (as text, read by the column's type).
    struct Column: Equatable {
        var name: String
        var values: [String]
        /// Holds a person's id (a foreign key to the identities' table, or its key).
        var isIdentity: Bool
        var isPrimaryKey: Bool
    }

    /// One row to write: a sampled row (by its key) with some columns changed.
    struct Candidate: Equatable {
        var baseRow: String
        var baseKey: String
        var baseInScope: Bool
        /// Column → new value, in the order they were applied.
        var changes: [(String, String)]

        static func == (a: Candidate, b: Candidate) -> Bool {
            a.baseKey == b.baseKey && a.changes.map(\.0) == b.changes.map(\.0)
                && a.changes.map(\.1) == b.changes.map(\.1)
        }

        /// The changes as a JSON object, merged over the base row in SQL.
        var patch: String {
            var object: [String: String] = [:]
            for (column, value) in changes { object[column] = value }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return String(decoding: (try? encoder.encode(object)) ?? Data("{}".utf8), as: UTF8.self)
        }

        /// What the trial did, for the report: which row, changed how, and on which side of
        /// the scope it was before and would be after.
        func describe(names: [String: String], update: Bool, newInScope: Bool) -> String {
            let set = changes.map { "\($0.0) = \(names[$0.1] ?? $0.1)" }.joined(separator: ", ")
            let side = { (inside: Bool) in inside ? "inside" : "outside" }
            if update {
                return "row \(baseKey) set \(set) (\(side(baseInScope)) the scope before, \(side(newInScope)) after)"
            }
            let base = baseKey.isEmpty ? "a row of NULLs (the table is empty)" : "a copy of row \(baseKey)"
            return base + (set.isEmpty ? "" : " with \(set)") + " (\(side(newInScope)) the scope)"
        }
    }

    /// Most candidates a cell tries: enough for every value of a role or status column on
    /// both sides, few enough that a full report stays in seconds.
    static let limit = 48
    /// A foreign key to a table of at most this many rows is a code (a role, a service): every
    /// value is tried.
    static let smallTable = 32

    /// What a referenced key holds: the probe identities, a short list of codes, or neither.
    enum Target: Equatable {
        case identity
        case values([String])
        case other
    }

    /// The columns of `relation` a trial may change, read from the catalog once per relation;
    /// what each referenced key holds is asked once per key (`targets`).
    static func columns(
        _ db: Connection, relation: CatalogSnapshot.Relation, identities: [String], targets: inout [String: Target]
    ) throws -> [Column] {
        let rows = try db.query(
            """
            SELECT a.attname AS name, t.typtype = 'e' AS is_enum, a.atttypid = 'boolean'::regtype AS is_bool,
                   format_type(a.atttypid, a.atttypmod) AS type,
                   (SELECT coalesce(json_agg(e.enumlabel ORDER BY e.enumsortorder), '[]')::text
                      FROM pg_enum e WHERE e.enumtypid = a.atttypid) AS labels,
                   (SELECT c.confrelid::regclass::text FROM pg_constraint c
                     WHERE c.conrelid = a.attrelid AND c.contype = 'f' AND c.conkey = ARRAY[a.attnum] LIMIT 1) AS target,
                   (SELECT quote_ident(f.attname) FROM pg_constraint c JOIN pg_attribute f ON f.attrelid = c.confrelid AND f.attnum = c.confkey[1]
                     WHERE c.conrelid = a.attrelid AND c.contype = 'f' AND c.conkey = ARRAY[a.attnum] LIMIT 1) AS target_column
              FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
             WHERE a.attrelid = $1::bigint::oid AND a.attnum > 0 AND NOT a.attisdropped
               AND a.attgenerated = '' AND a.attidentity <> 'a'
             ORDER BY a.attnum
            """, [relation.oid])
        var columns: [Column] = []
        for row in rows {
            let name: String = try row.decode("name")
            var column = Column(
                name: name, values: [], isIdentity: false, isPrimaryKey: relation.primaryKey == [name])
            if try row.decode("is_enum", as: Bool.self) {
                let labels: String = try row.decode("labels")
                column.values = (try? JSONDecoder().decode([String].self, from: Data(labels.utf8))) ?? []
            } else if try row.decode("is_bool", as: Bool.self) {
                column.values = ["true", "false"]
            }
            var key: (table: String, column: String)?
            if let target = try row.decodeOptional("target", as: String.self),
                let targetColumn = try row.decodeOptional("target_column", as: String.self)
            {
                key = (target, targetColumn)
            } else if column.isPrimaryKey {
                key = (
                    "\(SQLIdentifier.quote(relation.schema)).\(SQLIdentifier.quote(relation.name))",
                    SQLIdentifier.quote(name)
                )
            }
            if let key {
                let id = "\(key.table).\(key.column)"
                if targets[id] == nil {
                    targets[id] = try target(
                        db, table: key.table, column: key.column, type: try row.decode("type"), identities: identities)
                }
                switch targets[id]! {
                case .identity: column.isIdentity = true
                case .values(let values) where !column.isPrimaryKey: column.values = values
                default: break
                }
            }
            columns.append(column)
        }
        return columns
    }

    /// A key that holds the probe identities is an identity column; a table of at most
    /// `smallTable` rows is a list of codes, every value tried. Both asked through the key's
    /// own type, so its index answers.
    private static func target(
        _ db: Connection, table: String, column: String, type: String, identities: [String]
    ) throws -> Target {
        // Identities that are not values of the key's type (uuids against a bigint key) fail
        // the cast: then the key holds none of them.
        let holds = try? db.savepoint("samia_target") { db in
            try db.scalar(
                "SELECT EXISTS (SELECT 1 FROM \(table) x WHERE x.\(column) = ANY ($1::text[]::\(type)[]))",
                [PostgresArray(identities)], as: Bool.self)
        }
        if holds == true { return .identity }
        let values: [String] = try db.query(
            "SELECT x.\(column)::text AS v FROM \(table) x WHERE x.\(column) IS NOT NULL LIMIT \(smallTable + 1)"
        ).map { try $0.decode("v") }
        return values.count <= smallTable ? .values(Array(Set(values)).sorted()) : .other
    }

    /// The candidates of one cell: each base row as it is, then with every identity column set
    /// to the prober's own id (`own`), then each of those with one column changed to each of
    /// its values; duplicates dropped, at most `limit`, spread over the columns.
    static func candidates(
        bases: [(row: String, key: String, inScope: Bool)], columns: [Column], scopeColumns: Set<String>,
        baseValues: [String: [String]], uid: String?, other: String?, includeKeys: Bool
    ) -> [Candidate] {
        let mutable = columns.filter { includeKeys || !$0.isPrimaryKey }
        let identityColumns = mutable.filter(\.isIdentity).map(\.name)
        var starts: [Candidate] = []
        for base in bases {
            let plain = Candidate(baseRow: base.row, baseKey: base.key, baseInScope: base.inScope, changes: [])
            starts.append(plain)
            if let uid, !identityColumns.isEmpty {
                var own = plain
                own.changes = identityColumns.map { ($0, uid) }
                starts.append(own)
            }
        }
        var variants: [[Candidate]] = []
        for column in mutable {
            var values = column.values
            if column.isIdentity { values = [uid, other].compactMap { $0 } }
            if scopeColumns.contains(column.name) { values += baseValues[column.name] ?? [] }
            guard !values.isEmpty else { continue }
            var list: [Candidate] = []
            for start in starts {
                for value in values {
                    var c = start
                    c.changes.removeAll { $0.0 == column.name }
                    c.changes.append((column.name, value))
                    list.append(c)
                }
            }
            variants.append(list)
        }
        // Round-robin over the columns, so a cap keeps some of every column's values.
        var out: [Candidate] = []
        for c in starts where !out.contains(c) { out.append(c) }
        var index = 0
        while out.count < limit && variants.contains(where: { index < $0.count }) {
            for list in variants where index < list.count && out.count < limit {
                if !out.contains(list[index]) { out.append(list[index]) }
            }
            index += 1
        }
        return out
    }
}
