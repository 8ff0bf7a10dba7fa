import Postgres

/// Checks a data map against the live schema before any privacy job runs: every table and
/// column it names exists, every reach path follows real foreign keys to the subject, every
/// table of the schema is mapped, excluded or declared not personal with a reason (one whose
/// foreign keys reach the subject named with its path), and every column of a mapped table is
/// classified.
public struct DataMapValidator {
    let db: Connection

    public init(connection: Connection) { db = connection }

    public struct Report: Sendable, Equatable {
        public var mapped: Int
        public var excluded: Int
        /// Tables that reach the subject through foreign keys, each with the path found.
        public var reaching: [String: String]
        /// Columns (`table.column`) the map finds a subject's rows by that lead no index: each
        /// export, erasure and hold check reads those tables whole. Advice, not an error: the
        /// schema is the platform's (migration 0013 indexes the shipped map's).
        public var unindexed: [String] = []
        /// Text columns the map calls not personal whose sampled values look personal (with
        /// `sampleDeclared`): "orders.status: looks like contact.email (3 of 3 sampled values)".
        public var suspicious: [String] = []
    }

    /// Checks `map` against the catalog: every table and column it names exists, erasure
    /// strategies fit their columns, reach paths follow real references, and every table whose
    /// foreign keys lead to the subject is mapped or excluded.
    /// `readJSONData`: read every keyed JSON column's documents for their keys, not the registry
    /// its triggers keep (`datamap check` and the nightly retention do; the hourly `dsr process`
    /// reads the registry where it is in force).
    public func validate(_ map: DataMap, file: String, sampleDeclared: Bool = false, readJSONData: Bool = true) throws
        -> Report
    {
        let catalog = try readCatalog()
        func requireColumn(_ table: String, _ column: String) throws {
            guard catalog.columns[table]?.contains(column) == true else {
                throw DataMapError.missingColumn(file: file, table: table, column: column)
            }
        }
        guard catalog.columns[map.subjectTable] != nil else {
            throw DataMapError.missingTable(file: file, table: map.subjectTable)
        }
        try requireColumn(map.subjectTable, map.subjectColumn)
        // The columns the reach entries select rows by, each as `table.column`.
        var searched = Set<String>()
        for name in map.tables.keys.sorted() {
            let table = map.tables[name]!
            guard catalog.columns[name] != nil else { throw DataMapError.missingTable(file: file, table: name) }
            for column in Array(table.personal.keys) + table.storage + Array(table.erasure.columns.keys)
                + Array(table.withheld.keys) + Array(table.erasure.ifReferenced.keys) + table.idsWithoutForeignKey
            {
                try requireColumn(name, column)
            }
            try checkStrategies(table, name: name, types: catalog.types, file: file)
            try checkExtraReaches(table, map: map, file: file, require: requireColumn)
            for path in table.reach {
                searched.formUnion(
                    try checkPath(
                        path, from: name, map: map, file: file, references: catalog.references,
                        unenforced: table.idsWithoutForeignKey, require: requireColumn))
            }
        }
        for name in (Array(map.excluded.keys) + Array(map.notPersonal.keys)).sorted() where catalog.columns[name] == nil
        {
            throw DataMapError.missingTable(file: file, table: name)
        }
        let reaching = Self.reaching(map.subjectTable, references: catalog.references)
        try checkClassified(map, catalog: catalog, reaching: reaching, file: file, readJSONData: readJSONData)
        return Report(
            mapped: map.tables.count, excluded: map.excluded.count, reaching: reaching,
            unindexed: try unindexed(searched), suspicious: sampleDeclared ? try suspicious(map, catalog: catalog) : [])
    }

    /// Up to 50 values of a column, as text: what the detector looks at.
    private func sample(_ table: String, _ column: String) throws -> [String] {
        let (t, c) = (SQLIdentifier.quote(table), SQLIdentifier.quote(column))
        return try db.query("SELECT \(c)::text FROM public.\(t) WHERE \(c) IS NOT NULL LIMIT 50").map {
            try $0.decode(0, as: String.self)
        }
    }

