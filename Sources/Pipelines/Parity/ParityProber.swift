import Foundation
import Postgres

/// Asks the database what a role can actually do, the way PostgREST runs a request: inside a
/// transaction, a savepoint, `set_config('role', ..., true)` and `request.jwt.claims`, the
/// statement, then `ROLLBACK TO SAVEPOINT`. The rows the probe sees are compared in SQL with
/// the rows the declared scope should show, listed first by this connection's own role,
/// which must bypass RLS; the whole probe phase is one REPEATABLE READ transaction that
/// ends in ROLLBACK, so both sides see the same snapshot and nothing is kept.
public final class ParityProber {
    let db: Connection
    let matrix: AccessMatrix
    let snapshot: CatalogSnapshot
    /// Role → probe identity (`sub`), nil for roles without one (anon).
    public private(set) var identities: [String: String?] = [:]
    public private(set) var identityNotes: [String: String] = [:]
    public internal(set) var sideEffects: [String] = []
    let writes: Bool
    /// Per relation, the columns synthetic rows may change (`SyntheticRows.columns`).
    var syntheticColumns: [Int64: [SyntheticRows.Column]] = [:]
    /// Role → the claims its probes carry (`buildClaims`); roles without an identity get
    /// `role` alone, as the anon key does.
    var claimsByRole: [String: String] = [:]
    /// Every reference listed so far (relation, scope, identity when the scope reads it): its
    /// generation in the expected table and how many of its rows are inside the scope.
    var references: [String: (generation: Int, count: Int64)] = [:]
    /// The generation the probes now read from the expected table.
    var generation = 0
    /// Per relation, how many rows its shared sample holds (`sharedSample`).
    var sampleCounts: [Int64: Int64] = [:]
    /// Per referenced key (`table.column`), what it holds (`SyntheticRows.Target`).
    var syntheticTargets: [String: SyntheticRows.Target] = [:]
    /// Rows sampled per side (inside and outside the declared scope) per probe; 0 for all rows.
    let sampleRows: Int

    public init(db: Connection, matrix: AccessMatrix, snapshot: CatalogSnapshot, writes: Bool, sampleRows: Int) {
        self.sampleRows = sampleRows
        self.db = db
        self.matrix = matrix
        self.snapshot = snapshot
        self.writes = writes
    }

    static let expectedTable = "samia_parity_expected"

    /// Rows per side a write probe writes: every write makes a row version, runs the policies
    /// and holds the row's lock until its savepoint is rolled back, so writes take at most 50
    /// of the sampled rows, also with `--sample-rows 0` (every row compared on reads): writing
    /// every row of a table would lock it against the API's own writers.
    var writeSample: Int? { min(sampleRows == 0 ? 50 : sampleRows, 50) }

    /// Opens the probe transaction and picks one identity per role. Fails when this connection
    /// cannot see every row: the reference counts would be wrong.
    public func begin() throws {
        let bypass =
            try db.scalar(
                "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user", as: Bool.self) ?? false
        guard bypass else {
            throw ParityError.schema(
                reason:
                    "the reference counts need a role that bypasses RLS (superuser or BYPASSRLS); connect as such a role"
            )
        }
        try db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        _ = try db.query(
            "SELECT set_config('statement_timeout', $1, true)", [String(matrix.statementTimeoutMilliseconds)])
        try db.execute("SET LOCAL lock_timeout = 1000")
        try db.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
        if writes {
            // Triggers and foreign-key checks off for the whole probe transaction (superuser
            // only), so a write probe measures RLS alone and fires nothing; without it,
            // constraint errors are classified instead.
            try? db.savepoint("samia_replica") { try $0.execute("SET LOCAL session_replication_role = replica") }
        }
        // One table for every reference of the report, each under its own generation: clearing
        // it (TRUNCATE, 13 ms a time in a transaction of thousands of savepoints) cost more
        // than the references themselves.
        try db.execute("CREATE TEMP TABLE \(Self.expectedTable) (g integer, k text, in_scope boolean) ON COMMIT DROP")
        try db.execute("CREATE INDEX ON \(Self.expectedTable) (g, in_scope, k)")
        try db.execute("CREATE TEMP TABLE \(Self.sampleTable) (rel bigint, ord bigint, k text) ON COMMIT DROP")
        try db.execute("CREATE INDEX ON \(Self.sampleTable) (rel, ord)")
        try db.execute("GRANT SELECT ON \(Self.expectedTable) TO PUBLIC")
        for role in matrix.roles {
            guard let app = role.appRole else {
                identities[role.name] = .some(nil)
                identityNotes[role.name] = "no sub (claims role \(role.databaseRole))"
                continue
            }
            let sql = matrix.identityQuery.replacingOccurrences(of: ":app_role", with: "$1::text")
            let id = try db.savepoint("samia_identity") { try $0.scalar(sql, [app], as: String.self) }
            if let id {
                identities[role.name] = .some(id)
                identityNotes[role.name] = "sub \(id), database role \(role.databaseRole)"
                try buildClaims(role, uid: id)
            } else {
                identityNotes[role.name] = "no profile with role \(app): probes not run"
            }
        }
    }

