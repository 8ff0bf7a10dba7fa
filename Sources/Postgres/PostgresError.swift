/// An error from PostgreSQL or libpq, carrying what an operator needs to act on it.
///
/// `description` is deliberately generic (code, SQLSTATE, primary message): server detail lines
/// can quote row values (`Key (email)=(...)`), so they only appear in `String(reflecting:)`,
/// never in a log line built with string interpolation.
public struct PostgresError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What went wrong, broadly; grows without breaking callers who `switch` with a default.
    public enum Code: String, Sendable, Equatable {
        /// The connection string could not be parsed.
        case configuration
        /// Could not connect, or the connection broke.
        case connection
        /// The server rejected a statement.
        case server
        /// A value could not be decoded into the requested Swift type.
        case decoding
        /// A COPY stream failed on the client side.
        case copy
        /// The statement was cancelled (SIGTERM, `--max-duration`).
        case cancelled
    }

    public let code: Code
    /// The five-character SQLSTATE, when the server sent one.
    public let sqlState: String?
    /// The primary message (libpq or server); never contains bound parameter values.
    public let message: String
    public let detail: String?
    public let hint: String?
    /// Where: a host (never a password), a column, a migration name.
    public let context: String?

    /// For an error raised by `COPY … FROM STDIN`, the input line the server stopped at
    /// (header = line 1), so callers can name it without showing the row's data.
    public var copyLine: Int? {
        guard let context, context.hasPrefix("COPY "), let range = context.range(of: ", line ") else { return nil }
        return Int(context[range.upperBound...].prefix { $0.isNumber })
    }

    public init(
        code: Code, sqlState: String? = nil, message: String, detail: String? = nil, hint: String? = nil,
        context: String? = nil
    ) {
        self.code = code
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.hint = hint
        self.context = context
    }

    /// True for failures that a retry on a fresh connection may cure: connection exceptions
    /// (class 08), serialization failures (40001), deadlocks (40P01) and operator intervention
    /// (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now).
    public var isTransient: Bool {
        if isRefusedIdentity || sqlState == "3D000" { return false }
        if code == .connection { return true }
        guard let state = sqlState else { return false }
        return state.hasPrefix("08") || ["40001", "40P01", "57P01", "57P02", "57P03"].contains(state)
    }

    /// True when the server refused who we are (class 28: a wrong or expired password, no
    /// `pg_hba.conf` entry, an unknown role): waiting will not mend it.
    public var isRefusedIdentity: Bool { sqlState?.hasPrefix("28") ?? false }

    /// The error for a connection attempt that failed with libpq's `message`.
    ///
    /// libpq hands a failed connection's server error over as text only (no SQLSTATE), so the
    /// server's primary messages are recognised: authentication and authorisation (28P01, 28000)
    /// and an unknown database (3D000) must not pass for "temporarily unreachable", or an
    /// expired password would silently stop every job. Anything else is 08001, transient. The
    /// messages are PostgreSQL's English ones (`lc_messages` other than English on the server
    /// would make these 08001 again: docs/operations.md says so).
    public static func connectFailure(message: String, target: String) -> PostgresError {
        let state: String
        if message.contains("password authentication failed") || message.contains("authentication failed for user")
            || message.contains("no password supplied") || message.contains("password retrieved from file")
        {
            state = "28P01"
        } else if message.contains("no pg_hba.conf entry") || message.contains("pg_hba.conf rejects")
            || (message.contains("role \"") && message.contains("does not exist"))
            || message.contains("is not permitted to log in")
        {
            state = "28000"
        } else if message.contains("database \"") && message.contains("does not exist") {
            state = "3D000"
        } else {
            state = "08001"
        }
        return PostgresError(code: .connection, sqlState: state, message: message, context: target)
    }

    public var description: String {
        var text = "PostgreSQL \(code.rawValue) error"
        if let sqlState { text += " [SQLSTATE \(sqlState)]" }
        if let context { text += " (\(context))" }
        return text + ": " + message
    }

    public var debugDescription: String {
        var text = description
        if let detail { text += "\nDETAIL: \(detail)" }
        if let hint { text += "\nHINT: \(hint)" }
        return text
    }
}
