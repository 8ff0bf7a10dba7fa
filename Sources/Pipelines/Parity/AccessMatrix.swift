import Foundation
import Postgres
import Yams

/// The declared side of the parity report (`policy/access-matrix.yaml`): what the API's route
/// guards are meant to let each role do to each table, written by the team and reviewed like
/// code. Anything it does not mention is `none` for every role: deny by default.
public struct AccessMatrix: Sendable, Equatable {
    public enum Command: String, Sendable, CaseIterable, Codable, Comparable {
        case select, insert, update, delete
        /// Calling a function the API exposes (PostgREST's `/rpc/NAME`).
        case execute
        /// What a role can do to a table or view.
        public static let tableCommands: [Command] = [.select, .insert, .update, .delete]
        public static func < (a: Command, b: Command) -> Bool {
            allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
        }
        /// The privilege name `has_table_privilege` takes.
        public var privilege: String { rawValue.uppercased() }
    }

    /// A role of the application and how a probe becomes it: the database role PostgREST
    /// switches to, and the application role whose profile supplies `sub`.
    public struct Role: Sendable, Equatable {
        public var name: String
        public var databaseRole: String
        /// `roles.code` of the profile used as the probe identity; nil for `anon` (no `sub`).
        public var appRole: String?
    }

    /// What one role may do with one command on one table: a row scope and, where it
    /// matters, the columns.
    public struct Grant: Sendable, Equatable {
        /// `none`, `all`, or a named scope.
        public var scope: String
        public var columns: [String]?
    }

    public struct Table: Sendable, Equatable {
        public var name: String
        /// Table-level scopes (`own`, `assigned`, ...) as SQL predicates on the table's columns,
        /// with `:uid` standing for the probe identity.
        public var scopes: [String: String]
        public var grants: [String: [Command: Grant]]
        public var note: String?
        /// Where the table's entry starts in the matrix file, for messages.
        public var line: Int?
    }

    /// An accepted deviation: the cell, who owns it, why, who approved it and until when.
    public struct Exception: Sendable, Equatable, Codable {
        public var role: String
        public var table: String
        public var command: Command
        public var owner: String
        public var justification: String
        public var approvedBy: String
        /// `YYYY-MM-DD`; from the day after, the cell is a finding again.
        public var expires: String

        enum CodingKeys: String, CodingKey {
            case role, table, command, owner, justification, expires
            case approvedBy = "approved_by"
        }
    }

    public var file: String
    public var schemas: [String]
    public var roles: [Role]
    public var scopes: [String: String]
    public var tables: [String: Table]
    /// Tables no API role may touch at all, each with the reason (`denied:`): declared as
    /// `none` everywhere. Every relation of the schemas is under `tables` or here; one that is
    /// in neither fails its cells (`undeclared`), so a new table is never passed by default.
    public var denied: [String: String] = [:]
    /// Functions the API exposes (`functions:`): signature (`name(argtypes)`, schema-qualified
    /// outside `public`) → the roles that may execute it. Every exposed function of the
    /// schemas is here; one that is not fails its cells, like an undeclared table.
    public var functions: [String: FunctionGrant] = [:]
    public var exceptions: [Exception]
    /// Findings the register accepts (`findings:` in the exceptions file): a critical finding
    /// fails the report unless one of these names its code and relation, unexpired.
    public var acceptedFindings: [FindingException] = []
    public var statementTimeoutMilliseconds: Int
    /// How a probe identity is picked: SQL with `:app_role`, returning one uuid.
    public var identityQuery: String

    public static let builtInScopes: Set<String> = ["none", "all"]

    /// Who may call one exposed function, and where it is declared.
    public struct FunctionGrant: Sendable, Equatable {
        public var roles: [String]
        public var line: Int?
    }

    public func role(_ name: String) -> Role? { roles.first { $0.name == name } }