    private static func isText(_ type: String) -> Bool { type == "text" || type.hasPrefix("character") }

    /// A hint per column: what its name and sampled values look like, for those that look personal.
    private func hints(_ columns: [String], catalog: Catalog) throws -> [String: String] {
        var hints: [String: String] = [:]
        for qualified in columns {
            let parts = qualified.split(separator: ".", maxSplits: 1).map(String.init)
            let textual = Self.isText(catalog.types[qualified]?.type ?? "")
            let values = textual ? try sample(parts[0], parts[1]) : []
            if let hint = PersonalDataDetector.hint(column: parts[1], values: values) { hints[qualified] = hint }
        }
        return hints
    }

    /// Text columns declared not personal whose sampled values look personal.
    private func suspicious(_ map: DataMap, catalog: Catalog) throws -> [String] {
        var found: [String] = []
        for name in map.tables.keys.sorted() {
            for column in map.tables[name]!.notPersonal.sorted()
            where Self.isText(catalog.types["\(name).\(column)"]?.type ?? "") {
                if let match = PersonalDataDetector.category(ofValues: try sample(name, column)) {
                    found.append("\(name).\(column): looks like \(match.category) (\(match.matches) sampled value(s))")
                }
            }
        }
        return found
    }

    /// The columns of `about`, `pseudonym` and `reach_json` exist, and what they point at is a
    /// mapped table's column: a typo would otherwise find no rows and export nothing, silently.
    private func checkExtraReaches(
        _ table: DataMap.Table, map: DataMap, file: String, require: (String, String) throws -> Void
    ) throws {
        let name = table.name
        if let about = table.about {
            try require(name, about.column)
            try require(name, about.kindColumn)
            for (kind, target) in about.kinds where map.tables[target] == nil && target != map.subjectTable {
                throw DataMapError.invalid(
                    file: file, table: name, reason: "about.kinds.\(kind): \(target) is not a mapped table")
            }
        }
        if let pseudonym = table.pseudonym { try require(name, pseudonym.column) }
        for reach in table.jsonReach {
            try require(name, reach.column)
            guard map.tables[reach.table] != nil else {
                throw DataMapError.invalid(
                    file: file, table: name, reason: "reach_json: \(reach.table) is not a mapped table")
            }
            try require(reach.table, reach.matches)
        }
    }

    /// Every column of a mapped table, and every table of the schema, must be classified:
    /// a column added later (`profiles.passport_no`) would otherwise be exported but never
    /// erased, and a new table holding emails would be in neither.
    /// A table whose foreign keys reach the subject is named with its path.
    private func checkClassified(
        _ map: DataMap, catalog: Catalog, reaching: [String: String], file: String, readJSONData: Bool
    ) throws {
        var columns: [String] = []
        for (name, table) in map.tables {
            let unclassified = (catalog.columns[name] ?? []).subtracting(table.classifiedColumns)
            columns += unclassified.map { "\(name).\($0)" }
        }
        let unlisted = { (name: String) in
            name != map.subjectTable && map.tables[name] == nil && map.excluded[name] == nil
                && map.notPersonal[name] == nil
        }
        let tables = catalog.baseTables.union(reaching.keys).filter(unlisted).map { name in
            reaching[name].map { "\(name) (via \($0))" } ?? name
        }
        // Only when the columns hold: a column not yet classified may be a JSON one.
        let keys =
            columns.isEmpty
            ? try undeclaredJSONKeys(map, catalog: catalog, file: file, readData: readJSONData) : (keys: [], hints: [:])
        guard columns.isEmpty && tables.isEmpty && keys.keys.isEmpty else {
            // What each looks like, to help the DPO decide: the new tables' columns too.
            let unlistedColumns = catalog.baseTables.union(reaching.keys).filter(unlisted).flatMap { name in
                (catalog.columns[name] ?? []).map { "\(name).\($0)" }
            }
            throw DataMapError.unclassified(
                file: file, columns: columns.sorted(), tables: tables.sorted(), keys: keys.keys,
                hints: try hints((columns + unlistedColumns).sorted(), catalog: catalog).merging(keys.hints) { a, _ in a
                })
        }
    }

