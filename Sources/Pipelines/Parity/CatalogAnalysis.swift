import Foundation

/// Reads a cell's answer out of the catalog, the way PostgreSQL itself decides: schema USAGE,
/// then the privilege, then bypass (superuser, BYPASSRLS, owner without FORCE), then RLS and
/// the policies that apply to the role and command — permissive ones ORed, restrictive ones
/// ANDed, `FOR ALL` counted for every command, a policy without an expression granting nothing.
public enum CatalogAnalysis {
    public static func side(
        relation r: CatalogSnapshot.Relation, command: AccessMatrix.Command, databaseRole: String,
        snapshot: CatalogSnapshot
    ) -> ParityReport.CatalogSide {
        guard let facts = snapshot.roles[databaseRole], facts.exists else {
            return .init(access: "denied", reason: "database role \(databaseRole) does not exist", policies: [])
        }
        guard let access = snapshot.access[databaseRole]?[r.oid] else {
            return .init(access: "denied", reason: "not visible to \(databaseRole)", policies: [])
        }
        if facts.superuser {
            return .init(access: "unrestricted", reason: "\(databaseRole) is a superuser", policies: [])
        }
        guard access.schemaUsage else {
            return .init(access: "denied", reason: "no USAGE on schema \(r.schema) for \(databaseRole)", policies: [])
        }
        guard access.privileges.contains(command) else {
            return .init(
                access: "denied", reason: "no \(command.privilege) privilege for \(databaseRole)", policies: [])
        }
        let grant = "\(command.privilege) granted to \(databaseRole)"
        switch r.kind {
        case "v":
            if !r.securityInvoker {
                return .init(
                    access: "unrestricted",
                    reason: "\(grant); view runs with its owner's (\(r.owner)) rights: no security_invoker, "
                        + "so the base tables' RLS sees the owner", policies: [])
            }
            return .init(
                access: "policies",
                reason: "\(grant); security_invoker view: the base tables' RLS applies to the caller",
                policies: [])
        case "m":
            return .init(
                access: "unrestricted", reason: "\(grant); materialized view: no row-level security", policies: [])
        case "f":
            return .init(access: "unrestricted", reason: "\(grant); foreign table: no row-level security", policies: [])
        default: break
        }
        if facts.bypassRLS {
            return .init(access: "unrestricted", reason: "\(grant); \(databaseRole) has BYPASSRLS", policies: [])
        }
        if access.inheritsOwner && !r.forceRowSecurity {
            return .init(
                access: "unrestricted",
                reason: "\(grant); \(databaseRole) is or inherits the owner \(r.owner) and RLS is not FORCEd",
                policies: [])
        }
        guard r.rowSecurity else {
            let what =
                r.isPartition
                ? "partition read directly: the parent's (\(r.parent ?? "?")) RLS does not apply and its own is disabled"
                : "row-level security is disabled"
            return .init(access: "unrestricted", reason: "\(grant); \(what)", policies: [])
        }
        let applicable = (snapshot.policies[r.oid] ?? []).filter {
            $0.applies(to: command) && access.policies.contains($0.name)
        }
        let texts = applicable.map(\.text)
        let permissive = applicable.filter(\.permissive).compactMap { expression($0, command) }
        let restrictive = applicable.filter { !$0.permissive }.compactMap { expression($0, command) }
        guard !permissive.isEmpty else {
            return .init(
                access: "no-rows",
                reason: "\(grant); RLS on and no permissive \(command.privilege) policy with an expression applies",
                policies: texts)
        }
        if restrictive.isEmpty && permissive.contains(where: isTrue) {
            return .init(
                access: "unrestricted", reason: "\(grant); a permissive policy is always true", policies: texts)
        }
        var combined = "(" + permissive.map { "(\($0))" }.joined(separator: " OR ") + ")"
        for r in restrictive { combined += " AND (\(r))" }
        return .init(access: "policies", reason: "\(grant); rows where \(combined)", policies: texts)
    }

    /// The expression a policy contributes to a command: USING for reads, updates and deletes;
    /// WITH CHECK for inserts (USING when an ALL policy has no WITH CHECK).
    static func expression(_ p: CatalogSnapshot.Policy, _ command: AccessMatrix.Command) -> String? {
        switch command {
        case .select, .delete, .update: return p.using
        case .insert: return p.withCheck ?? (p.command == "*" ? p.using : nil)
        case .execute: return nil
        }
    }

    static func isTrue(_ expression: String) -> Bool {
        let e = expression.trimmingCharacters(in: CharacterSet(charactersIn: "() ")).lowercased()
        return e == "true" || e == "1 = 1"
    }

    /// What the catalog alone concludes against the declaration: `pass`, `fail` (with why) or
    /// nil when only a probe can tell (rows decided by policy expressions).
    public static func verdict(declared: String, side: ParityReport.CatalogSide) -> (String, String)? {
        switch (declared, side.access) {
        case ("none", "denied"), ("none", "no-rows"): return ("pass", "denied by the catalog: \(side.reason)")
        case ("none", "unrestricted"):
            return ("fail", "declared none, but the catalog allows every row: \(side.reason)")
        case (_, "denied"), (_, "no-rows"):
            return ("fail", "declared \(declared), but the catalog allows nothing: \(side.reason)")
        case ("all", "unrestricted"): return ("pass", "every row, as declared: \(side.reason)")
        case (_, "unrestricted"):
            return ("fail", "declared \(declared), but nothing in the database limits the rows: \(side.reason)")
        default: return nil
        }
    }
}
