import CLibPQ
import Foundation
import Logging
import Threads

/// One libpq connection, owned in one place.
///
/// libpq forbids two threads on one `PGconn`; every use goes through `lock`, so that cannot
/// happen by accident. The only call allowed from another thread is `cancel()`, which uses
/// libpq's thread-safe `PGcancel` object (SIGTERM and `--max-duration` rely on it).
public final class Connection: @unchecked Sendable {
    // Unchecked: the C handles are used only under `lock` and `cancelLock` (libpq's rule), which
    // Swift cannot see; the one C handle per connection stays owned here.
    private let lock = NSLock()
    private var handle: OpaquePointer?
    private let cancelLock = NSLock()
    private var cancelHandle: OpaquePointer?
    /// Receives the server's notices while `handle` lives; released with it.
    private var noticeSink: Unmanaged<NoticeSink>?
    public let configuration: ConnectionConfiguration
    let logger: Logger

    /// Connects and puts the session in UTC with ISO dates, so timestamps decode exactly.
    ///
    /// - Parameter applicationName: shown in `pg_stat_activity`, which is how an operator sees
    ///   which job holds a lock.
    public init(
        _ configuration: ConnectionConfiguration, applicationName: String = "samia-batch",
        logger: Logger = Logger(label: "samia.postgres")
    ) throws(PostgresError) {
        self.configuration = configuration
        self.logger = logger
        var keywords = ["connect_timeout", "fallback_application_name", "dbname"]
        var values = ["10", applicationName, configuration.conninfo]
        if let name = configuration.databaseOverride {
            // libpq expands only the first dbname; a later one is a plain name that overrides it.
            keywords.append("dbname")
            values.append(name)
        }
        let conn = withCStrings(keywords) { k in withCStrings(values) { v in PQconnectdbParams(k, v, 1) } }
        guard let conn else {
            throw PostgresError(code: .connection, message: "out of memory creating a connection")
        }
        guard PQstatus(conn) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(conn)).trimmingCharacters(in: .whitespacesAndNewlines)
            PQfinish(conn)
            throw PostgresError.connectFailure(message: message, target: configuration.displayTarget)
        }
        self.handle = conn
        self.noticeSink = NoticeSink.install(on: conn, logger: logger)
        self.cancelHandle = PQgetCancel(conn)
        try execute("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'iso_8601'")
    }

    deinit { close() }

    /// Closes the connection; later calls fail with a connection error.
    public func close() {
        cancelLock.withLock {
            if let cancelHandle { PQfreeCancel(cancelHandle) }
            cancelHandle = nil
        }
        lock.withLock {
            if let handle { PQfinish(handle) }
            handle = nil
            noticeSink?.release()
            noticeSink = nil
        }
    }

    /// Asks the server to cancel whatever this connection is running. Safe from any thread.
    public func cancel() {
        cancelLock.withLock {
            guard let cancelHandle else { return }
            var buffer = [CChar](repeating: 0, count: 256)
            _ = PQcancel(cancelHandle, &buffer, Int32(buffer.count))
        }
    }

    /// The server's process id for this session, as in `pg_stat_activity.pid`.
    public var backendPID: Int32 {
        lock.withLock { handle.map { PQbackendPID($0) } ?? 0 }
    }

    /// True while the connection is usable.
    public var isOpen: Bool {
        lock.withLock { handle.map { PQstatus($0) == CONNECTION_OK } ?? false }
    }

    /// Runs a statement with parameters bound as `$1, $2, ...`. Values never become SQL text.
    @discardableResult
    public func query(_ sql: String, _ parameters: [any PostgresEncodable] = []) throws(PostgresError) -> QueryResult {
        let texts = parameters.map(\.postgresText)
        return try withHandle { conn throws(PostgresError) in
            let result: OpaquePointer? = withOptionalCStrings(texts) { values in
                PQexecParams(conn, sql, Int32(texts.count), nil, values, nil, nil, 0)
            }
            return try Connection.check(result, conn: conn, target: configuration.displayTarget)
        }
    }

    /// Runs one or more statements without parameters (DDL, migrations, `SET`).
    public func execute(_ sql: String) throws(PostgresError) {
        _ = try withHandle { conn throws(PostgresError) in
            try Connection.check(PQexec(conn, sql), conn: conn, target: configuration.displayTarget)
        }
    }

    /// Called before every COMMIT made through `transaction` or `commit()`; a throw rolls the
    /// transaction back instead. The runner sets it to re-check that the job still holds its
    /// lock, so work done after the lock was lost (a dropped lock connection) never commits.
    public var beforeCommit: (@Sendable () throws -> Void)? {
        get { hook.withLock { $0 } }
        set { hook.withLock { $0 = newValue } }
    }
    private let hook = Locked<(@Sendable () throws -> Void)?>(nil)

    /// Commits the open transaction after the `beforeCommit` check; on a failed check the
    /// transaction is rolled back and the check's error thrown.
    public func commit() throws {
        do { try beforeCommit?() } catch {
            try? execute("ROLLBACK")
            throw error
        }
        try execute("COMMIT")
    }

    /// Runs `body` in a transaction: COMMIT when it returns, ROLLBACK when it throws.
    public func transaction<T>(_ body: (Connection) throws -> T) throws -> T {
        try execute("BEGIN")
        do {
            let value = try body(self)
            try beforeCommit?()
            try execute("COMMIT")
            return value
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Runs `body` inside a savepoint of the current transaction; an error rolls back only it.
    public func savepoint<T>(_ name: String = "samia_sp", _ body: (Connection) throws -> T) throws -> T {
        precondition(
            name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }, "savepoint name must be an identifier")
        try execute("SAVEPOINT \(name)")
        do {
            let value = try body(self)
            try execute("RELEASE SAVEPOINT \(name)")
            return value
        } catch {
            try? execute("ROLLBACK TO SAVEPOINT \(name)")
            try? execute("RELEASE SAVEPOINT \(name)")
            throw error
        }
    }

    // MARK: - internals shared with COPY

    func withHandle<T>(_ body: (OpaquePointer) throws(PostgresError) -> T) throws(PostgresError) -> T {
        lock.lock()
        defer { lock.unlock() }
        guard let handle else {
            throw PostgresError(
                code: .connection, message: "connection is closed", context: configuration.displayTarget)
        }
        return try body(handle)
    }

    /// Turns a libpq result into a `QueryResult` or a `PostgresError` with SQLSTATE and fields.
    static func check(_ result: OpaquePointer?, conn: OpaquePointer, target: String) throws(PostgresError)
        -> QueryResult
    {
        guard let result else {
            throw connectionError(conn, target: target)
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY, PGRES_COPY_OUT, PGRES_COPY_IN:
            return QueryResult(owning: result)
        default:
            let error = resultError(result, conn: conn, target: target)
            PQclear(result)
            throw error
        }
    }

    static func resultError(_ result: OpaquePointer, conn: OpaquePointer, target: String) -> PostgresError {
        func field(_ code: Int32) -> String? { PQresultErrorField(result, code).map { String(cString: $0) } }
        let state = field(samia_pg_diag_sqlstate())
        let primary =
            field(samia_pg_diag_message_primary())
            ?? String(cString: PQresultErrorMessage(result)).trimmingCharacters(in: .whitespacesAndNewlines)
        if PQstatus(conn) != CONNECTION_OK && state == nil {
            return PostgresError(code: .connection, sqlState: "08006", message: primary, context: target)
        }
        let code: PostgresError.Code = state == "57014" ? .cancelled : .server
        return PostgresError(
            code: code, sqlState: state, message: primary, detail: field(samia_pg_diag_message_detail()),
            hint: field(samia_pg_diag_message_hint()), context: field(samia_pg_diag_context()).flatMap(copyPosition))
    }

    /// From a COPY error's context ("COPY t, line 7, column c3: <data>"), only "COPY t, line 7":
    /// the position is what an operator needs, and the data may be personal.
    static func copyPosition(_ context: String) -> String? {
        guard context.hasPrefix("COPY "), let line = context.range(of: ", line ") else { return nil }
        let digits = context[line.upperBound...].prefix { $0.isNumber }
        return digits.isEmpty ? nil : String(context[..<line.upperBound]) + digits
    }

    static func connectionError(_ conn: OpaquePointer, target: String) -> PostgresError {
        let message = String(cString: PQerrorMessage(conn)).trimmingCharacters(in: .whitespacesAndNewlines)
        return PostgresError(code: .connection, sqlState: "08006", message: message, context: target)
    }
}

extension Connection {
    /// Shorthand for a query that returns one value in its first row and column.
    public func scalar<T: PostgresDecodable>(
        _ sql: String, _ parameters: [any PostgresEncodable] = [], as: T.Type = T.self
    )
        throws(PostgresError) -> T?
    {
        let result = try query(sql, parameters)
        guard result.count > 0 else { return nil }
        return try result[0].decodeOptional(0, as: T.self)
    }
}

/// Calls `body` with a NULL-terminated C array of C strings.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    var pointers: [UnsafePointer<CChar>?] = copies.map { UnsafePointer($0) }
    pointers.append(nil)
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// Like `withCStrings`, but nil entries stay NULL (SQL NULL parameters).
func withOptionalCStrings<R>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    let copies = strings.map { $0.map { strdup($0) } ?? nil }
    defer { copies.forEach { free($0) } }
    let pointers: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
}
