import Foundation
import Postgres

/// Write probes with synthetic rows (`SyntheticRows`): each candidate is written as the role
/// inside a savepoint that is rolled back, and compared with what the declared scope says of
/// it. An insert may write a row when the row lies inside the scope; an update may change a row
/// when the row lies inside the scope before and after, so `USING` and `WITH CHECK` are both
/// exercised.
extension ParityProber {
    /// What the trials of one cell found.
    struct Trials {
        var tried = 0
        var inside = 0
        var accepted = 0
        var excess = 0
        var missing = 0
        /// Trials left out: their row was changed by a concurrent writer after the snapshot.
        var changed = 0
        /// The trials that disagree with the declaration, described for the report.
        var evidence: [String] = []
        var error: ParityReport.ProbeSide?
    }

    /// Up to two sampled rows on each side of the scope, from the reference table; for an
    /// empty table, a row of NULLs. Row-level checks run before NOT NULL and the other
    /// constraints, so a row of NULLs with a person's id set still shows what RLS allows.
    func bases(_ r: CatalogSnapshot.Relation) throws -> [(row: String, key: String, inScope: Bool)] {
        let (inside, outside) = sampled(r, limit: 2)
        let sql = """
            SELECT row_to_json(t)::text AS row, \(identity(r)) AS k, true AS inside FROM \(qualified(r)) t WHERE \(inside)
            UNION ALL
            SELECT row_to_json(t)::text, \(identity(r)), false FROM \(qualified(r)) t WHERE \(outside)
            """
        let rows: [(row: String, key: String, inScope: Bool)] = try db.savepoint("samia_bases") { db in
            try db.query(sql).map { (try $0.decode("row"), try $0.decode("k"), try $0.decode("inside")) }
        }
        return rows.isEmpty ? [("{}", "", false)] : rows
    }

