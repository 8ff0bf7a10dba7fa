import CLibPQ
import Foundation

/// Where to connect: a `DATABASE_URL`, a libpq conninfo string, or the standard `PG*` variables.
///
/// libpq parses all three; we only validate up front (a malformed URL is a configuration
/// error, exit 78, not a connection failure to retry) and keep a password-free description
/// of the target for messages.
public struct ConnectionConfiguration: Sendable, Equatable {
    /// The conninfo or URL exactly as given; empty means "libpq defaults and `PG*` variables".
    public let conninfo: String
    /// Host (or socket directory), port, database and user, for messages. Never the password.
    public let target: String
    /// The database name libpq will use, resolved the same way libpq resolves it.
    public let database: String
    /// The host (or socket directory) and port libpq will use; the runner reads the port to
    /// refuse a transaction-mode pooler's well-known one.
    public let host: String
    public let port: String
    /// When set, connect to this database instead (e.g. `postgres`, to create another one).
    public private(set) var databaseOverride: String?

    /// - Parameter conninfo: a `postgresql://` URL, a `key=value` string, or nil to read
    ///   `DATABASE_URL`, then fall back to the `PG*` variables.
    public init(conninfo: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(PostgresError)
    {
        let raw = conninfo ?? environment["DATABASE_URL"] ?? ""
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(raw, &errorMessage) else {
            let text = errorMessage.map { String(cString: $0) } ?? "unparseable connection string"
            if let errorMessage { PQfreemem(errorMessage) }
            throw PostgresError(
                code: .configuration,
                message: "malformed connection string: "
                    + text.trimmingCharacters(in: .whitespacesAndNewlines),
                hint: "use postgresql://user@host:port/db?sslmode=require or host=... dbname=..."
            )
        }
        defer { PQconninfoFree(options) }
        var values: [String: String] = [:]
        var cursor = options
        while let keyword = cursor.pointee.keyword {
            if let value = cursor.pointee.val { values[String(cString: keyword)] = String(cString: value) }
            cursor += 1
        }
        func pick(_ key: String, _ env: String) -> String? { values[key] ?? environment[env] }
        let host = pick("host", "PGHOST") ?? pick("hostaddr", "PGHOSTADDR") ?? "localhost"
        let port = pick("port", "PGPORT") ?? "5432"
        let db = pick("dbname", "PGDATABASE") ?? pick("user", "PGUSER") ?? "postgres"
        let user = pick("user", "PGUSER")
        self.conninfo = raw
        self.target = "\(host):\(port)/\(db)" + (user.map { " as \($0)" } ?? "")
        self.database = db
        self.host = host
        self.port = port
        self.targetPrefix = "\(host):\(port)/"
        self.userSuffix = user.map { " as \($0)" } ?? ""
    }

    private let targetPrefix: String
    private let userSuffix: String

    /// The same server and credentials, another database.
    public func with(database name: String) -> ConnectionConfiguration {
        var copy = self
        copy.databaseOverride = name
        copy.overriddenTarget = targetPrefix + name + userSuffix
        return copy
    }

    private var overriddenTarget: String?
    /// The target to show in messages, taking an override into account.
    public var displayTarget: String { overriddenTarget ?? target }
}
