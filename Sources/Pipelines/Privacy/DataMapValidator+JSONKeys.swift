import Postgres

extension DataMapValidator {
    /// Keys found in the data of a JSON column whose keys decide its treatment
    /// (`DataMap.Table.keyedJSONColumns`) but declared in neither `json_personal_keys` nor
    /// `json_not_personal_keys`, as `table.column: key`; each with what its values look like.
    /// Values under a personal key are not looked into: the whole value is personal already.
    func undeclaredJSONKeys(_ map: DataMap, catalog: Catalog, file: String) throws -> (
        keys: [String], hints: [String: String]
    ) {
        var found: [String] = []
        var hints: [String: String] = [:]
        for name in map.tables.keys.sorted() {
            let table = map.tables[name]!
            var types: [String: String] = [:]
            for column in catalog.columns[name] ?? [] { types[column] = catalog.types["\(name).\(column)"]?.type }
            for column in Set(table.jsonPersonalKeys.keys).union(table.jsonNotPersonalKeys.keys).sorted() {
                guard let type = types[column] else {
                    throw DataMapError.missingColumn(file: file, table: name, column: column)
                }
                guard type == "jsonb" || type == "json" else {
                    throw DataMapError.invalid(
                        file: file, table: name, reason: "\(column) is \(type); JSON keys need a json or jsonb column")
                }
            }
            for column in table.keyedJSONColumns(types: types) {
                let personal = table.jsonPersonalKeys[column] ?? []
                let declared = Set(personal).union(table.jsonNotPersonalKeys[column] ?? [])
                for key in try keysInData(name, column, personal: personal) where !declared.contains(key) {
                    found.append("\(name).\(column): \(key)")
                    let values = try valuesUnder(key, name, column)
                    if let hint = PersonalDataDetector.hint(column: key, values: values) {
                        hints["\(name).\(column): \(key)"] = hint
                    }
                }
            }
        }
        return (found, hints)
    }

    /// Every object key of the column's documents at any depth, not under a personal key. The
    /// top level of every row is read by `jsonb_object_keys` (fast); only rows with a nested
    /// object or array are walked by `private.samia_json_keys` (migration 0032): a fifth of the
    /// time of walking every row.
    private func keysInData(_ table: String, _ column: String, personal: [String]) throws -> [String] {
        let (t, c) = (SQLIdentifier.quote(table), "t." + SQLIdentifier.quote(column) + "::jsonb")
        return try db.query(
            """
            SELECT DISTINCT k FROM (
              SELECT jsonb_object_keys(\(c)) FROM public.\(t) t WHERE jsonb_typeof(\(c)) = 'object'
              UNION ALL
              SELECT private.samia_json_keys(\(c), $1::text[]) FROM public.\(t) t
               WHERE jsonb_typeof(\(c)) = 'array'
                  OR \(c) @? 'strict $.* ? (@.type() == "object" || @.type() == "array")') x(k)
             ORDER BY 1
            """, [PostgresArray(personal)]
        ).map { try $0.decode(0, as: String.self) }
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
