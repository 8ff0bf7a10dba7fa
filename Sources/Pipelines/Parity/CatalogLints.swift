import Foundation

/// Catalog checks in the spirit of Supabase's Security Advisor (RLS and exposure), without its
/// known false positives: an `auth.uid()` already wrapped in a sub-select is fine, and a
/// policy without an expression denies rather than allows.
public enum CatalogLints {
    static let sensitiveColumn = try! NSRegularExpression(
        pattern: "(email|phone|password|passwd|secret|token|iban|card|ssn|dob|birth|address|client_secret)",
        options: [.caseInsensitive])
    static let qualifiedCall = try! NSRegularExpression(pattern: "\\b[a-z_][a-z0-9_]*\\.[a-z_][a-z0-9_]*\\(")
    static let bareUID = try! NSRegularExpression(pattern: "auth\\.(uid|jwt|role)\\(\\)", options: [])
    static let wrappedUID = try! NSRegularExpression(
        pattern: "\\(\\s*select\\s+auth\\.(uid|jwt|role)\\(\\)(\\s+as\\s+\\w+)?\\s*\\)", options: [.caseInsensitive])

    /// The findings as they are made, in one place.
    struct Findings {
        var items: [ParityReport.Finding] = []

        mutating func add(
            _ severity: String, _ code: String, _ relation: String?, _ message: String, _ evidence: [String] = []
        ) {
            items.append(
                .init(severity: severity, code: code, relation: relation, message: message, evidence: evidence))
        }
    }

    /// `apiRoles` are the database roles the matrix maps application roles onto.
    public static func run(_ s: CatalogSnapshot, apiRoles: [String], exposedSchemas: [String]) -> [ParityReport.Finding]
    {
        var out = Findings()
        let roles = apiRoles.filter { s.roles[$0]?.exists == true }
        roleLints(s, roles: roles, into: &out)
        for r in s.relations {
            let granted = roles.filter { role in
                guard let a = s.access[role]?[r.oid] else { return false }
                return a.schemaUsage && !a.privileges.isEmpty
            }
            rowSecurityLints(r, s, granted: granted, into: &out)
            exposureLints(r, s, granted: granted, into: &out)
            policyLints(r, s, roles: roles, into: &out)
        }
        functionLints(s, roles: roles, exposed: exposedSchemas, into: &out)
        for q in s.sequences where !q.usableBy.isEmpty {
            out.add("info", "sequence_usable_by_api", q.name, "usable by \(q.usableBy.joined(separator: ", "))")
        }
        for d in s.defaultPrivileges {
            out.add(
                "info", "default_privileges", d.schema,
                "future \(d.objectType) created by \(d.owner) get \(d.privileges) for \(d.grantee)")
        }
        return out.items.sorted { ($0.rank, $0.relation ?? "", $0.code) < ($1.rank, $1.relation ?? "", $1.code) }
    }

    /// API roles that bypass RLS, or can become a role that does.
    static func roleLints(_ s: CatalogSnapshot, roles: [String], into out: inout Findings) {
        for role in roles {
            if let f = s.roles[role], f.superuser || f.bypassRLS {
                out.add(
                    "critical", "api_role_bypasses_rls", nil,
                    "API role \(role) is \(f.superuser ? "a superuser" : "BYPASSRLS")")
            }
            for b in s.roles[role]?.reachableBypass ?? [] {
                out.add(
                    "critical", "api_role_reaches_bypass", nil,
                    "API role \(role) is a member of \(b), which bypasses RLS (reachable with SET ROLE)")
            }
        }
    }

    /// The API roles' privileges on `r`, as evidence.
    static func grantText(_ r: CatalogSnapshot.Relation, _ s: CatalogSnapshot, granted: [String]) -> [String] {
        granted.map { role in
            "\(role): " + (s.access[role]?[r.oid]?.privileges.sorted().map(\.privilege).joined(separator: ", ") ?? "")
        }
    }