    /// The columns a scope's predicate reads from the row `t`.
    static func scopeColumns(_ scopeSQL: String) -> Set<String> {
        let pattern = /\bt\.("([^"]+)"|([a-z_][a-z0-9_]*))/
        return Set(
            scopeSQL.matches(of: pattern).compactMap { m in m.output.2.map(String.init) ?? m.output.3.map(String.init) }
        )
    }

    /// Each scope column's values among the base rows: one side's values tried on the other.
    static func baseValues(_ bases: [(row: String, key: String, inScope: Bool)], columns: Set<String>) -> [String:
        [String]]
    {
        var out: [String: [String]] = [:]
        for base in bases {
            guard let object = try? JSONSerialization.jsonObject(with: Data(base.row.utf8)) as? [String: Any] else {
                continue
            }
            for column in columns {
                guard let value = object[column], !(value is NSNull) else { continue }
                let text = "\(value)"
                if !(out[column] ?? []).contains(text) { out[column, default: []].append(text) }
            }
        }
        return out
    }

    /// Whether each candidate, as it would be written, lies inside the declared scope: asked of
    /// PostgreSQL in one statement, as the bypassing connection.
    func inScope(_ r: CatalogSnapshot.Relation, _ candidates: [SyntheticRows.Candidate], scopeSQL: String) throws
        -> [Bool]
    {
        let sql = """
            SELECT coalesce((\(scopeSQL)), false) AS inside
              FROM unnest($1::text[], $2::text[]) WITH ORDINALITY c(b, p, i)
              CROSS JOIN LATERAL jsonb_populate_record(NULL::\(qualified(r)), c.b::jsonb || c.p::jsonb) t
             ORDER BY c.i
            """
        return try db.savepoint("samia_classify") { db in
            try db.query(sql, [PostgresArray(candidates.map(\.baseRow)), PostgresArray(candidates.map(\.patch))])
                .map { try $0.decode("inside") }
        }
    }

    /// The synthetic candidates of a cell and whether the declaration allows each.
    func trialRows(
        _ role: AccessMatrix.Role, _ r: CatalogSnapshot.Relation, scopeSQL: String, uid: String?,
        command: AccessMatrix.Command,
        columns allowed: [String]?
    ) throws -> [(candidate: SyntheticRows.Candidate, allowed: Bool, newInScope: Bool)] {
        if syntheticColumns[r.oid] == nil {
            let ids = identities.values.compactMap { $0 }
            var targets = syntheticTargets
            syntheticColumns[r.oid] = try db.savepoint("samia_columns") {
                try SyntheticRows.columns($0, relation: r, identities: ids, targets: &targets)
            }
            syntheticTargets = targets
        }
        var columns = syntheticColumns[r.oid] ?? []
        if let allowed { columns = columns.filter { allowed.contains($0.name) } }
        let bases = try self.bases(r)
        let scopeColumns = Self.scopeColumns(scopeSQL)
        let candidates = SyntheticRows.candidates(
            bases: bases, columns: columns, scopeColumns: scopeColumns,
            baseValues: Self.baseValues(bases, columns: scopeColumns), uid: uid, other: otherIdentity(uid),
            includeKeys: command == .insert
        ).filter { command == .insert || (!$0.changes.isEmpty && !$0.baseKey.isEmpty) }
        guard !candidates.isEmpty else { return [] }
        let inside = try inScope(r, candidates, scopeSQL: scopeSQL)
        return zip(candidates, inside).map { c, newInside in
            (c, command == .insert ? newInside : c.baseInScope && newInside, newInside)
        }
    }

    /// Another user's id for trials that write someone else's row: the first other identity.
    func otherIdentity(_ uid: String?) -> String? {
        identities.keys.sorted().compactMap { identities[$0] ?? nil }.first { $0 != uid }
    }

    /// Runs the cell's trials as the role and counts where behaviour and declaration differ.
    func runTrials(
        _ cell: Cell, command: AccessMatrix.Command, scopeSQL: String, columns: [String]?
    ) throws -> Trials {
        let r = cell.relation
        var trials = Trials()
        let rows = try trialRows(cell.role, r, scopeSQL: scopeSQL, uid: cell.uid, command: command, columns: columns)
        let names = [cell.uid, otherIdentity(cell.uid)].compactMap { $0 }.enumerated().reduce(into: [String: String]())
        {
            $0[$1.element] = $1.offset == 0 ? "the prober's own id" : "another user's id"
        }
        for (candidate, allowed, newInScope) in rows {
            let statement = trialStatement(r, command: command, candidate: candidate)
            let outcome: String
            do {
                let affected = try asRole(cell.role, uid: cell.uid) {
                    try db.query(statement.sql, statement.parameters).affectedRows
                }
                outcome = affected > 0 ? "accepted" : "filtered"
            } catch {
                guard let e = error as? PostgresError else { throw error }
                if e.sqlState == "40001" {
                    trials.changed += 1  // a concurrent writer changed the row after the snapshot
                    continue
                } else if e.sqlState == "42501" {
                    outcome = "refused"
                } else if e.sqlState?.hasPrefix("23") == true {
                    outcome = "accepted"  // a constraint checked after the row-level checks passed
                } else {
                    trials.error = failed(e, expected: 0, sql: statement.sql, claims: cell.claims)
                    return trials
                }
            }
            trials.tried += 1
            if allowed { trials.inside += 1 }
            if outcome == "accepted" { trials.accepted += 1 }
            if allowed != (outcome == "accepted") {
                if allowed { trials.missing += 1 } else { trials.excess += 1 }
                if trials.evidence.count < 8 {
                    trials.evidence.append(
                        "\(outcome): "
                            + candidate.describe(names: names, update: command == .update, newInScope: newInScope))
                }
            }
        }
        return trials
    }

    /// The statement of one trial: the merged row inserted, or the changed columns set on the
    /// base row found by its key.
    func trialStatement(
        _ r: CatalogSnapshot.Relation, command: AccessMatrix.Command, candidate: SyntheticRows.Candidate
    )
        -> (sql: String, parameters: [any PostgresEncodable])
    {
        let table = qualified(r)
        let merged = "jsonb_populate_record(NULL::\(table), $1::jsonb || $2::jsonb) n"
        if command == .insert {
            let columns = r.columns.map(SQLIdentifier.quote).joined(separator: ", ")
            return (
                "INSERT INTO \(table) (\(columns)) SELECT \(columns) FROM \(merged)",
                [candidate.baseRow, candidate.patch]
            )
        }
        let set = candidate.changes.map { SQLIdentifier.quote($0.0) }
        let key = keyMatch(r, parameter: 3)
        return (
            "UPDATE \(table) t SET (\(set.joined(separator: ", "))) = (SELECT \(set.map { "n.\($0)" }.joined(separator: ", ")) FROM \(merged)) WHERE \(key)",
            [candidate.baseRow, candidate.patch, candidate.baseKey]
        )
    }
}