    /// The declared grant for a cell; `none` when the matrix says nothing.
    public func grant(role: String, table: String, command: Command) -> Grant {
        tables[table]?.grants[role]?[command] ?? Grant(scope: "none", columns: nil)
    }

    /// The SQL predicate of a scope on a table, with `:uid` still unresolved.
    public func predicate(scope: String, table: String) -> String? {
        switch scope {
        case "all": return "true"
        case "none": return "false"
        default: return tables[table]?.scopes[scope] ?? scopes[scope]
        }
    }

    private struct File: Decodable {
        struct RoleEntry: Decodable {
            var db_role: String
            var app_role: String?
        }
        struct Probe: Decodable {
            var statement_timeout_ms: Int?
            var identity_query: String?
        }
        var version: Int?
        var schemas: [String]?
        var probe: Probe?
        var roles: [String: RoleEntry]
        var scopes: [String: String]?
        var denied: [String: String]?
    }

    /// A finding accepted by the register, with the same accountability as a cell's exception.
    public struct FindingException: Sendable, Equatable, Codable {
        public var code: String
        public var relation: String?
        public var owner: String
        public var justification: String
        public var approvedBy: String
        public var expires: String

        enum CodingKeys: String, CodingKey {
            case code, relation, owner, justification, expires
            case approvedBy = "approved_by"
        }
    }

    private struct ExceptionFile: Decodable {
        var exceptions: [Exception]?
        var findings: [FindingException]?
    }