    /// The public schema's columns with their types, and its single-column foreign keys.
    struct Catalog {
        /// Ordinary and partitioned tables (not views, not the partitions of a partitioned
        /// table, which its parent's entry covers).
        var baseTables: Set<String> = []
        var columns: [String: Set<String>] = [:]
        var types: [String: (type: String, nullable: Bool)] = [:]
        /// child table → column → parent table.
        var references: [String: [String: String]] = [:]
    }

    private func readCatalog() throws -> Catalog {
        var catalog = Catalog()
        // The catalog itself, not `information_schema.columns`: the same columns and, for the
        // text and JSON types the checks compare, the same type names, in a fifth of the time
        // `dsr process` and `data-map check` paid at start-up. A domain counts as its base type,
        // as there.
        for row in try db.query(
            """
            SELECT c.relname::text, a.attname::text,
                   format_type(CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END, NULL), NOT a.attnotnull,
                   c.relkind IN ('r', 'p') AND NOT c.relispartition
              FROM pg_catalog.pg_attribute a
              JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
              JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'f', 'p') AND a.attnum > 0 AND NOT a.attisdropped
            """)
        {
            let table = try row.decode(0, as: String.self)
            let column = try row.decode(1, as: String.self)
            if try row.decode(4, as: Bool.self) { catalog.baseTables.insert(table) }
            catalog.columns[table, default: []].insert(column)
            catalog.types["\(table).\(column)"] = (try row.decode(2, as: String.self), try row.decode(3, as: Bool.self))
        }
        for row in try db.query(
            """
            SELECT child.relname::text, a.attname::text, parent.relname::text
              FROM pg_constraint c
              JOIN pg_class child ON child.oid = c.conrelid
              JOIN pg_class parent ON parent.oid = c.confrelid
              JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
             WHERE c.contype = 'f' AND array_length(c.conkey, 1) = 1
               AND child.relnamespace = 'public'::regnamespace AND parent.relnamespace = 'public'::regnamespace
            """)
        {
            catalog.references[try row.decode(0, as: String.self), default: [:]][try row.decode(1, as: String.self)] =
                try row.decode(2, as: String.self)
        }
        return catalog
    }

    /// Erasure strategies must fit their columns, or an erasure would fail half-way.
    private func checkStrategies(
        _ table: DataMap.Table, name: String, types: [String: (type: String, nullable: Bool)], file: String
    ) throws {
        for (column, strategy) in Array(table.erasure.columns) + Array(table.erasure.ifReferenced) {
            guard let info = types["\(name).\(column)"] else { continue }
            if strategy == .null && !info.nullable {
                throw DataMapError.invalid(
                    file: file, table: name, reason: "\(column) is NOT NULL; it cannot be erased with null")
            }
            if strategy == .strip {
                guard info.type == "jsonb" else {
                    throw DataMapError.invalid(
                        file: file, table: name, reason: "\(column) is \(info.type); strip needs a jsonb column")
                }
                continue
            }
            if strategy != .null && !(info.type == "text" || info.type.hasPrefix("character")) {
                throw DataMapError.invalid(
                    file: file, table: name,
                    reason: "\(column) is \(info.type); \(strategy.rawValue) needs a text column (use null)")
            }
        }
    }

