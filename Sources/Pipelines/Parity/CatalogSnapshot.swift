import Foundation
import Postgres

/// What the catalog says about the exposed schemas, read once per report: relations and their
/// RLS flags, policies, privileges per database role, bypass paths and functions. Everything
/// the report concludes "from the catalog" is derived from this value, so it is also what the
/// fingerprint in the header covers.
public struct CatalogSnapshot: Sendable {
    public struct Relation: Sendable {
        public var oid: Int64
        public var schema: String
        public var name: String
        /// `r` table, `p` partitioned table, `v` view, `m` materialized view, `f` foreign table.
        public var kind: String
        public var rowSecurity: Bool
        public var forceRowSecurity: Bool
        public var owner: String
        public var isPartition: Bool
        public var parent: String?
        public var securityInvoker: Bool
        public var primaryKey: [String]
        /// The SQL type of a single-column primary key, so probes can look rows up by index.
        public var primaryKeyType: String?
        public var columns: [String]

        public var qualified: String { schema == "public" ? name : "\(schema).\(name)" }
        public var kindName: String {
            switch kind {
            case "r": return isPartition ? "partition" : "table"
            case "p": return "partitioned table"
            case "v": return "view"
            case "m": return "materialized view"
            case "f": return "foreign table"
            default: return kind
            }
        }
        /// Row-level security applies to tables; views, materialized views and foreign tables
        /// have none of their own.
        public var canHaveRowSecurity: Bool { kind == "r" || kind == "p" }
    }

    public struct Policy: Sendable, Codable, Equatable {
        public var relationOID: Int64
        public var name: String
        /// `r`, `a`, `w`, `d` or `*` (ALL).
        public var command: String
        public var permissive: Bool
        /// Role names; `PUBLIC` for everyone.
        public var roles: [String]
        public var using: String?
        public var withCheck: String?

        public func applies(to command: AccessMatrix.Command) -> Bool {
            let code: String
            switch command {
            case .select: code = "r"
            case .insert: code = "a"
            case .update: code = "w"
            case .delete: code = "d"
            case .execute: return false
            }
            return self.command == "*" || self.command == code
        }

        public var commandName: String {
            ["r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE", "*": "ALL"][command] ?? command
        }

        /// The policy as `CREATE POLICY` would read, for the evidence column.
        public var text: String {
            var s =
                "POLICY \(name) AS \(permissive ? "PERMISSIVE" : "RESTRICTIVE") FOR \(commandName) TO \(roles.joined(separator: ", "))"
            if let using { s += " USING (\(using))" }
            if let withCheck { s += " WITH CHECK (\(withCheck))" }
            return s
        }
    }

    /// A database role's standing towards one relation.
    public struct Access: Sendable {
        public var schemaUsage: Bool
        public var privileges: Set<AccessMatrix.Command>
        /// Columns the role may use per command (SELECT, INSERT, UPDATE).
        public var columns: [AccessMatrix.Command: [String]]
        /// The role is, or inherits, the relation's owner.
        public var inheritsOwner: Bool
        /// Policy names that apply to this role (directly, through membership, or `TO PUBLIC`).
        public var policies: Set<String>
    }

    public struct RoleFacts: Sendable {
        public var name: String
        public var exists: Bool
        public var superuser: Bool
        public var bypassRLS: Bool
        /// Roles with SUPERUSER or BYPASSRLS this role can `SET ROLE` to.
        public var reachableBypass: [String]
    }

    public struct Function: Sendable {
        public var signature: String
        public var schema: String
        public var name: String
        /// The input argument types, as `format_type` writes them (`oidvectortypes`).
        public var argumentTypes: [String]
        public var variadic: Bool
        /// `f` function, `p` procedure (aggregates and window functions are not read).
        public var kind: String
        /// Returns `trigger` or `event_trigger`: only a trigger can call it.
        public var triggerOnly: Bool
        public var securityDefiner: Bool
        /// `i` immutable, `s` stable, `v` volatile: only the first two may run once per statement.
        public var volatility: String
        public var fixedSearchPath: Bool
        /// The `search_path` the function sets, as written (nil when it sets none).
        public var searchPath: String?
        public var owner: String
        /// The owner is a superuser or has BYPASSRLS: a SECURITY DEFINER function runs with that.
        public var ownerBypassesRLS: Bool
        /// Who holds EXECUTE by a grant of its own (`PUBLIC` included), from the ACL.
        public var grantees: [String]
        /// The API roles that can call it: EXECUTE (through any grant) and USAGE on its schema.
        public var executableBy: [String]

