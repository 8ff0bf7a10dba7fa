import Postgres

/// The matrix checked against the schema before any probe: every table it declares (under
/// `tables` or `denied`) exists, every column a grant names is a column of its table, and
/// every scope a grant uses is a predicate PostgreSQL can plan on that table. A scope naming a
/// column that does not exist used to leave its cell silently untested; now it is refused (65)
/// with the file, the table's line, the cell and PostgreSQL's reason.
struct MatrixSchemaCheck {
    let db: Connection
    let matrix: AccessMatrix
    let snapshot: CatalogSnapshot
    /// The schemas audited: the matrix's, and `storage` where the database has it.
    let schemas: [String]

    func run() throws {
        let audited = self.schemas
        let schemas = audited.joined(separator: ", ")
        // Declarations for Supabase's storage tables wait for a database that has the schema.
        for name in (Array(matrix.tables.keys) + Array(matrix.denied.keys)).sorted()
        where snapshot.relation(name) == nil && (!name.hasPrefix("storage.") || audited.contains("storage")) {
            let section = matrix.tables[name] == nil ? "denied" : "tables"
            throw ParityError.schema(
                reason:
                    "\(matrix.file): \(section).\(name)\(line(name)) names no table or view in the schemas \(schemas)")
        }
        let exposed = Set(snapshot.exposedFunctions(schemas: matrix.schemas).map(\.matrixName))
        for (name, grant) in matrix.functions.sorted(by: { $0.key < $1.key }) where !exposed.contains(name) {
            throw ParityError.schema(
                reason: "\(matrix.file): functions.\(name)\(grant.line.map { " (line \($0 + 1))" } ?? "") names no "
                    + "function the API exposes in the schemas \(schemas) (exposed: "
                    + "\(exposed.sorted().joined(separator: ", ")); write it as name(argument types)")
        }
        for (name, table) in matrix.tables.sorted(by: { $0.key < $1.key }) {
            guard let relation = snapshot.relation(name) else { continue }
            for (role, grants) in table.grants.sorted(by: { $0.key < $1.key }) {
                for (command, grant) in grants.sorted(by: { $0.key < $1.key }) {
                    try check(grant, on: relation, at: "tables.\(name).\(role).\(command.rawValue)")
                }
            }
        }
    }

    private func check(_ grant: AccessMatrix.Grant, on relation: CatalogSnapshot.Relation, at cell: String) throws {
        let at = "\(matrix.file): \(cell)\(line(relation.qualified))"
        let unknown = (grant.columns ?? []).filter { !relation.columns.contains($0) }
        if !unknown.isEmpty {
            throw ParityError.schema(
                reason: "\(at): columns \(unknown.joined(separator: ", ")) are not columns of \(relation.qualified)")
        }
        try plan(grant.scope, on: relation, at: at)
    }

    private func line(_ table: String) -> String {
        matrix.tables[table]?.line.map { " (line \($0 + 1))" } ?? ""
    }

    /// Plans `SELECT 1 FROM table t WHERE scope` (`:uid` as a null uuid): a column, table
    /// or function the predicate names that does not exist fails here, not in a probe.
    private func plan(_ scope: String, on relation: CatalogSnapshot.Relation, at: String) throws {
        guard !AccessMatrix.builtInScopes.contains(scope),
            let predicate = matrix.predicate(scope: scope, table: relation.qualified)
        else { return }
        let sql =
            "EXPLAIN SELECT 1 FROM \(SQLIdentifier.quote(relation.schema)).\(SQLIdentifier.quote(relation.name)) t "
            + "WHERE (\(predicate.replacingOccurrences(of: ":uid", with: "NULL::uuid")))"
        let failure: PostgresError?
        do {
            _ = try db.query(sql)
            failure = nil
        } catch {
            guard error.code == .server else { throw error }
            failure = error
        }
        if let failure {
            throw ParityError.schema(
                reason: "\(at): scope \"\(scope)\" does not hold on \(relation.qualified): \(failure.message)")
        }
    }
}