    /// Every table whose foreign keys lead to the subject table, with one path each.
    static func reaching(_ subjectTable: String, references: [String: [String: String]]) -> [String: String] {
        var reaching: [String: String] = [:]
        var frontier = [subjectTable]
        while let target = frontier.popLast() {
            for (child, keys) in references where child != subjectTable && reaching[child] == nil {
                if let column = keys.first(where: { $0.value == target })?.key {
                    reaching[child] =
                        target == subjectTable ? "\(child).\(column)" : "\(child).\(column) → \(reaching[target]!)"
                    frontier.append(child)
                }
            }
        }
        return reaching
    }

    /// The `searched` columns that are not the first column of any whole-table index (a partial
    /// index need not hold the subject's rows).
    private func unindexed(_ searched: Set<String>) throws -> [String] {
        var indexed = Set<String>()
        for row in try db.query(
            """
            SELECT t.relname::text || '.' || a.attname::text
              FROM pg_index i
              JOIN pg_class t ON t.oid = i.indrelid
              JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
             WHERE t.relnamespace = 'public'::regnamespace AND i.indpred IS NULL
            """)
        {
            indexed.insert(try row.decode(0, as: String.self))
        }
        return searched.subtracting(indexed).sorted()
    }

    /// `user_id` (a column holding the subject id) or `order_id -> orders.user_id` (foreign keys).
    /// Returns the columns the path selects rows by (`table.column`, each hop in its own table);
    /// none for `<- other.column`, whose rows are found by their primary key.
    private func checkPath(
        _ path: String, from table: String, map: DataMap, file: String, references: [String: [String: String]],
        unenforced: [String], require: (String, String) throws -> Void
    ) throws -> [String] {
        if path.hasPrefix("<-") {
            // `<- other.column`: rows that the subject's rows of a mapped table point at.
            let target = path.dropFirst(2).trimmingCharacters(in: .whitespaces)
            let parts = target.split(separator: ".").map(String.init)
            guard parts.count == 2, let other = map.tables[parts[0]] else {
                throw DataMapError.badPath(
                    file: file, table: table, path: path, reason: "\(target) is not a column of a mapped table")
            }
            try require(parts[0], parts[1])
            guard references[parts[0]]?[parts[1]] == table else {
                throw DataMapError.badPath(
                    file: file, table: table, path: path, reason: "\(target) has no foreign key to \(table)")
            }
            guard !other.reach.contains(where: { $0.hasPrefix("<-") }) else {
                throw DataMapError.badPath(
                    file: file, table: table, path: path,
                    reason: "\(parts[0]) is itself reached backwards; reach it from the subject instead")
            }
            return []
        }
        let hops = path.components(separatedBy: "->").map { $0.trimmingCharacters(in: .whitespaces) }
        var current = table
        var searched: [String] = []
        for (index, hop) in hops.enumerated() {
            let parts = hop.split(separator: ".").map(String.init)
            let (hopTable, column) = parts.count == 2 ? (parts[0], parts[1]) : (current, hop)
            guard hopTable == current else {
                throw DataMapError.badPath(
                    file: file, table: table, path: path, reason: "\(hop) is not a column of \(current)")
            }
            try require(current, column)
            searched.append("\(current).\(column)")
            if index == hops.count - 1 {
                // The last column must hold the subject id: be it, or reference it.
                let isSubject = current == map.subjectTable && column == map.subjectColumn
                let declared = current == table && unenforced.contains(column)
                guard isSubject || declared || references[current]?[column] == map.subjectTable else {
                    throw DataMapError.badPath(
                        file: file, table: table, path: path,
                        reason: "\(current).\(column) does not reference \(map.subjectTable).\(map.subjectColumn)")
                }
            } else {
                let nextTable = hops[index + 1].split(separator: ".").first.map(String.init) ?? ""
                guard let parent = references[current]?[column], parent == nextTable else {
                    throw DataMapError.badPath(
                        file: file, table: table, path: path,
                        reason: "\(current).\(column) has no foreign key to \(nextTable)")
                }
                current = parent
            }
        }
        return searched
    }
}