    /// Reads the matrix and, when given, the exception register beside it. Every mistake names
    /// the file and the table, role or command, so a typo cannot quietly become `none`.
    public static func load(path: String, exceptionsPath: String?) throws -> AccessMatrix {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ParityError.matrix(file: path, at: nil, reason: "cannot be read (\(error.localizedDescription))")
        }
        var matrix = try parse(text, file: path)
        if let exceptionsPath {
            let text: String
            do { text = try String(contentsOfFile: exceptionsPath, encoding: .utf8) } catch {
                throw ParityError.matrix(
                    file: exceptionsPath, at: nil, reason: "cannot be read (\(error.localizedDescription))")
            }
            matrix.exceptions = try parseExceptions(text, file: exceptionsPath, matrix: matrix)
            matrix.acceptedFindings = try parseFindingExceptions(text, file: exceptionsPath)
        }
        return matrix
    }

    public static func parse(_ text: String, file: String) throws -> AccessMatrix {
        try MatrixKeys.check(MatrixKeys.matrix, text, file: file)
        let raw: File
        do { raw = try YAMLDecoder().decode(File.self, from: text) } catch {
            throw ParityError.matrix(file: file, at: nil, reason: "cannot be read: \(error)")
        }
        guard raw.version == nil || raw.version == 1 else {
            throw ParityError.matrix(file: file, at: "version", reason: "only version 1 is understood")
        }
        guard !raw.roles.isEmpty else { throw ParityError.matrix(file: file, at: "roles", reason: "no roles declared") }
        let roles = raw.roles.keys.sorted().map {
            Role(name: $0, databaseRole: raw.roles[$0]!.db_role, appRole: raw.roles[$0]!.app_role)
        }
        let scopes = raw.scopes ?? [:]
        for name in scopes.keys where builtInScopes.contains(name) {
            throw ParityError.matrix(file: file, at: "scopes.\(name)", reason: "\"\(name)\" is built in")
        }
        var tables: [String: Table] = [:]
        let root = try? Yams.compose(yaml: text)
        if let node = (root ?? nil)?["tables"] {
            guard let mapping = node.mapping else {
                throw ParityError.matrix(file: file, at: "tables", reason: "must map table names to roles")
            }
            for (key, value) in mapping {
                guard let name = key.string else { continue }
                tables[name] = try parseTable(
                    name, value, roles: Set(roles.map(\.name)), globalScopes: scopes, file: file)
                tables[name]?.line = key.mark.map(\.line)
            }
        }
        let timeout = raw.probe?.statement_timeout_ms ?? 5000
        guard timeout > 0 else {
            throw ParityError.matrix(file: file, at: "probe.statement_timeout_ms", reason: "must be positive")
        }
        let identity =
            raw.probe?.identity_query
                ?? """
                SELECT p.id FROM public.profiles p JOIN public.roles r ON r.id = p.role_id
                 WHERE r.code = :app_role ORDER BY p.created_at, p.id LIMIT 1
                """
        for (name, reason) in raw.denied ?? [:] {
            guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ParityError.matrix(file: file, at: "denied.\(name)", reason: "a denied table needs a reason")
            }
            guard tables[name] == nil else {
                throw ParityError.matrix(
                    file: file, at: "denied.\(name)", reason: "is also under tables; declare it in one place")
            }
        }
        var matrix = AccessMatrix(
            file: file, schemas: raw.schemas ?? ["public"], roles: roles, scopes: scopes, tables: tables,
            exceptions: [], statementTimeoutMilliseconds: timeout, identityQuery: identity)
        matrix.denied = raw.denied ?? [:]
        if let node = (root ?? nil)?["functions"] {
            matrix.functions = try parseFunctions(node, roles: Set(roles.map(\.name)), file: file)
        }
        return matrix
    }

    private static func parseTable(
        _ name: String, _ node: Yams.Node, roles: Set<String>, globalScopes: [String: String], file: String
    ) throws -> Table {
        guard let mapping = node.mapping else {
            throw ParityError.matrix(file: file, at: "tables.\(name)", reason: "must be a mapping of roles")
        }
        var table = Table(name: name, scopes: [:], grants: [:], note: nil)
        for (keyNode, value) in mapping {
            let key = keyNode.string ?? ""
            let at = "tables.\(name).\(key) (line \(keyNode.mark.map { String($0.line) } ?? "?"))"
            switch key {
            case "note": table.note = value.string
            case "scopes":
                for (k, v) in value.mapping ?? [:] {
                    guard let s = k.string, let predicate = v.string, !predicate.isEmpty else {
                        throw ParityError.matrix(file: file, at: at, reason: "a scope is a name and an SQL predicate")
                    }
                    table.scopes[s] = predicate
                }
            default:
                guard roles.contains(key) else {
                    throw ParityError.matrix(
                        file: file, at: at,
                        reason: "\"\(key)\" is not a declared role (roles: \(roles.sorted().joined(separator: ", ")))")
                }
                guard let cells = value.mapping else {
                    throw ParityError.matrix(file: file, at: at, reason: "must map commands to scopes")
                }
                var grants: [Command: Grant] = [:]
                for (c, v) in cells {
                    guard let command = c.string.flatMap(Command.init(rawValue:)), command != .execute else {
                        throw ParityError.matrix(
                            file: file, at: at,
                            reason: "\"\(c.string ?? "?")\" is not a command (select, insert, update, delete)")
                    }
                    var grant: Grant
                    if let scope = v.string {
                        grant = Grant(scope: scope, columns: nil)
                    } else if let m = v.mapping, let scope = m["scope"]?.string {
                        grant = Grant(scope: scope, columns: m["columns"]?.sequence?.compactMap(\.string))
                    } else {
                        throw ParityError.matrix(
                            file: file, at: at + ".\(command.rawValue)",
                            reason: "give a scope, or { scope: ..., columns: [...] }")
                    }
                    grant.scope = grant.scope.trimmingCharacters(in: .whitespaces)
                    grants[command] = grant
                }
                table.grants[key] = grants
            }
        }
        for (role, grants) in table.grants {
            for (command, grant) in grants
            where !builtInScopes.contains(grant.scope) && table.scopes[grant.scope] == nil
                && globalScopes[grant.scope] == nil
            {
                throw ParityError.matrix(
                    file: file, at: "tables.\(name).\(role).\(command.rawValue)",
                    reason:
                        "scope \"\(grant.scope)\" is defined neither under tables.\(name).scopes nor under scopes")
            }
        }
        return table
    }

    /// `functions:`: signature → the list of roles that may execute it (`[]`: nobody).
    private static func parseFunctions(_ node: Yams.Node, roles: Set<String>, file: String) throws
        -> [String: FunctionGrant]
    {
        guard let mapping = node.mapping else {
            throw ParityError.matrix(file: file, at: "functions", reason: "must map signatures to lists of roles")
        }
        var out: [String: FunctionGrant] = [:]
        for (key, value) in mapping {
            let line = key.mark.map(\.line)
            let name = key.string ?? ""
            let at = "functions.\(name) (line \(line.map { String($0 + 1) } ?? "?"))"
            guard name.hasSuffix(")"), name.contains("(") else {
                throw ParityError.matrix(
                    file: file, at: at, reason: "a function is named with its argument types: name(type, ...)")
            }
            guard let list = value.sequence?.map({ $0.string ?? "" }) else {
                throw ParityError.matrix(
                    file: file, at: at, reason: "give the list of roles that may execute it ([] for none)")
            }
            for role in list where !roles.contains(role) {
                throw ParityError.matrix(
                    file: file, at: at,
                    reason: "\"\(role)\" is not a declared role (roles: \(roles.sorted().joined(separator: ", ")))")
            }
            out[name] = FunctionGrant(roles: list, line: line)
        }
        return out
    }

    static func parseExceptions(_ text: String, file: String, matrix: AccessMatrix) throws -> [Exception] {
        try MatrixKeys.check(MatrixKeys.register, text, file: file)
        let raw: ExceptionFile
        do { raw = try YAMLDecoder().decode(ExceptionFile.self, from: text) } catch {
            throw ParityError.matrix(file: file, at: nil, reason: "cannot be read: \(error)")
        }
        let list = raw.exceptions ?? []
        for (i, e) in list.enumerated() {
            let at = "exceptions[\(i)] (\(e.role) × \(e.table) × \(e.command.rawValue))"
            guard matrix.role(e.role) != nil else {
                throw ParityError.matrix(file: file, at: at, reason: "\"\(e.role)\" is not a declared role")
            }
            guard LocalDate(e.expires) != nil else {
                throw ParityError.matrix(file: file, at: at, reason: "expires \"\(e.expires)\" is not YYYY-MM-DD")
            }
            for (field, value) in [
                ("owner", e.owner), ("justification", e.justification), ("approved_by", e.approvedBy),
            ]
            where value.trimmingCharacters(in: .whitespaces).isEmpty {
                throw ParityError.matrix(file: file, at: at, reason: "\(field) is empty")
            }
        }
        return list
    }

    /// The register's `findings:` entries, each with an owner, a justification, an approver and
    /// a valid expiry date, like a cell's exception.
    static func parseFindingExceptions(_ text: String, file: String) throws -> [FindingException] {
        let raw: ExceptionFile
        do { raw = try YAMLDecoder().decode(ExceptionFile.self, from: text) } catch {
            throw ParityError.matrix(file: file, at: nil, reason: "cannot be read: \(error)")
        }
        let list = raw.findings ?? []
        for (i, e) in list.enumerated() {
            let at = "findings[\(i)] (\(e.code) \(e.relation ?? "-"))"
            guard LocalDate(e.expires) != nil else {
                throw ParityError.matrix(file: file, at: at, reason: "expires \"\(e.expires)\" is not YYYY-MM-DD")
            }
            for (field, value) in [
                ("code", e.code), ("owner", e.owner), ("justification", e.justification), ("approved_by", e.approvedBy),
            ]
            where value.trimmingCharacters(in: .whitespaces).isEmpty {
                throw ParityError.matrix(file: file, at: at, reason: "\(field) is empty")
            }
        }
        return list
    }
}