extension ParityProber {
    /// Inserts as the role: synthetic rows inside the declared scope must be accepted, those
    /// outside refused.
    func probeInsert(_ cell: Cell, scopeSQL: String) throws -> ParityReport.ProbeSide {
        let trials = try runTrials(cell, command: .insert, scopeSQL: scopeSQL, columns: nil)
        let table = qualified(cell.relation)
        let sql = trialStatement(
            cell.relation, command: .insert, candidate: .init(baseRow: "", baseKey: "", baseInScope: false, changes: [])
        ).sql
            .replacingOccurrences(of: "$1::jsonb || $2::jsonb", with: ":sample_row || :changes")
        if let error = trials.error { return error }
        if !sideEffects.contains(where: { $0.hasPrefix(table) }) {
            sideEffects.append(
                "\(table): insert probes may have advanced its sequences (nextval is not rolled back); no row was kept")
        }
        guard trials.tried > 0 else {
            return .init(
                outcome: "skipped", message: "no sample row to build synthetic rows on", sql: sql, claims: cell.claims)
        }
        let outside = trials.tried - trials.inside
        return .init(
            outcome: "rows", visible: Int64(trials.accepted), expected: Int64(trials.inside),
            excess: Int64(trials.excess),
            missing: Int64(trials.missing),
            message: trials.evidence.isEmpty ? nil : trials.evidence.joined(separator: "; "),
            inside: "\(trials.inside - trials.missing) of \(trials.inside) accepted",
            outside: "\(trials.excess) of \(outside) accepted", sql: sql, claims: cell.claims, tried: trials.tried)
    }

    /// Updates as the role: first which sampled rows it reaches (`SET c = c`, the `USING` side),
    /// then synthetic changes to rows on both sides of the scope (the `WITH CHECK` side: a
    /// change that leaves the scope, or starts outside it, must be refused).
    func probeUpdate(_ cell: Cell, scopeSQL: String, columns: [String]?) throws -> ParityReport.ProbeSide {
        var side = try probeWrite(cell, command: .update)
        guard side.outcome == "rows" || side.outcome == "refused" else { return side }
        let trials = try runTrials(cell, command: .update, scopeSQL: scopeSQL, columns: columns)
        if let error = trials.error { return error }
        guard trials.tried > 0 else { return side }
        if side.outcome == "refused" && trials.accepted == 0 && trials.inside == 0 {
            side.tried = trials.tried
            return side
        }
        side.outcome = "rows"
        side.excess = (side.excess ?? 0) + Int64(trials.excess)
        side.missing = (side.missing ?? 0) + Int64(trials.missing)
        side.tried = trials.tried
        let evidence = trials.evidence.joined(separator: "; ")
        if !evidence.isEmpty { side.message = [side.message, evidence].compactMap { $0 }.joined(separator: "; ") }
        side.sql +=
            ";\n"
            + trialStatement(
                cell.relation, command: .update,
                candidate: .init(baseRow: "", baseKey: "", baseInScope: false, changes: [("c", "")])
            ).sql
            .replacingOccurrences(of: "$1::jsonb || $2::jsonb", with: ":sample_row || :changes")
            .replacingOccurrences(of: "\"c\"", with: ":changed_columns")
        return side
    }
}