        /// How the matrix names it: `name(types)`, schema-qualified outside `public`.
        public var matrixName: String {
            (schema == "public" ? "" : "\(schema).") + "\(name)(\(argumentTypes.joined(separator: ", ")))"
        }
    }

    public struct Sequence: Sendable {
        public var name: String
        public var usableBy: [String]
    }

    public struct DefaultPrivilege: Sendable {
        public var schema: String?
        public var owner: String
        public var objectType: String
        public var grantee: String
        public var privileges: String
    }

    public var serverVersion: String
    public var fingerprint: String
    public var relations: [Relation]
    public var policies: [Int64: [Policy]]
    public var roles: [String: RoleFacts]
    /// Keyed by database role, then relation OID.
    public var access: [String: [Int64: Access]]
    public var functions: [Function]
    public var sequences: [Sequence]
    public var defaultPrivileges: [DefaultPrivilege]

    /// The functions PostgREST would expose as `/rpc/NAME`: plain functions of the API's
    /// schemas that a caller can invoke (not procedures, aggregates or trigger functions).
    public func exposedFunctions(schemas: [String]) -> [Function] {
        functions.filter { schemas.contains($0.schema) && $0.kind == "f" && !$0.triggerOnly }
    }

    public func relation(_ name: String) -> Relation? {
        relations.first { $0.qualified == name || "\($0.schema).\($0.name)" == name }
    }

    /// Reads the catalog for `schemas` as seen by `databaseRoles`.
    public static func read(_ db: Connection, schemas: [String], databaseRoles: [String]) throws -> CatalogSnapshot {
        let schemaList = PostgresArray(schemas)
        let version = try db.scalar("SELECT version()", as: String.self) ?? "?"
        let fingerprint = try self.fingerprint(db, schemas: schemaList)
        let relations = try self.relations(db, schemas: schemaList)
        let policies = try self.policies(db, schemas: schemaList)
        var roles: [String: RoleFacts] = [:]
        var access: [String: [Int64: Access]] = [:]
        for role in Set(databaseRoles).sorted() {
            let facts = try self.role(db, role)
            roles[role] = facts
            if facts.exists { access[role] = try self.access(db, role: role, schemas: schemaList) }
        }
        let existing = PostgresArray(roles.values.filter(\.exists).map(\.name).sorted())
        return CatalogSnapshot(
            serverVersion: version, fingerprint: fingerprint, relations: relations, policies: policies, roles: roles,
            access: access, functions: try functions(db, schemas: schemaList, roles: existing),
            sequences: try sequences(db, schemas: schemaList, roles: existing),
            defaultPrivileges: try defaultPrivileges(db, schemas: schemaList, roles: existing))
    }

    /// One hash of everything the report depends on, so two reports can say whether the
    /// catalog changed between them.
    private static func fingerprint(_ db: Connection, schemas: PostgresArray) throws -> String {
        try db.scalar(
            """
            SELECT md5(string_agg(x, E'\\n' ORDER BY x)) FROM (
              SELECT format('rel %s.%s %s %s %s %s %s', n.nspname, c.relname, c.relkind, c.relrowsecurity,
                            c.relforcerowsecurity, pg_get_userbyid(c.relowner), c.relacl::text || coalesce(c.reloptions::text, ''))
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
              UNION ALL
              SELECT format('col %s %s %s', a.attrelid::regclass, a.attname, a.attacl)
                FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = ANY($1::text[]) AND a.attacl IS NOT NULL
              UNION ALL
              SELECT format('pol %s %s %s %s %s %s %s', p.polrelid::regclass, p.polname, p.polcmd, p.polpermissive,
                            p.polroles::text, pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
                FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = ANY($1::text[])
              UNION ALL
              SELECT format('fn %s %s %s %s %s', p.oid::regprocedure, p.prosecdef, p.proconfig, p.proacl, md5(p.prosrc))
                FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = ANY($1::text[] || ARRAY['private'])
              UNION ALL
              SELECT format('role %s %s %s %s', r.rolname, r.rolsuper, r.rolbypassrls, r.rolinherit) FROM pg_roles r
              UNION ALL
              SELECT format('member %s %s', m.roleid::regrole, m.member::regrole) FROM pg_auth_members m
              UNION ALL
              SELECT format('nsp %s %s', n.nspname, n.nspacl) FROM pg_namespace n WHERE n.nspname = ANY($1::text[])
              UNION ALL
              SELECT format('defacl %s %s %s', d.defaclrole::regrole, d.defaclnamespace, d.defaclacl) FROM pg_default_acl d
            ) f(x)
            """, [schemas], as: String.self) ?? ""
    }