    /// The claims PostgREST would put in `request.jwt.claims` for a Supabase session: `sub`,
    /// `role`, `aud`, and, where `auth.users` exists, the user's email, `app_metadata` and
    /// `user_metadata` as stored there, so policies reading `auth.jwt()` see what they would.
    func buildClaims(_ role: AccessMatrix.Role, uid: String) throws {
        let users = try db.scalar("SELECT to_regclass('auth.users') IS NOT NULL", as: Bool.self) ?? false
        let user =
            users
            ? "LEFT JOIN auth.users u ON u.id = $1::uuid"
            : "LEFT JOIN (SELECT NULL::uuid AS id, NULL::text AS email, NULL::jsonb AS raw_app_meta_data, NULL::jsonb AS raw_user_meta_data) u ON false"
        let row = try db.savepoint("samia_claims") { db in
            try db.query(
                """
                SELECT jsonb_strip_nulls(jsonb_build_object(
                         'sub', $1::text, 'role', $2::text, 'aud', $2::text, 'email', u.email, 'is_anonymous', false,
                         'app_metadata', coalesce(u.raw_app_meta_data, '{}'::jsonb),
                         'user_metadata', coalesce(u.raw_user_meta_data, '{}'::jsonb)))::text AS claims,
                       u.id IS NOT NULL AS found
                  FROM (SELECT 1) one \(user)
                """, [uid, role.databaseRole])[0]
        }
        claimsByRole[role.name] = try row.decode("claims")
        if users, try !row.decode("found", as: Bool.self) {
            identityNotes[role.name, default: ""] += "; no auth.users row: app_metadata and user_metadata empty"
        }
    }

    public func end() {
        try? db.execute("ROLLBACK")
    }

