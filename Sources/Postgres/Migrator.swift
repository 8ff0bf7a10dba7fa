import Crypto
import Foundation

/// One ordered SQL migration. Its name is its identity in the ledger; its checksum proves
/// it has not been edited since it was applied.
public struct Migration: Sendable, Equatable {
    public let name: String
    public let sql: String

    public init(name: String, sql: String) {
        self.name = name
        self.sql = sql
    }

    /// SHA-256 of the SQL text, lowercase hex.
    public var checksum: String {
        SHA256.hash(data: Data(sql.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// Why a migration run stopped. Each case names the migration, so the operator knows which file.
public enum MigrationError: Error, CustomStringConvertible, Sendable {
    /// An applied migration's SQL changed since it ran: never re-run or silently accept it.
    case checksumMismatch(name: String, applied: String, current: String)
    /// The migration failed; its transaction was rolled back and nothing of it remains.
    case failed(name: String, underlying: PostgresError)
    /// Another process is migrating the same database right now.
    case locked

    public var description: String {
        switch self {
        case .checksumMismatch(let name, let applied, let current):
            return
                "migration \(name) was changed after it was applied (ledger checksum \(applied.prefix(12))…, file \(current.prefix(12))…); restore the original file and add a new migration instead"
        case .failed(let name, let underlying):
            return "migration \(name) failed and was rolled back: \(underlying)"
        case .locked:
            return "another samia-batch migrate is running against this database"
        }
    }
}

/// The state of one migration, for `migrate --status`.
public struct MigrationStatus: Sendable, Equatable {
    public enum State: String, Sendable { case applied, pending, changed }
    public let name: String
    public let state: State
    public let appliedAt: Date?
}

/// Applies ordered migrations into a `_migrations(name, checksum, applied_at)` ledger, the same
/// shape the platform's own migrator uses, so both can live in one database.
///
/// Every migration runs in its own transaction together with its ledger row: it is either
/// wholly applied and recorded, or not at all.
public struct Migrator {
    public static let lockKey = AdvisoryLockKey("samia-batch:migrate")
    public let connection: Connection
    public let migrations: [Migration]
    public let ledger: String

    public init(connection: Connection, migrations: [Migration], ledger: String = "_migrations") {
        self.connection = connection
        self.migrations = migrations
        self.ledger = ledger
    }

    /// Creates the ledger if missing. Idempotent.
    public func ensureLedger() throws(PostgresError) {
        try connection.execute(
            """
            CREATE TABLE IF NOT EXISTS \(ledger) (
              name text PRIMARY KEY,
              checksum text NOT NULL,
              applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
    }

    func applied() throws(PostgresError) -> [String: (checksum: String, at: Date)] {
        var map: [String: (String, Date)] = [:]
        for row in try connection.query("SELECT name, checksum, applied_at FROM \(ledger)") {
            map[try row.decode("name")] = (try row.decode("checksum"), try row.decode("applied_at"))
        }
        return map
    }

    /// Applied, pending and changed migrations, in order.
    public func status() throws(PostgresError) -> [MigrationStatus] {
        let exists: Bool = try connection.scalar("SELECT to_regclass($1) IS NOT NULL", [ledger]) ?? false
        let done = exists ? try applied() : [:]
        return migrations.map { m in
            guard let row = done[m.name] else { return MigrationStatus(name: m.name, state: .pending, appliedAt: nil) }
            return MigrationStatus(
                name: m.name, state: row.checksum == m.checksum ? .applied : .changed, appliedAt: row.at)
        }
    }

    /// Applies every pending migration in order; returns the names applied now.
    ///
    /// Checks every applied checksum before applying anything, so drift stops the run with
    /// the schema untouched.
    @discardableResult
    public func migrate() throws -> [String] {
        guard try connection.tryAdvisoryLock(Migrator.lockKey) else { throw MigrationError.locked }
        defer { _ = try? connection.advisoryUnlock(Migrator.lockKey) }
        try ensureLedger()
        let done = try applied()
        for m in migrations {
            if let row = done[m.name], row.checksum != m.checksum {
                throw MigrationError.checksumMismatch(name: m.name, applied: row.checksum, current: m.checksum)
            }
        }
        var appliedNow: [String] = []
        for m in migrations where done[m.name] == nil {
            do {
                try connection.transaction { c in
                    try c.execute(m.sql)
                    try c.query(
                        "INSERT INTO \(ledger) (name, checksum) VALUES ($1, $2)", [m.name, m.checksum])
                }
            } catch let error as PostgresError {
                throw MigrationError.failed(name: m.name, underlying: error)
            }
            appliedNow.append(m.name)
        }
        return appliedNow
    }
}
