import Postgres

/// What the connected role must be able to do before a job that reads "every row" starts.
///
/// Under row-level security a role without BYPASSRLS sees only the rows its policies allow:
/// for the service's API roles that is the right answer, for a batch job it is an empty world
/// in which an invoice run finds nothing to number and an erasure finds nothing to erase, and
/// both would exit 0. So before any work the runner asks, for every table with RLS enabled in
/// the schemas the jobs read, whether this role bypasses it: a superuser or BYPASSRLS role
/// does, as does the table's owner (or a member of the owning role) unless the table has
/// FORCE ROW LEVEL SECURITY.
public enum RoleRights {
    /// The tables whose rows the role cannot all see, by name; empty when it sees everything.
    public static func hiddenRows(on connection: Connection, schemas: [String] = ["public"]) throws -> [String] {
        try connection.query(
            """
            SELECT format('%I.%I', n.nspname, c.relname) AS name
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p') AND c.relrowsecurity
               AND NOT (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user)
               AND NOT (pg_has_role(c.relowner, 'USAGE') AND NOT c.relforcerowsecurity)
             ORDER BY 1
            """, [PostgresArray(schemas)]
        ).map { try $0.decode("name") }
    }

    /// Throws `BatchError.missingRights` (exit 78) naming what is missing.
    public static func requireEveryRow(on connection: Connection, role: String) throws {
        let hidden = try hiddenRows(on: connection)
        guard !hidden.isEmpty else { return }
        throw BatchError.missingRights(
            role: role,
            missing:
                "row-level security hides rows of \(hidden.count) table(s) (\(hidden.prefix(5).joined(separator: ", "))"
                + (hidden.count > 5 ? ", …" : "") + "); grant BYPASSRLS (ALTER ROLE \(role) BYPASSRLS) or run as "
                + "the tables' owner")
    }
}
