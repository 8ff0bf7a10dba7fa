import Foundation
import Postgres

/// The RPC rows of the report: every function PostgREST would expose, once per role, with who
/// the matrix says may call it, what the grants say, and whether the role can in fact plan a
/// call to it.
extension ParityAuditor {
    func functionCell(role: AccessMatrix.Role, function f: CatalogSnapshot.Function, prober: ParityProber) throws
        -> ParityReport.Cell
    {
        let declaration = matrix.functions[f.matrixName]
        let declared = declaration?.roles.contains(role.name) == true ? "all" : "none"
        let side = Self.catalogSide(f, databaseRole: role.databaseRole)
        var cell = ParityReport.Cell(
            role: role.name, relation: f.matrixName,
            kind: f.securityDefiner ? "function (SECURITY DEFINER)" : "function",
            command: .execute, declared: declared, columns: nil, catalog: side, probe: nil, verdict: "not-tested",
            reason: "")
        if side.access != "denied" { cell.probe = try prober.probeFunction(role: role, function: f) }
        let catalogVerdict = Self.functionVerdict(declared: declared, side: side, role: role.databaseRole)
        var verdict = catalogVerdict
        if catalogVerdict.0 == "pass", let probe = cell.probe,
            let probed = Self.judge(probe, declared: declared, command: .execute)
        {
            verdict = probed
        }
        if declaration == nil {
            verdict = (
                "fail",
                "undeclared: the matrix does not list \(f.matrixName) under functions; declare who may call it "
                    + "([] for nobody) (\(verdict.0) otherwise: \(verdict.1))"
            )
        }
        (cell.verdict, cell.reason) = verdict
        applyException(to: &cell)
        return cell
    }

    /// The grants against the declaration; a call planned as the role then confirms it.
    static func functionVerdict(declared: String, side: ParityReport.CatalogSide, role: String) -> (String, String) {
        switch (declared, side.access) {
        case ("none", "denied"): return ("pass", "cannot call it, as declared: \(side.reason)")
        case ("none", _): return ("fail", "declared none, but \(side.reason)")
        case (_, "denied"): return ("fail", "declared callable, but \(side.reason)")
        default: return ("pass", "callable, as declared: \(side.reason)")
        }
    }

    /// What the grants alone say: EXECUTE (directly, through a role or PUBLIC) and USAGE on the
    /// schema are both needed to call it.
    static func catalogSide(_ f: CatalogSnapshot.Function, databaseRole: String) -> ParityReport.CatalogSide {
        let grants = "EXECUTE granted to " + (f.grantees.isEmpty ? "nobody" : f.grantees.joined(separator: ", "))
        let definer =
            f.securityDefiner
            ? "; SECURITY DEFINER: runs as \(f.owner)\(f.ownerBypassesRLS ? ", who bypasses RLS" : "")" : ""
        guard f.executableBy.contains(databaseRole) else {
            return .init(
                access: "denied",
                reason: "\(databaseRole) cannot call it (EXECUTE or USAGE on \(f.schema) missing); \(grants)",
                policies: [])
        }
        return .init(access: "unrestricted", reason: "\(databaseRole) may call it: \(grants)\(definer)", policies: [])
    }
}

extension ParityProber {
    /// Plans a call as the role, the way `/rpc/NAME` would reach it: `EXPLAIN` runs the
    /// executor's start-up, which checks EXECUTE, without calling the function. Arguments are
    /// NULLs of the declared types behind an `OFFSET 0`, so the planner cannot fold the call
    /// away (a strict function of constant NULLs) before the check.
    func probeFunction(role: AccessMatrix.Role, function f: CatalogSnapshot.Function) throws
        -> ParityReport.ProbeSide
    {
        guard let uid = identities[role.name] else {
            return .init(outcome: "skipped", message: identityNotes[role.name], sql: "", claims: "")
        }
        let claimText = claims(role, uid)
        if let generic = f.argumentTypes.first(where: { $0.hasPrefix("any") || $0 == "\"any\"" }) {
            return .init(
                outcome: "skipped", message: "a \(generic) argument has no type to call it with; the grants decide",
                sql: "", claims: claimText)
        }
        let callee = "\(SQLIdentifier.quote(f.schema)).\(SQLIdentifier.quote(f.name))"
        let names = f.argumentTypes.indices.map { "a\($0 + 1)" }
        var arguments = names.map { "x.\($0)" }
        if f.variadic, let last = arguments.indices.last { arguments[last] = "VARIADIC " + arguments[last] }
        var sql = "EXPLAIN (COSTS OFF) SELECT \(callee)(\(arguments.joined(separator: ", ")))"
        if !names.isEmpty {
            let nulls = zip(names, f.argumentTypes).map { "NULL::\($1) AS \($0)" }.joined(separator: ", ")
            sql += " FROM (SELECT \(nulls) OFFSET 0) x"
        }
        try bindUID(uid)
        do {
            _ = try asRole(role, uid: uid) { try db.query(sql) }
            return .init(
                outcome: "executable", message: "a call planned as \(role.databaseRole)", sql: sql, claims: claimText)
        } catch let e as PostgresError {
            return failed(e, expected: 0, sql: sql, claims: claimText)
        }
    }
}