    func claims(_ role: AccessMatrix.Role, _ uid: String?) -> String {
        if let built = claimsByRole[role.name] { return built }
        var object: [String: String] = ["role": role.databaseRole]
        if let uid { object["sub"] = uid }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try! encoder.encode(object), as: UTF8.self)
    }

    /// The row identity the two sides compare: the primary key, or a hash of the whole row.
    func identity(_ r: CatalogSnapshot.Relation) -> String {
        if r.primaryKey.count == 1 { return "t.\(SQLIdentifier.quote(r.primaryKey[0]))::text" }
        if r.primaryKey.count > 1 {
            return "ROW(" + r.primaryKey.map { "t.\(SQLIdentifier.quote($0))" }.joined(separator: ", ") + ")::text"
        }
        return "md5(t::text)"
    }

    func qualified(_ r: CatalogSnapshot.Relation) -> String {
        "\(SQLIdentifier.quote(r.schema)).\(SQLIdentifier.quote(r.name))"
    }

    /// The scope's condition, with `:uid` read from the setting `bindUID` sets: the probing
    /// identity reaches SQL as a bound value, never as text.
    func predicate(_ scope: String, _ r: CatalogSnapshot.Relation) -> String? {
        guard let p = matrix.predicate(scope: scope, table: r.qualified) else { return nil }
        return p.replacingOccurrences(of: ":uid", with: "(SELECT nullif(current_setting('samia.probe_uid'), '')::uuid)")
    }

    /// Binds the probing identity (empty for none) for the rest of the probe transaction.
    func bindUID(_ uid: String?) throws {
        _ = try db.query("SELECT set_config('samia.probe_uid', $1, true)", [uid ?? ""])
    }

    /// Runs `body` as the role, inside a savepoint that is always rolled back.
    /// One round trip in, one out: the savepoint and the settings go as one simple query
    /// (quoted literals), since a full report runs thousands of probes.
    func asRole<T>(_ role: AccessMatrix.Role, uid: String?, _ body: () throws -> T) throws -> T {
        try db.execute(
            "SAVEPOINT samia_probe; SELECT set_config('role', \(SQLIdentifier.literal(role.databaseRole)), true), "
                + "set_config('request.jwt.claims', \(SQLIdentifier.literal(claims(role, uid))), true)")
        defer { try? db.execute("ROLLBACK TO SAVEPOINT samia_probe") }
        return try body()
    }

    /// One cell's probe; nil when the command is not probed in this run.
    public func probe(
        role: AccessMatrix.Role, relation r: CatalogSnapshot.Relation, command: AccessMatrix.Command, declared: String,
        columns: [String]? = nil
    ) throws -> ParityReport.ProbeSide? {
        guard let uid = identities[role.name] else {
            return .init(
                outcome: "skipped", message: identityNotes[role.name], sql: "", claims: "")
        }
        let claimText = claims(role, uid)
        if command != .select && !writes { return nil }
        if command != .select && r.kind != "r" && r.kind != "p" {
            return .init(outcome: "skipped", message: "write probes run on tables only", sql: "", claims: claimText)
        }
        guard let scopeSQL = predicate(declared, r) else {
            return .init(outcome: "skipped", message: "scope \(declared) has no predicate", sql: "", claims: claimText)
        }
        try bindUID(uid)
        let expected: Int64
        switch try reference(r, scopeSQL: scopeSQL, uid: uid, claims: claimText) {
        case .failed(let side): return side
        case .rows(let count): expected = count
        }
        let cell = Cell(role: role, relation: r, uid: uid, expected: expected, claims: claimText)
        switch command {
        case .select: return try probeRead(cell)
        case .insert: return try probeInsert(cell, scopeSQL: scopeSQL)
        case .update: return try probeUpdate(cell, scopeSQL: scopeSQL, columns: columns)
        case .delete: return try probeWrite(cell, command: command)
        case .execute: return nil
        }
    }

    /// One probed cell: who, on what, and how many sampled rows the declared scope holds.
    struct Cell {
        let role: AccessMatrix.Role
        let relation: CatalogSnapshot.Relation
        /// The probing identity's id; nil for a role without one (anon).
        let uid: String?
        let expected: Int64
        let claims: String

        init(role: AccessMatrix.Role, relation: CatalogSnapshot.Relation, uid: String?, expected: Int64, claims: String)
        {
            (self.role, self.relation, self.uid, self.expected, self.claims) = (role, relation, uid, expected, claims)
        }

        init(_ cell: Cell, expected: Int64) {
            self.init(role: cell.role, relation: cell.relation, uid: cell.uid, expected: expected, claims: cell.claims)
        }
    }

    enum Reference {
        case rows(Int64)
        case failed(ParityReport.ProbeSide)
    }

    /// The reference side, listed by the bypassing connection: a sample of the rows inside the
    /// declared scope and of those outside it, into the expected table. Returns how many are
    /// inside.
    private func reference(_ r: CatalogSnapshot.Relation, scopeSQL: String, uid: String?, claims: String) throws
        -> Reference
    {
        let (table, id) = (qualified(r), identity(r))
        // Each side is a sample of `sampleRows` rows (bound), or all of them with 0.
        let limit = sampleRows > 0 ? " ORDER BY md5(\(id)) LIMIT $1" : ""
        let parameters: [any PostgresEncodable] = sampleRows > 0 ? [sampleRows] : []
        // Cells that share a reference (the same relation and scope, and the same identity when
        // the scope reads it) list it once for the whole report.
        let key = "\(r.oid)|\(scopeSQL)|" + (scopeSQL.contains("samia.probe_uid") ? uid ?? "" : "")
        if let known = references[key] {
            generation = known.generation
            return .rows(known.count)
        }
        let next = (references.values.map(\.generation).max() ?? 0) + 1
        // Tables with a one-column key read both sides from their shared sample where it holds
        // enough rows (`referenceFromSample`); the others, and every row, ask the table.
        let fromSample = sampleRows > 0 && r.primaryKey.count == 1 && r.primaryKeyType != nil
        let statements = [
            "INSERT INTO \(Self.expectedTable) SELECT \(next), k, true FROM (SELECT \(id) AS k FROM \(table) t WHERE \(scopeSQL)\(limit)) a",
            """
            INSERT INTO \(Self.expectedTable) SELECT \(next), k, false FROM (SELECT \(id) AS k FROM \(table) t
             WHERE (\(scopeSQL)) IS NOT TRUE\(limit)) b
            """,
        ]
        let reference = statements.joined(separator: ";\n")
        do {
            let count = try db.savepoint("samia_reference") { db -> Int64 in
                if fromSample { return try referenceFromSample(r, scopeSQL: scopeSQL, generation: next, db: db) }
                for statement in statements { try db.query(statement, parameters) }
                return try db.scalar(
                    "SELECT count(*) FROM \(Self.expectedTable) WHERE g = \(next) AND in_scope", as: Int64.self) ?? 0
            }
            references[key] = (next, count)
            generation = next
            return .rows(count)
        } catch let e as PostgresError {
            return .failed(
                .init(
                    outcome: "error", sqlState: e.sqlState, message: "reference query failed: \(e.message)",
                    sql: reference, claims: claims))
        }
    }

    /// The conditions that pick the sampled rows inside and outside the scope. Rows are found
    /// through the primary key's index where there is one, so a probe costs the sample, not the
    /// table, even when policies call functions per row.
    func sampled(_ r: CatalogSnapshot.Relation, limit: Int? = nil) -> (inside: String, outside: String) {
        let match: String
        if r.primaryKey.count == 1, let type = r.primaryKeyType {
            match =
                "t.\(SQLIdentifier.quote(r.primaryKey[0])) = ANY (ARRAY(SELECT s.k::\(type) FROM \(Self.expectedTable) s WHERE %@))"
        } else {
            match = "\(identity(r)) IN (SELECT s.k FROM \(Self.expectedTable) s WHERE %@)"
        }
        let cap = limit.map { " ORDER BY s.k LIMIT \($0)" } ?? ""
        let g = "s.g = \(generation) AND "
        return (String(format: match, g + "s.in_scope" + cap), String(format: match, g + "NOT s.in_scope" + cap))
    }

    /// Reads as the role: how many sampled rows inside the scope it reaches, how many outside.
    private func probeRead(_ cell: Cell) throws -> ParityReport.ProbeSide {
        let (table, (inside, outside)) = (qualified(cell.relation), sampled(cell.relation))
        // Every row (`--sample-rows 0`): one pass over what the role sees, matched to the
        // reference by a join, instead of two lookups of every key.
        let sql =
            sampleRows == 0
            ? """
            SELECT count(*) FILTER (WHERE s.in_scope) AS reached, count(*) FILTER (WHERE NOT s.in_scope) AS excess
              FROM \(table) t JOIN \(Self.expectedTable) s ON s.g = \(generation) AND s.k = \(identity(cell.relation))
            """
            : """
            SELECT (SELECT count(*) FROM \(table) t WHERE \(inside)) AS reached,
                   (SELECT count(*) FROM \(table) t WHERE \(outside)) AS excess
            """
        do {
            let row = try asRole(cell.role, uid: cell.uid) { try db.query(sql) }.first!
            let reached: Int64 = try row.decode("reached")
            let excess: Int64 = try row.decode("excess")
            return .init(
                outcome: "rows", visible: reached + excess, expected: cell.expected, excess: excess,
                missing: max(0, cell.expected - reached), sql: sql, claims: cell.claims)
        } catch let e as PostgresError {
            return failed(e, expected: cell.expected, sql: sql, claims: cell.claims)
        }
    }

    /// Writes in two statements, as an API request filtered by key would: the sampled rows of
    /// the declared scope (all must be reachable), then the others (none may be). A WITH CHECK
    /// refusal on the second is a refusal, not an error.
    func probeWrite(_ cell: Cell, command: AccessMatrix.Command) throws -> ParityReport.ProbeSide {
        let r = cell.relation
        let (table, (inside, outside)) = (qualified(r), sampled(r, limit: writeSample))
        let cell = writeSample.map { Cell(cell, expected: min(cell.expected, Int64($0))) } ?? cell
        let verb: String
        if command == .update {
            guard let column = r.columns.first(where: { !r.primaryKey.contains($0) }) ?? r.columns.first else {
                return .init(outcome: "skipped", message: "no column to update", sql: "", claims: cell.claims)
            }
            let c = SQLIdentifier.quote(column)
            verb = "UPDATE \(table) t SET \(c) = t.\(c)"
        } else {
            verb = "DELETE FROM \(table) t"
        }
        let (insideSQL, outsideSQL) = ("\(verb) WHERE \(inside)", "\(verb) WHERE \(outside)")
        let sql = insideSQL + ";\n" + outsideSQL
        var (reached, excess, changed): (Int64, Int64, Int64) = (0, 0, 0)
        var note: [String] = []
        for (part, statement) in [("inside", insideSQL), ("outside", outsideSQL)]
        where part == "outside" || cell.expected > 0 {
            do {
                var rows = Int64(0)
                do {
                    rows = Int64(try asRole(cell.role, uid: cell.uid) { try db.query(statement) }.affectedRows)
                } catch {
                    // A sampled row changed after the probe's snapshot (the API wrote it):
                    // probe the rows one by one and leave those out.
                    guard (error as? PostgresError)?.sqlState == "40001" else { throw error }
                    let byRow = try probeRowByRow(cell, verb: verb, inScope: part == "inside")
                    (rows, changed) = (byRow.reached, changed + byRow.changed)
                }
                if part == "inside" { reached = rows } else { excess = rows }
            } catch let e as PostgresError {
                if e.sqlState != "42501" { return failed(e, expected: cell.expected, sql: sql, claims: cell.claims) }
                note.append("\(part) the scope: refused (\(classify(e)))")
            }
        }
        if changed > 0 { note.append("\(changed) sampled row(s) changed by a concurrent writer were left out") }
        if reached == 0 && excess == 0 && cell.expected > 0 && note.count == 2 {
            return .init(
                outcome: "refused", expected: cell.expected, sqlState: "42501", message: note.joined(separator: "; "),
                sql: sql, claims: cell.claims)
        }
        return .init(
            outcome: "rows", visible: reached + excess, expected: cell.expected, excess: excess,
            missing: max(0, cell.expected - changed - reached),
            message: note.isEmpty ? nil : note.joined(separator: "; "),
            sql: sql, claims: cell.claims)
    }

    /// The key condition for one row, `$1` its key as text.
    func keyMatch(_ r: CatalogSnapshot.Relation, parameter: Int) -> String {
        if r.primaryKey.count == 1, let type = r.primaryKeyType {
            return "t.\(SQLIdentifier.quote(r.primaryKey[0])) = $\(parameter)::\(type)"
        }
        return "\(identity(r)) = $\(parameter)"
    }

    /// `verb` on each sampled row of one side, one statement per row: how many it reached, and
    /// how many a concurrent writer had changed since the snapshot (40001, left out). A refusal
    /// (42501) of one row is the refusal of the side, as for the statement over all of them.
    func probeRowByRow(_ cell: Cell, verb: String, inScope: Bool) throws -> (reached: Int64, changed: Int64) {
        let keys: [String] = try db.query(
            "SELECT k FROM \(Self.expectedTable) WHERE g = \(generation) AND in_scope = $1 ORDER BY k"
                + (writeSample.map { " LIMIT \($0)" } ?? ""),
            [inScope]
        ).map { try $0.decode("k") }
        var (reached, changed): (Int64, Int64) = (0, 0)
        let statement = "\(verb) WHERE \(keyMatch(cell.relation, parameter: 1))"
        for key in keys {
            do {
                reached += Int64(try asRole(cell.role, uid: cell.uid) { try db.query(statement, [key]) }.affectedRows)
            } catch {
                guard (error as? PostgresError)?.sqlState == "40001" else { throw error }
                changed += 1
            }
        }
        return (reached, changed)
    }

    func failed(_ e: PostgresError, expected: Int64, sql: String, claims: String) -> ParityReport.ProbeSide {
        .init(
            outcome: e.sqlState == "57014" ? "timeout" : (e.sqlState == "42501" ? "refused" : "error"),
            expected: expected, sqlState: e.sqlState, message: classify(e), sql: sql, claims: claims)
    }

    /// Tells a missing grant from a WITH CHECK failure.
    func classify(_ e: PostgresError) -> String {
        let m = e.message
        if m.contains("row-level security") { return "WITH CHECK / row-level security: \(m)" }
        if m.contains("permission denied") { return "missing grant: \(m)" }
        if e.sqlState == "57014" { return "statement timeout: \(m)" }
        return m
    }
}
