import Foundation
import Postgres
import Runner

/// SQL predicates that select one subject's rows of each mapped table, built from the data
/// map's reach entries and the catalog's foreign keys (so a path follows the key each column
/// really references). Export, erasure and retention all select through these, so they agree
/// on what "the subject's rows" are.
///
/// The subject id is inlined as a `uuid` literal: it comes from a parsed `UUID`, never from
/// text, and `COPY (query)` takes no bind parameters.
public struct SubjectScope: Sendable {
    public let map: DataMap
    /// child table → column → (parent table, parent column), single-column foreign keys.
    let references: [String: [String: (String, String)]]
    /// table → columns in ordinal order with their type.
    public let columns: [String: [(name: String, type: String)]]
    /// table → primary-key columns, for a stable row order.
    public let primaryKeys: [String: [String]]

    public init(map: DataMap, connection db: Connection) throws {
        self.map = map
        var references: [String: [String: (String, String)]] = [:]
        for row in try db.query(
            """
            SELECT child.relname::text, a.attname::text, parent.relname::text, pa.attname::text
              FROM pg_constraint c
              JOIN pg_class child ON child.oid = c.conrelid
              JOIN pg_class parent ON parent.oid = c.confrelid
              JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
              JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = c.confkey[1]
             WHERE c.contype = 'f' AND array_length(c.conkey, 1) = 1
               AND child.relnamespace = 'public'::regnamespace AND parent.relnamespace = 'public'::regnamespace
            """)
        {
            references[try row.decode(0, as: String.self), default: [:]][try row.decode(1, as: String.self)] = (
                try row.decode(2, as: String.self), try row.decode(3, as: String.self)
            )
        }
        self.references = references
        var columns: [String: [(name: String, type: String)]] = [:]
        for row in try db.query(
            """
            SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod)
              FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
             WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND a.attnum > 0
               AND NOT a.attisdropped
             ORDER BY c.relname, a.attnum
            """)
        {
            columns[try row.decode(0, as: String.self), default: []].append(
                (try row.decode(1, as: String.self), try row.decode(2, as: String.self)))
        }
        self.columns = columns
        var keys: [String: [String]] = [:]
        for row in try db.query(
            """
            SELECT c.relname::text, a.attname::text
              FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
              JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, n) ON true
              JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             WHERE i.indisprimary AND c.relnamespace = 'public'::regnamespace
             ORDER BY c.relname, k.n
            """)
        {
            keys[try row.decode(0, as: String.self), default: []].append(try row.decode(1, as: String.self))
        }
        primaryKeys = keys
    }