    private static func relations(_ db: Connection, schemas: PostgresArray) throws -> [Relation] {
        var relations: [Relation] = []
        for row in try db.query(
            """
            SELECT c.oid::bigint AS oid, n.nspname, c.relname, c.relkind::text AS kind, c.relrowsecurity,
                   c.relforcerowsecurity, pg_get_userbyid(c.relowner) AS owner, c.relispartition,
                   (SELECT i.inhparent::regclass::text FROM pg_inherits i WHERE i.inhrelid = c.oid LIMIT 1) AS parent,
                   coalesce((SELECT lower(o.option_value) IN ('true', 'on', '1', 'yes')
                               FROM pg_options_to_table(c.reloptions) o WHERE o.option_name = 'security_invoker'), false)
                     AS invoker,
                   coalesce((SELECT string_agg(a.attname, ',' ORDER BY array_position(x.indkey::int2[], a.attnum))
                               FROM pg_index x JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = ANY (x.indkey)
                              WHERE x.indrelid = c.oid AND x.indisprimary), '') AS pk,
                   (SELECT format_type(a.atttypid, a.atttypmod) FROM pg_index x
                      JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0]
                     WHERE x.indrelid = c.oid AND x.indisprimary AND x.indnatts = 1) AS pktype,
                   coalesce((SELECT string_agg(a.attname, ',' ORDER BY a.attnum) FROM pg_attribute a
                              WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '') AS cols
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
             ORDER BY n.nspname, c.relname
            """, [schemas])
        {
            relations.append(
                Relation(
                    oid: try row.decode("oid"), schema: try row.decode("nspname"), name: try row.decode("relname"),
                    kind: try row.decode("kind"), rowSecurity: try row.decode("relrowsecurity"),
                    forceRowSecurity: try row.decode("relforcerowsecurity"), owner: try row.decode("owner"),
                    isPartition: try row.decode("relispartition"), parent: try row.decodeOptional("parent"),
                    securityInvoker: try row.decode("invoker"),
                    primaryKey: (try row.decode("pk", as: String.self)).split(separator: ",").map(String.init),
                    primaryKeyType: try row.decodeOptional("pktype"),
                    columns: (try row.decode("cols", as: String.self)).split(separator: ",").map(String.init)))
        }
        return relations
    }

    private static func policies(_ db: Connection, schemas: PostgresArray) throws -> [Int64: [Policy]] {
        var policies: [Int64: [Policy]] = [:]
        for row in try db.query(
            """
            SELECT p.polrelid::bigint AS rel, p.polname, p.polcmd::text AS cmd, p.polpermissive,
                   CASE WHEN p.polroles = '{0}' THEN 'PUBLIC'
                        ELSE (SELECT string_agg(r.rolname, ',' ORDER BY r.rolname) FROM pg_roles r WHERE r.oid = ANY (p.polroles))
                   END AS roles,
                   pg_get_expr(p.polqual, p.polrelid) AS qual, pg_get_expr(p.polwithcheck, p.polrelid) AS chk
              FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = ANY($1::text[]) ORDER BY p.polrelid, p.polname
            """, [schemas])
        {
            let policy = Policy(
                relationOID: try row.decode("rel"), name: try row.decode("polname"), command: try row.decode("cmd"),
                permissive: try row.decode("polpermissive"),
                roles: (try row.decodeOptional("roles", as: String.self) ?? "").split(separator: ",").map(String.init),
                using: try row.decodeOptional("qual"), withCheck: try row.decodeOptional("chk"))
            policies[policy.relationOID, default: []].append(policy)
        }
        return policies
    }