    /// RLS off where the API reaches, policies that are not enforced, owners that see every row.
    static func rowSecurityLints(
        _ r: CatalogSnapshot.Relation, _ s: CatalogSnapshot, granted: [String], into out: inout Findings
    ) {
        let (name, policies) = (r.qualified, s.policies[r.oid] ?? [])
        if r.canHaveRowSecurity && !r.rowSecurity {
            if !granted.isEmpty {
                out.add(
                    "critical", r.isPartition ? "partition_readable_directly" : "rls_disabled_in_exposed_schema", name,
                    r.isPartition
                        ? "partition of \(r.parent ?? "?") is granted to API roles and has RLS off: reading it directly skips the parent's policies"
                        : "RLS is disabled on a table the API roles can reach", grantText(r, s, granted: granted))
                let sensitive = r.columns.filter {
                    sensitiveColumn.firstMatch(in: $0, range: NSRange($0.startIndex..., in: $0)) != nil
                }
                if !sensitive.isEmpty {
                    out.add(
                        "critical", "sensitive_columns_exposed", name,
                        "sensitive-looking columns without RLS: \(sensitive.joined(separator: ", "))",
                        grantText(r, s, granted: granted))
                }
            }
            if !policies.isEmpty {
                out.add(
                    "high", "policy_exists_rls_disabled", name,
                    "policies exist but RLS is disabled, so none of them is enforced", policies.map(\.text))
            }
        }
        if r.canHaveRowSecurity && r.rowSecurity && policies.isEmpty {
            out.add("info", "rls_enabled_no_policy", name, "RLS on with no policy: only bypassing roles reach it")
        }
        if r.rowSecurity && !r.forceRowSecurity {
            for role in granted where s.access[role]?[r.oid]?.inheritsOwner == true {
                out.add(
                    "high", "owner_bypass_without_force", name,
                    "API role \(role) is or inherits the owner \(r.owner) and RLS is not FORCEd: it sees every row")
            }
        }
    }

    /// Views, materialized views and foreign tables that the API reads without row security.
    static func exposureLints(
        _ r: CatalogSnapshot.Relation, _ s: CatalogSnapshot, granted: [String], into out: inout Findings
    ) {
        if r.kind == "v" && !r.securityInvoker && !granted.isEmpty {
            out.add(
                "high", "security_definer_view", r.qualified,
                "view without security_invoker runs with its owner's (\(r.owner)) rights for API roles",
                grantText(r, s, granted: granted))
        }
        if (r.kind == "m" || r.kind == "f")
            && granted.contains(where: { s.access[$0]?[r.oid]?.privileges.contains(.select) == true })
        {
            out.add(
                "medium", r.kind == "m" ? "materialized_view_in_api" : "foreign_table_in_api", r.qualified,
                "\(r.kindName) readable by API roles has no row-level security", grantText(r, s, granted: granted))
        }
    }

    /// Several permissive policies for one role and command, always-true write policies,
    /// `user_metadata`, and `auth.*()` called per row.
    static func policyLints(
        _ r: CatalogSnapshot.Relation, _ s: CatalogSnapshot, roles: [String], into out: inout Findings
    ) {
        let (name, policies) = (r.qualified, s.policies[r.oid] ?? [])
        for role in roles {
            guard let a = s.access[role]?[r.oid] else { continue }
            for command in AccessMatrix.Command.tableCommands {
                let p = policies.filter { $0.permissive && $0.applies(to: command) && a.policies.contains($0.name) }
                if p.count > 1 {
                    out.add(
                        "low", "multiple_permissive_policies", name,
                        "\(p.count) permissive \(command.privilege) policies apply to \(role); each is evaluated for every row",
                        p.map(\.name))
                }
            }
        }
        for p in policies {
            let writes = p.command != "r"
            if writes, [p.using, p.withCheck].contains(where: { $0.map(CatalogAnalysis.isTrue) == true }) {
                out.add(
                    "high", "always_true_write_policy", name,
                    "\(p.commandName) policy \(p.name) is always true for \(p.roles.joined(separator: ", "))", [p.text])
            }
            let exprs = [p.using, p.withCheck].compactMap { $0 }
            if exprs.contains(where: { $0.contains("user_metadata") }) {
                out.add(
                    "critical", "policy_uses_user_metadata", name,
                    "policy \(p.name) reads user_metadata, which users can edit themselves", [p.text])
            }
            if exprs.contains(where: hasBareAuthCall) {
                out.add(
                    "low", "auth_call_per_row", name,
                    "policy \(p.name) calls auth.*() per row; wrap it as (SELECT auth.uid()) so it runs once", [p.text])
            }
            let perRow = Set(exprs.flatMap(rowIndependentCalls)).sorted().filter { call in
                s.functions.contains {
                    "\($0.schema).\($0.name)(" == call.prefix(while: { $0 != "(" }) + "(" && $0.volatility != "v"
                }
            }
            for call in perRow {
                out.add(
                    "low", "function_call_per_row", name,
                    "policy \(p.name) calls \(call) for every row, though it does not read the row; "
                        + "wrap it as (SELECT \(call)) so PostgreSQL runs it once per statement", [p.text])
            }
        }
    }

