import Foundation
import Postgres

/// Builds the report: for every role × relation × command, the declaration, the catalog's
/// answer and the probe's, combined into one verdict with its reason; then the lints, the
/// exception register, and the diff against the previous report.
public struct ParityAuditor {
    public let matrix: AccessMatrix
    public let probeWrites: Bool
    public let today: String
    public let sampleRows: Int

    public init(matrix: AccessMatrix, probeWrites: Bool, today: String, sampleRows: Int) {
        self.sampleRows = sampleRows
        self.matrix = matrix
        self.probeWrites = probeWrites
        self.today = today
    }

    public func audit(_ db: Connection, header: ParityReport.Header) throws -> ParityReport {
        let databaseRoles = Array(Set(matrix.roles.map(\.databaseRole))).sorted()
        let schemas = try auditedSchemas(db)
        let snapshot = try CatalogSnapshot.read(db, schemas: schemas, databaseRoles: databaseRoles)
        try MatrixSchemaCheck(db: db, matrix: matrix, snapshot: snapshot, schemas: schemas).run()
        let functions = snapshot.exposedFunctions(schemas: matrix.schemas)
        for e in matrix.exceptions
        where snapshot.relation(e.table) == nil && !functions.contains(where: { $0.matrixName == e.table }) {
            throw ParityError.schema(reason: "an exception names \(e.table), which is not in the exposed schemas")
        }
        var report = ParityReport(header: header, cells: [], findings: [], sideEffects: [], changes: [])
        report.header.schemas = schemas
        report.header.databaseVersion = snapshot.serverVersion
        report.header.catalogFingerprint = snapshot.fingerprint

        let prober = ParityProber(
            db: db, matrix: matrix, snapshot: snapshot, writes: probeWrites, sampleRows: sampleRows)
        try prober.begin()
        defer { prober.end() }
        for relation in snapshot.relations {
            for role in matrix.roles {
                for command in AccessMatrix.Command.tableCommands {
                    report.cells.append(
                        try cell(role: role, relation: relation, command: command, snapshot: snapshot, prober: prober))
                }
            }
        }
        for function in functions {
            for role in matrix.roles {
                report.cells.append(try functionCell(role: role, function: function, prober: prober))
            }
        }
        report.header.identities = prober.identityNotes
        report.sideEffects = prober.sideEffects
        report.findings = accepting(CatalogLints.run(snapshot, apiRoles: databaseRoles, exposedSchemas: matrix.schemas))
        for e in matrix.exceptions where e.expires < today {
            report.findings.insert(
                .init(
                    severity: "high", code: "exception_expired", relation: e.table,
                    message:
                        "the exception for \(e.role) × \(e.table) × \(e.command.rawValue) expired on \(e.expires) (owner \(e.owner))",
                    evidence: [e.justification, "approved by \(e.approvedBy)"]), at: 0)
        }
        return report
    }

    /// The schemas whose tables get cells: the matrix's, and Supabase's `storage` wherever it
    /// exists, since the Storage API reads and writes `storage.objects` as the caller's role
    /// under RLS, like PostgREST. Its functions are not RPC: only the matrix's schemas give
    /// function rows.
    func auditedSchemas(_ db: Connection) throws -> [String] {
        let storage = try db.scalar("SELECT to_regnamespace('storage') IS NOT NULL", as: Bool.self) ?? false
        return matrix.schemas + (storage && !matrix.schemas.contains("storage") ? ["storage"] : [])
    }

    /// The lints' findings with the register's acceptances applied: an unexpired entry naming
    /// a finding's code and relation accepts it; an expired one is a high finding of its own.
    func accepting(_ findings: [ParityReport.Finding]) -> [ParityReport.Finding] {
        var out = findings
        for i in out.indices {
            guard
                let e = matrix.acceptedFindings.first(where: {
                    $0.code == out[i].code && $0.relation == out[i].relation
                })
            else { continue }
            if e.expires < today {
                out.append(
                    .init(
                        severity: "high", code: "exception_expired", relation: e.relation,
                        message: "the acceptance of \(e.code) expired on \(e.expires) (owner \(e.owner))",
                        evidence: [e.justification, "approved by \(e.approvedBy)"]))
            } else {
                out[i].accepted = "until \(e.expires) by \(e.approvedBy) (owner \(e.owner)): \(e.justification)"
            }
        }
        return out
    }