    /// A database role's facts: whether it exists, is superuser, bypasses RLS, or can reach a
    /// role that does.
    private static func role(_ db: Connection, _ role: String) throws -> RoleFacts {
        let facts = try db.query(
            """
            SELECT r.rolsuper, r.rolbypassrls,
                   coalesce((SELECT string_agg(b.rolname, ',' ORDER BY b.rolname) FROM pg_roles b
                              WHERE (b.rolsuper OR b.rolbypassrls) AND b.oid <> r.oid AND pg_has_role(r.oid, b.oid, 'MEMBER')), '')
                     AS reach
              FROM pg_roles r WHERE r.rolname = $1
            """, [role])
        guard let f = facts.first else {
            return RoleFacts(name: role, exists: false, superuser: false, bypassRLS: false, reachableBypass: [])
        }
        return RoleFacts(
            name: role, exists: true, superuser: try f.decode("rolsuper"), bypassRLS: try f.decode("rolbypassrls"),
            reachableBypass: (try f.decode("reach", as: String.self)).split(separator: ",").map(String.init))
    }

    /// What `role` may do on each relation of `schemas`, by relation OID.
    private static func access(_ db: Connection, role: String, schemas: PostgresArray) throws -> [Int64: Access] {
        var byRelation: [Int64: Access] = [:]
        for row in try db.query(
            """
            SELECT c.oid::bigint AS oid, has_schema_privilege($1::name, c.relnamespace, 'USAGE') AS usage,
                   has_any_column_privilege($1::name, c.oid, 'SELECT') AS s, has_any_column_privilege($1::name, c.oid, 'INSERT') AS i,
                   has_any_column_privilege($1::name, c.oid, 'UPDATE') AS u, has_table_privilege($1::name, c.oid, 'DELETE') AS d,
                   pg_has_role($1::name, c.relowner, 'USAGE') AS owner,
                   coalesce((SELECT string_agg(a.attname, ',' ORDER BY a.attnum) FROM pg_attribute a
                              WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                                AND has_column_privilege($1::name, c.oid, a.attnum, 'SELECT')), '') AS cs,
                   coalesce((SELECT string_agg(a.attname, ',' ORDER BY a.attnum) FROM pg_attribute a
                              WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                                AND has_column_privilege($1::name, c.oid, a.attnum, 'INSERT')), '') AS ci,
                   coalesce((SELECT string_agg(a.attname, ',' ORDER BY a.attnum) FROM pg_attribute a
                              WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                                AND has_column_privilege($1::name, c.oid, a.attnum, 'UPDATE')), '') AS cu,
                   coalesce((SELECT string_agg(p.polname, ',') FROM pg_policy p
                              WHERE p.polrelid = c.oid
                                AND (p.polroles = '{0}' OR EXISTS (SELECT 1 FROM unnest(p.polroles) x
                                                                     WHERE pg_has_role($1::name, x, 'USAGE')))), '') AS pols
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = ANY($2::text[]) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
            """, [role, schemas])
        {
            var privileges: Set<AccessMatrix.Command> = []
            for (column, command) in [
                ("s", AccessMatrix.Command.select), ("i", .insert), ("u", .update), ("d", .delete),
            ]
            where try row.decode(column, as: Bool.self) {
                privileges.insert(command)
            }
            func list(_ c: String) throws -> [String] {
                (try row.decode(c, as: String.self)).split(separator: ",").map(String.init)
            }
            byRelation[try row.decode("oid")] = Access(
                schemaUsage: try row.decode("usage"), privileges: privileges,
                columns: [.select: try list("cs"), .insert: try list("ci"), .update: try list("cu")],
                inheritsOwner: try row.decode("owner"), policies: Set(try list("pols")))
        }
        return byRelation
    }

