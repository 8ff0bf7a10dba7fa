import Postgres

extension DataMapValidator {
    /// Key paths found in a JSON column whose keys decide its treatment
    /// (`DataMap.Table.keyedJSONColumns`) whose last key is declared in neither
    /// `json_personal_keys` nor `json_not_personal_keys`, as `table.column: path`; each with
    /// what its values look like. Paths under a personal key are passed over: the whole value is
    /// personal already. `readData`: read the documents even where the registry could answer.
    func undeclaredJSONKeys(_ map: DataMap, catalog: Catalog, file: String, readData: Bool) throws -> (
        keys: [String], hints: [String: String]
    ) {
        var found: [String] = []
        var hints: [String: String] = [:]
        for name in map.tables.keys.sorted() {
            let table = map.tables[name]!
            var types: [String: String] = [:]
            for column in catalog.columns[name] ?? [] { types[column] = catalog.types["\(name).\(column)"]?.type }
            try checkKeyColumns(table, types: types, file: file)
            for column in table.keyedJSONColumns(types: types) {
                let personal = Set(table.jsonPersonalKeys[column] ?? [])
                let declared = personal.union(table.jsonNotPersonalKeys[column] ?? [])
                for path in try keyPaths(name, column, readData: readData) {
                    let keys = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
                    guard !keys.dropLast().contains(where: personal.contains), let key = keys.last,
                        !declared.contains(key)
                    else { continue }
                    found.append("\(name).\(column): \(path)")
                    if let hint = PersonalDataDetector.hint(column: key, values: try valuesUnder(key, name, column)) {
                        hints["\(name).\(column): \(path)"] = hint
                    }
                }
            }
        }
        return (found, hints)
    }

    /// The columns named by `json_personal_keys` and `json_not_personal_keys` exist and hold JSON.
    private func checkKeyColumns(_ table: DataMap.Table, types: [String: String], file: String) throws {
        for column in Set(table.jsonPersonalKeys.keys).union(table.jsonNotPersonalKeys.keys).sorted() {
            guard let type = types[column] else {
                throw DataMapError.missingColumn(file: file, table: table.name, column: column)
            }
            guard type == "jsonb" || type == "json" else {
                throw DataMapError.invalid(
                    file: file, table: table.name, reason: "\(column) is \(type); JSON keys need a json or jsonb column"
                )
            }
        }
    }

    /// Every key path of the column's documents (`data.object.tax_id`): from the registry the
    /// column's triggers fill as rows are written (migration 0032) when both are in force and
    /// `readData` is false; otherwise read from the data itself.
    private func keyPaths(_ table: String, _ column: String, readData: Bool) throws -> [String] {
        let tracked =
            try db.scalar(
                """
                SELECT count(*) = 2 FROM pg_trigger
                 WHERE tgrelid = to_regclass('public.' || quote_ident($1)) AND tgenabled <> 'D'
                   AND tgname IN ('samia_json_keys_' || $2, 'samia_json_keys_' || $2 || '_u')
                """, [table, column], as: Bool.self) == true
        let sql =
            !readData && tracked
            ? "SELECT path FROM private.samia_json_key_paths WHERE table_name = $1 AND column_name = $2 ORDER BY 1"
            : "SELECT p FROM private.samia_scan_json_paths(('public.' || quote_ident($1))::regclass, $2) p ORDER BY 1"
        return try db.query(sql, [table, column]).map { try $0.decode(0, as: String.self) }
    }

    /// Up to 20 values found under `key`, as text: what the detector looks at.
    private func valuesUnder(_ key: String, _ table: String, _ column: String) throws -> [String] {
        let (t, c) = (SQLIdentifier.quote(table), "t." + SQLIdentifier.quote(column) + "::jsonb")
        return try db.query(
            """
            SELECT o -> $1 #>> '{}' FROM public.\(t) t, jsonb_path_query(\(c), 'strict $.** ? (@.type() == "object")') o
             WHERE o ? $1 AND jsonb_typeof(o -> $1) IN ('string', 'number') LIMIT 20
            """, [key]
        ).map { try $0.decode(0, as: String.self) }
    }
}