    func cell(
        role: AccessMatrix.Role, relation: CatalogSnapshot.Relation, command: AccessMatrix.Command,
        snapshot: CatalogSnapshot, prober: ParityProber
    ) throws -> ParityReport.Cell {
        let grant = matrix.grant(role: role.name, table: relation.qualified, command: command)
        let side = CatalogAnalysis.side(
            relation: relation, command: command, databaseRole: role.databaseRole, snapshot: snapshot)
        var cell = ParityReport.Cell(
            role: role.name, relation: relation.qualified, kind: relation.kindName, command: command,
            declared: grant.scope, columns: grant.columns, catalog: side, probe: nil, verdict: "not-tested", reason: "")
        let catalogVerdict = CatalogAnalysis.verdict(declared: grant.scope, side: side)
        // Probe whenever the catalog lets the command through at all: even a conclusive
        // catalog answer is then confirmed by behaviour.
        if side.access != "denied" {
            cell.probe = try prober.probe(
                role: role, relation: relation, command: command, declared: grant.scope, columns: grant.columns)
        }
        var verdict: (String, String)
        if let catalogVerdict, catalogVerdict.0 == "fail" {
            verdict = catalogVerdict
        } else if let probe = cell.probe, let probed = Self.judge(probe, declared: grant.scope, command: command) {
            verdict = probed
        } else if let catalogVerdict {
            verdict = catalogVerdict
        } else {
            verdict = (
                "not-tested",
                command == .select || probeWrites
                    ? "rows decided by policies and the probe could not tell: "
                        + (cell.probe.map { $0.message ?? ($0.inside.map { "inside the scope: \($0)" } ?? $0.outcome) }
                            ?? "no probe")
                    : "rows decided by policies; writes not probed (--reads-only)"
            )
        }
        if verdict.0 == "pass", let columns = grant.columns, command != .delete,
            let allowed = snapshot.access[role.databaseRole]?[relation.oid]?.columns[command], side.access != "denied"
        {
            let extra = allowed.filter { !columns.contains($0) }
            let missing = columns.filter { !allowed.contains($0) }
            if !extra.isEmpty {
                verdict = ("fail", "columns beyond the declared ones are granted: \(extra.joined(separator: ", "))")
            } else if !missing.isEmpty {
                verdict = ("fail", "declared columns not granted: \(missing.joined(separator: ", "))")
            }
        }
        if matrix.tables[relation.qualified] == nil && matrix.denied[relation.qualified] == nil
            && relation.parent == nil
        {
            // Deny by default is not a pass: a table nobody declared has not been decided on.
            verdict = (
                "fail",
                "undeclared: the matrix lists \(relation.qualified) neither under tables nor under denied; "
                    + "declare what each role may do (\(verdict.0) otherwise: \(verdict.1))"
            )
        }
        cell.verdict = verdict.0
        cell.reason = verdict.1
        applyException(to: &cell)
        return cell
    }

    /// The register's exception for the cell, if any: a live one turns a failing cell into an
    /// exception; an expired one says so and leaves it failing.
    func applyException(to cell: inout ParityReport.Cell) {
        guard
            let e = matrix.exceptions.first(where: {
                $0.role == cell.role && $0.table == cell.relation && $0.command == cell.command
            })
        else { return }
        let expired = e.expires < today
        cell.exception = .init(
            owner: e.owner, justification: e.justification, approvedBy: e.approvedBy, expires: e.expires,
            expired: expired)
        if cell.isFailing && !expired {
            cell.verdict = "exception"
            cell.reason += " — accepted until \(e.expires) by \(e.approvedBy): \(e.justification)"
        } else if cell.isFailing {
            cell.reason += " — the exception for it expired on \(e.expires)"
        }
    }

    /// The probe's verdict against the declaration; nil when the probe could not tell.
    static func judge(_ p: ParityReport.ProbeSide, declared: String, command: AccessMatrix.Command) -> (String, String)?
    {
        switch p.outcome {
        case "refused":
            return declared == "none"
                ? ("pass", "refused as declared: \(p.message ?? "")")
                : ("fail", "declared \(declared), but the probe was refused: \(p.message ?? "")")
        case "rows":
            let visible = p.visible ?? 0, excess = p.excess ?? 0, missing = p.missing ?? 0
            let verb = command == .select ? "sees" : "can \(command.rawValue)"
            if command != .select, excess > 0 || missing > 0 {
                // Write probes say which rows, or which changes, disagreed with the declaration.
                let evidence = p.message.map { ": \($0)" } ?? ""
                return excess > 0
                    ? ("fail", "\(excess) write(s) accepted that scope \(declared) does not allow\(evidence)")
                    : ("fail", "declared \(declared), but \(missing) write(s) inside it were refused\(evidence)")
            }
            if excess > 0 {
                return ("fail", "\(verb) \(excess) row(s) outside the declared scope \(declared) (\(visible) in all)")
            }
            if missing > 0 {
                return (
                    "fail", "declared \(declared), but \(missing) of its \(p.expected ?? 0) row(s) are out of reach"
                )
            }
            if declared == "none" { return ("pass", "\(verb) no rows, as declared (filtered, no error)") }
            return ("pass", "\(verb) exactly the \(visible) row(s) of scope \(declared)")
        case "executable":
            return declared == "none"
                ? ("fail", "declared none, but the role can call it: \(p.message ?? "")")
                : ("pass", "callable as declared: \(p.message ?? "")")
        case "error", "timeout":
            // Only insufficient_privilege (42501) is a refusal. Any other failure (a policy that
            // recurses, a function that raises, a timeout) proves nothing about access, and a
            // cell that cannot be proved fails closed.
            return (
                "error",
                "the probe failed (\(p.outcome) \(p.sqlState ?? "?")): \(p.message ?? ""); only 42501 counts as refused"
            )
        default:
            return nil
        }
    }
}