    private static func functions(_ db: Connection, schemas: PostgresArray, roles: PostgresArray) throws -> [Function] {
        var functions: [Function] = []
        for row in try db.query(
            """
            SELECT p.oid::regprocedure::text AS sig, n.nspname, p.proname::text AS name,
                   oidvectortypes(p.proargtypes) AS args, p.provariadic <> 0 AS variadic, p.prokind::text AS kind, p.provolatile::text AS volatility,
                   p.prorettype IN ('trigger'::regtype, 'event_trigger'::regtype) AS trigger_only, p.prosecdef,
                   (SELECT substr(c, 13) FROM unnest(coalesce(p.proconfig, '{}')) c WHERE c LIKE 'search_path=%') AS path,
                   pg_get_userbyid(p.proowner) AS owner,
                   (SELECT o.rolsuper OR o.rolbypassrls FROM pg_roles o WHERE o.oid = p.proowner) AS owner_bypass,
                   coalesce((SELECT string_agg(DISTINCT CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END, ',')
                               FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                              WHERE a.privilege_type = 'EXECUTE'), '') AS grantees,
                   coalesce((SELECT string_agg(r, ',' ORDER BY r) FROM unnest($2::text[]) r
                              WHERE has_function_privilege(r::name, p.oid, 'EXECUTE')
                                AND has_schema_privilege(r::name, p.pronamespace, 'USAGE')), '') AS execs
              FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = ANY($1::text[] || ARRAY['private']) AND p.prokind IN ('f', 'p')
             ORDER BY 1
            """, [schemas, roles])
        {
            func list(_ c: String) throws -> [String] {
                (try row.decode(c, as: String.self)).split(separator: ",").map(String.init)
            }
            let path: String? = try row.decodeOptional("path")
            let args: String = try row.decode("args")
            functions.append(
                Function(
                    signature: try row.decode("sig"), schema: try row.decode("nspname"), name: try row.decode("name"),
                    argumentTypes: args.isEmpty ? [] : args.components(separatedBy: ", "),
                    variadic: try row.decode("variadic"), kind: try row.decode("kind"),
                    triggerOnly: try row.decode("trigger_only"), securityDefiner: try row.decode("prosecdef"),
                    volatility: try row.decode("volatility"), fixedSearchPath: path != nil, searchPath: path,
                    owner: try row.decode("owner"),
                    ownerBypassesRLS: try row.decode("owner_bypass"), grantees: try list("grantees"),
                    executableBy: try list("execs")))
        }
        return functions
    }

    private static func sequences(_ db: Connection, schemas: PostgresArray, roles: PostgresArray) throws -> [Sequence] {
        var sequences: [Sequence] = []
        for row in try db.query(
            """
            SELECT c.oid::regclass::text AS name,
                   coalesce((SELECT string_agg(r, ',' ORDER BY r) FROM unnest($2::text[]) r
                              WHERE has_sequence_privilege(r::name, c.oid, 'USAGE') OR has_sequence_privilege(r::name, c.oid, 'UPDATE')), '') AS users
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = ANY($1::text[]) AND c.relkind = 'S' ORDER BY 1
            """, [schemas, roles])
        {
            sequences.append(
                Sequence(
                    name: try row.decode("name"),
                    usableBy: (try row.decode("users", as: String.self)).split(separator: ",").map(String.init)))
        }
        return sequences
    }

    private static func defaultPrivileges(_ db: Connection, schemas: PostgresArray, roles: PostgresArray) throws
        -> [DefaultPrivilege]
    {
        var defaults: [DefaultPrivilege] = []
        for row in try db.query(
            """
            SELECT n.nspname, pg_get_userbyid(d.defaclrole) AS owner,
                   CASE d.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences' WHEN 'f' THEN 'functions'
                                        WHEN 'T' THEN 'types' ELSE 'schemas' END AS objtype,
                   CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS grantee,
                   string_agg(a.privilege_type, ', ' ORDER BY a.privilege_type) AS privs
              FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
                   CROSS JOIN LATERAL aclexplode(d.defaclacl) a
             WHERE (n.nspname IS NULL OR n.nspname = ANY($1::text[]))
               AND (a.grantee = 0 OR pg_get_userbyid(a.grantee) = ANY($2::text[]))
             GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
            """, [schemas, roles])
        {
            defaults.append(
                DefaultPrivilege(
                    schema: try row.decodeOptional("nspname"), owner: try row.decode("owner"),
                    objectType: try row.decode("objtype"), grantee: try row.decode("grantee"),
                    privileges: try row.decode("privs")))
        }
        return defaults
    }
}