    /// SECURITY DEFINER functions the API roles can execute, each with its owner, its
    /// search_path and whom EXECUTE is granted to: a mutable search_path lets a caller shadow
    /// what it calls and run code as the owner (critical when the owner bypasses RLS); one the
    /// API exposes as RPC runs with the owner's rights on a caller's arguments; EXECUTE through
    /// PUBLIC reaches every role created later.
    static func functionLints(_ s: CatalogSnapshot, roles: [String], exposed: [String], into out: inout Findings) {
        for f in s.functions where f.securityDefiner {
            let api = f.executableBy.filter { roles.contains($0) }
            guard !api.isEmpty else { continue }
            let who = api.joined(separator: ", ")
            let evidence = [
                "owner: \(f.owner)\(f.ownerBypassesRLS ? " (superuser or BYPASSRLS: sees every row)" : "")",
                "search_path: "
                    + (f.searchPath.map { $0.isEmpty ? "'' (empty, fixed)" : "\($0) (fixed)" }
                        ?? "not set (the caller's)"),
                "EXECUTE granted to: " + (f.grantees.isEmpty ? "nobody directly" : f.grantees.joined(separator: ", ")),
                "callable by the API roles: \(who)",
            ]
            if !f.fixedSearchPath {
                out.add(
                    f.ownerBypassesRLS ? "critical" : "high", "security_definer_function_mutable_search_path",
                    f.matrixName,
                    "SECURITY DEFINER \(f.signature) is executable by \(who) without a fixed search_path", evidence)
            }
            if exposed.contains(f.schema), f.kind == "f", !f.triggerOnly {
                out.add(
                    "high", "security_definer_function_exposed", f.matrixName,
                    "SECURITY DEFINER \(f.signature) is exposed as RPC to \(who) and runs as \(f.owner)", evidence)
            }
            if f.grantees.contains("PUBLIC") {
                out.add(
                    "medium", "security_definer_function_public_execute", f.matrixName,
                    "SECURITY DEFINER \(f.signature) is executable by PUBLIC: every role, present and future; "
                        + "REVOKE EXECUTE FROM PUBLIC and grant it to the roles that need it", evidence)
            }
            out.add(
                "info", "security_definer_function", f.matrixName,
                "SECURITY DEFINER \(f.signature) runs as \(f.owner) for \(who)", evidence)
        }
    }

    /// Calls of a schema-qualified function (other than `auth.*`, linted on their own) whose
    /// arguments are constants only and that are not already a sub-select's: PostgreSQL runs
    /// them per row, though their answer cannot change from row to row.
    static func rowIndependentCalls(_ expression: String) -> [String] {
        let chars = Array(expression)
        var calls: [String] = []
        for m in qualifiedCall.matches(in: expression, range: NSRange(expression.startIndex..., in: expression)) {
            guard let range = Range(m.range, in: expression) else { continue }
            let start = expression.distance(from: expression.startIndex, to: range.lowerBound)
            var (depth, end, quoted) = (0, start, false)
            for i in start..<chars.count {
                if chars[i] == "'" { quoted.toggle() }
                if quoted { continue }
                if chars[i] == "(" { depth += 1 }
                if chars[i] == ")" {
                    depth -= 1
                    if depth == 0 {
                        end = i
                        break
                    }
                }
            }
            guard end > start else { continue }
            let call = String(chars[start...end])
            let before = String(chars[..<start]).trimmingCharacters(in: .whitespaces).uppercased()
            let arguments = String(call.drop(while: { $0 != "(" }))
            guard !call.hasPrefix("auth."), !before.hasSuffix("SELECT"), constantOnly(arguments) else { continue }
            calls.append(call)
        }
        return calls
    }

    /// Literals, casts, `ARRAY[...]` and `VARIADIC` only: nothing that names a column.
    static func constantOnly(_ arguments: String) -> Bool {
        var rest = arguments.replacingOccurrences(of: "'(?:[^']|'')*'", with: "", options: .regularExpression)
        rest = rest.replacingOccurrences(
            of: "::\"?[a-z_][a-z0-9_ ]*\"?(\\[\\])?", with: "", options: [.regularExpression, .caseInsensitive])
        rest = rest.replacingOccurrences(
            of: "\\b(VARIADIC|ARRAY|NULL|true|false)\\b", with: "", options: .regularExpression)
        return rest.range(of: "[A-Za-z_]", options: .regularExpression) == nil
    }

    /// True when an expression calls `auth.uid()` (or jwt/role) outside a `(SELECT ...)`.
    static func hasBareAuthCall(_ expression: String) -> Bool {
        let ns = expression as NSString
        let all = bareUID.numberOfMatches(in: expression, range: NSRange(location: 0, length: ns.length))
        let wrapped = wrappedUID.numberOfMatches(in: expression, range: NSRange(location: 0, length: ns.length))
        return all > wrapped
    }
}