    /// Binds `subject` for the predicates of the current transaction on `connection`: the
    /// subject reaches SQL as a bound value (a `COPY` takes no parameters), never as text. Call
    /// it after BEGIN on every session whose statements use `predicate(_:)`; a statement without
    /// it fails (an empty setting is not a uuid) rather than reading anyone's rows. A map with
    /// pseudonymous tables binds their salts too, read from the files their variables name:
    /// a salt that cannot be read stops the job (78) before anything is read or erased.
    public func bind(
        _ subject: UUID, on connection: Connection,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws {
        _ = try connection.query("SELECT set_config('samia.dsr_subject', $1, true)", [subject])
        try bindSalts(on: connection, transactionOnly: true, environment: environment)
    }

    /// The pseudonyms' salts, for this transaction or (retention's statements run in many
    /// transactions) for the whole session: what a subject's pseudonymous rows are found by.
    public func bindSalts(
        on connection: Connection, transactionOnly: Bool = false,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws {
        for (setting, salt) in try salts(environment) {
            _ = try connection.query("SELECT set_config($1, $2, $3)", [setting, salt, transactionOnly])
        }
    }

    /// Every salt the map needs, read now: `dsr process` calls it before any work.
    public func checkSalts(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        _ = try salts(environment)
    }

    /// Each pseudonymous table's setting name and salt, read from its file.
    private func salts(_ environment: [String: String]) throws -> [(setting: String, salt: String)] {
        try map.tables.keys.sorted().compactMap { table in
            try map.tables[table]!.pseudonym.map {
                (Self.saltSetting(table), try Self.salt($0, table: table, environment: environment))
            }
        }
    }

    static func salt(_ pseudonym: DataMap.Pseudonym, table: String, environment: [String: String]) throws -> String {
        guard let path = environment[pseudonym.saltFileEnv], !path.isEmpty else {
            throw BatchError.configuration(
                "\(pseudonym.saltFileEnv) is not set: \(table).\(pseudonym.column) holds salted hashes of subject ids, and without the salt no subject's rows there can be found (docs/privacy.md)"
            )
        }
        guard let data = FileManager.default.contents(atPath: path),
            let salt = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .newlines), !salt.isEmpty
        else {
            throw BatchError.configuration("\(pseudonym.saltFileEnv)=\(path): cannot read a salt from the file")
        }
        return salt
    }

    static func saltSetting(_ table: String) -> String { "samia.pseudonym_salt_\(table)" }

    /// A boolean SQL expression over `alias` that is true for the bound subject's rows of
    /// `table` (see `bind`); with `owned`, only the rows its erasure `owner` entries reach (their
    /// own records, not other people's records that name them).
    public func predicate(_ table: String, alias: String = "t", owned: Bool = false) -> String {
        var depth = 0
        return predicate(
            table, literal: "(SELECT current_setting('samia.dsr_subject')::uuid)",
            set: "SELECT current_setting('samia.dsr_subject')::uuid", alias: alias, owned: owned, depth: &depth)
    }

    /// The same for every subject in `subjects`, an SQL expression of type `uuid[]` (a
    /// sub-select of `legal_holds`, say): true for a row of any of them.
    public func predicate(_ table: String, anyOf subjects: String, alias: String = "t") -> String {
        var depth = 0
        return predicate(
            table, literal: "ANY (\(subjects))", set: "SELECT unnest(\(subjects))", alias: alias, owned: false,
            depth: &depth)
    }

    /// `literal` compares a column with the subject (`= (…)` or `ANY (…)`); `set` selects the
    /// subject ids as rows, for the reaches that compute from them.
    private func predicate(
        _ table: String, literal: String, set: String, alias: String, owned: Bool, depth: inout Int
    ) -> String {
        guard let entry = map.tables[table] else { return "false" }
        let entries = owned && !entry.erasure.owner.isEmpty ? entry.erasure.owner : entry.reach
        // Several conditions as an OR: PostgreSQL cannot use an index for it where one of them is
        // a path, and scans the whole table probing each condition per row (a small subject's
        // payment_events: every webhook read and its JSON taken apart six times, per export). As
        // the union of each condition's keys, every condition finds its rows by its own index.
        // The plain columns stay one condition (one bitmap OR of their indexes).
        let extra = extraConditions(entry, literal: literal, set: set, owned: owned, depth: &depth)
        let plain = entries.filter(isColumn)
        let count = (plain.isEmpty ? 0 : 1) + entries.count - plain.count + extra.count
        if count > 1, let keys = primaryKeys[table], keys.count == 1 {
            let union = branches(
                table, entries, extra: extra, key: keys[0], literal: literal, set: set, owned: owned, depth: &depth)
            return "\(alias).\(q(keys[0])) IN (\(union.joined(separator: " UNION ALL ")))"
        }
        let parts =
            entries.map {
                part($0, table: table, literal: literal, set: set, alias: alias, owned: owned, depth: &depth)
            } + extra.map { $0(alias) }
        return parts.isEmpty ? "false" : parts.map { "(\($0))" }.joined(separator: " OR ")
    }

    /// A reach entry that is a column of the table itself (`user_id`), not a path.
    private func isColumn(_ path: String) -> Bool { !path.hasPrefix("<-") && !path.contains("->") }

    /// Each condition of `table` as a query of the keys of the rows it selects.
    private func branches(
        _ table: String, _ entries: [String], extra: [Condition], key: String, literal: String, set: String,
        owned: Bool, depth: inout Int
    ) -> [String] {
        depth += 1
        // One alias serves every branch: each is a query of its own.
        let own = "k\(depth)"
        let select = "SELECT \(own).\(q(key)) FROM public.\(q(table)) \(own) WHERE "
        var branches: [String] = []
        let plain = entries.filter(isColumn).map {
            part($0, table: table, literal: literal, set: set, alias: own, owned: owned, depth: &depth)
        }
        if !plain.isEmpty { branches.append(select + plain.map { "(\($0))" }.joined(separator: " OR ")) }
        for path in entries where !isColumn(path) {
            // Rows another table points at by this table's key: that table's column is already
            // the key. Joined back to this table first, the planner walked both in key order
            // for a merge join (a subject with 10,000 orders: 60–70 ms against 19–21 ms).
            if let reverse = reverseReference(path), reverse.referenced == key {
                branches.append(referencing(reverse, literal: literal, set: set, owned: owned, depth: &depth))
                continue
            }
            branches.append(
                select + part(path, table: table, literal: literal, set: set, alias: own, owned: owned, depth: &depth))
        }
        return branches + extra.map { select + $0(own) }
    }

    /// A condition on the rows of a table, written for the alias it is given.
    typealias Condition = (_ alias: String) -> String

    /// The pseudonym, the JSON reaches (the subject's own rows unless the erasure names its
    /// owners) and, outside erasure, the rows written about the subject. Each is written for an
    /// alias later: the caller decides between one OR and a union only once it knows how many.
    private func extraConditions(
        _ entry: DataMap.Table, literal: String, set: String, owned: Bool, depth: inout Int
    ) -> [Condition] {
        var parts: [Condition] = []
        let own = !owned || entry.erasure.owner.isEmpty
        if let pseudonym = entry.pseudonym, own {
            let salt = SQLIdentifier.literal(Self.saltSetting(entry.name))
            let column = q(pseudonym.column)
            parts.append { alias in
                "\(alias).\(column) IN (SELECT encode(sha256(convert_to(current_setting(\(salt)) || ':' || s.id::text, 'UTF8')), 'hex') FROM (\(set)) s(id))"
            }
        }
        for reach in entry.jsonReach where own {
            depth += 1
            let inner = "j\(depth)"
            let target = predicate(reach.table, literal: literal, set: set, alias: inner, owned: false, depth: &depth)
            let column = q(reach.column)
            let path =
                reach.path.count == 1
                ? " ->> \(SQLIdentifier.literal(reach.path[0]))" : " #>> '{\(reach.path.joined(separator: ","))}'"
            let matches =
                "SELECT \(inner).\(q(reach.matches)) FROM public.\(q(reach.table)) \(inner) WHERE \(inner).\(q(reach.matches)) IS NOT NULL AND (\(target))"
            parts.append { alias in "(\(alias).\(column)\(path)) IN (\(matches))" }
        }
        if let about = entry.about, !owned {
            for kind in about.kinds.keys.sorted() {
                let table = about.kinds[kind]!
                guard let key = primaryKeys[table]?.first else { continue }
                depth += 1
                let inner = "a\(depth)"
                let target = predicate(table, literal: literal, set: set, alias: inner, owned: false, depth: &depth)
                let (kindColumn, idColumn) = (q(about.kindColumn), q(about.column))
                // As an array the records' ids are looked up by the (kind, id) index whatever the
                // estimate: as `IN (subquery)` a subject whose orders the planner guessed from a
                // reader's (900 against 10) had all 83,000 audit rows about orders read.
                let ids = "SELECT \(inner).\(q(key))::text FROM public.\(q(table)) \(inner) WHERE \(target)"
                parts.append { alias in
                    "\(alias).\(kindColumn) = \(SQLIdentifier.literal(kind)) AND \(alias).\(idColumn) = ANY (ARRAY(\(ids)))"
                }
            }
        }
        return parts
    }

    /// One reach entry of `table` as a condition on `alias`.
    private func part(
        _ path: String, table: String, literal: String, set: String, alias: String, owned: Bool, depth: inout Int
    ) -> String {
        if let reverse = reverseReference(path) {
            return
                "\(alias).\(q(reverse.referenced)) IN (\(referencing(reverse, literal: literal, set: set, owned: owned, depth: &depth)))"
        }
        let hops = path.components(separatedBy: "->").map { $0.trimmingCharacters(in: .whitespaces) }
        return forward(hops, table: table, literal: literal, alias: alias, depth: &depth)
    }

    /// The subject's values of `reverse.column` in `reverse.table`: the keys of this table that
    /// the subject's rows there point at.
    private func referencing(
        _ reverse: (table: String, column: String, referenced: String), literal: String, set: String, owned: Bool,
        depth: inout Int
    ) -> String {
        depth += 1
        let inner = "r\(depth)"
        let innerPredicate = predicate(
            reverse.table, literal: literal, set: set, alias: inner, owned: owned, depth: &depth)
        return "SELECT \(inner).\(q(reverse.column)) FROM public.\(q(reverse.table)) \(inner) "
            + "WHERE \(inner).\(q(reverse.column)) IS NOT NULL AND (\(innerPredicate))"
    }

    /// `<- other.column`: rows of `other` whose `column` points at this table's `referenced`.
    private func reverseReference(_ path: String) -> (table: String, column: String, referenced: String)? {
        guard path.hasPrefix("<-") else { return nil }
        let target = path.dropFirst(2).trimmingCharacters(in: .whitespaces).split(separator: ".").map(String.init)
        return (target[0], target[1], references[target[0]]?[target[1]]?.1 ?? "id")
    }

    /// `c1 -> T2.c2 -> T3.c3`: the first column references T2, whose c2 references T3, … the
    /// last column holds the subject id.
    private func forward(_ hops: [String], table: String, literal: String, alias: String, depth: inout Int)
        -> String
    {
        let column = hops[0].split(separator: ".").last.map(String.init) ?? hops[0]
        if hops.count == 1 { return "\(alias).\(q(column)) = \(literal)" }
        let (parent, parentColumn) = references[table]?[column] ?? (String(hops[1].split(separator: ".")[0]), "id")
        depth += 1
        let inner = "p\(depth)"
        let rest = forward(Array(hops.dropFirst()), table: parent, literal: literal, alias: inner, depth: &depth)
        return
            "\(alias).\(q(column)) IN (SELECT \(inner).\(q(parentColumn)) FROM public.\(q(parent)) \(inner) WHERE \(rest))"
    }

    /// The table's rows in a stable order: its primary key, else its physical order.
    public func orderBy(_ table: String, alias: String = "t") -> String {
        let keys = primaryKeys[table] ?? []
        return keys.isEmpty ? "\(alias).ctid" : keys.map { "\(alias).\(q($0))" }.joined(separator: ", ")
    }

    /// Single-column foreign keys in the public schema: (child, column, parent, parent column).
    public var foreignKeys: [(child: String, column: String, parent: String, parentColumn: String)] {
        references.flatMap { child, columns in columns.map { (child, $0.key, $0.value.0, $0.value.1) } }
            .sorted { ($0.child, $0.column) < ($1.child, $1.column) }
    }

    func q(_ identifier: String) -> String { SQLIdentifier.quote(identifier) }
}
