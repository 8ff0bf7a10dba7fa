import Foundation
import Logging
import Postgres
import Runner
import Schema

/// Development databases: created by `dev init`, the only ones `dev seed` will write into.
public struct DevDatabase {
    public let configuration: ConnectionConfiguration
    public let logger: Logger

    public init(configuration: ConnectionConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    static func validName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.count <= 63 else { return false }
        return (first == "_" || ("a"..."z").contains(first))
            && name.unicodeScalars.allSatisfy { $0 == "_" || ("a"..."z").contains($0) || ("0"..."9").contains($0) }
    }

    /// Creates the database named in the configuration, migrates it and marks it as a dev database.
    /// With `reset`, an existing dev database of that name is dropped first; a database without
    /// the marker is never dropped.
    public func initialize(reset: Bool) throws {
        let name = configuration.database
        guard DevDatabase.validName(name) else {
            throw BatchError.configuration("dev database name \(name) must be lowercase letters, digits and _")
        }
        let admin = try Connection(configuration.with(database: "postgres"), applicationName: "samia-batch/dev-init")
        defer { admin.close() }
        let exists =
            try admin.scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", [name], as: Bool.self)
            ?? false
        if exists {
            let existing = try Connection(configuration, applicationName: "samia-batch/dev-init")
            let marked = try DevMarker.isPresent(existing)
            existing.close()
            guard marked else {
                throw BatchError.refused(
                    "database \(name) exists and was not created by samia-batch dev init; refusing to touch it")
            }
            guard reset else {
                throw BatchError.refused("dev database \(name) already exists; pass --reset to recreate it")
            }
            try admin.execute("DROP DATABASE \(SQLIdentifier.quote(name)) WITH (FORCE)")
        }
        try admin.execute("CREATE DATABASE \(SQLIdentifier.quote(name))")
        let connection = try Connection(configuration, applicationName: "samia-batch/dev-init")
        defer { connection.close() }
        try Migrator(connection: connection, migrations: SchemaMigrations.all()).migrate()
        try connection.execute(SchemaMigrations.devSQL("init.sql"))
        try connection.query("INSERT INTO samia_dev.marker (created_by) VALUES ($1)", ["samia-batch dev init"])
        logger.info("dev database ready", metadata: ["event": "dev_init", "database": .string(name)])
    }

    /// Fills every platform table with deterministic demo data. Refuses any database that
    /// `dev init` did not create.
    /// - Returns: row counts per table, as JSON.
    public func seed(scale: Int, seed: Int64, asOf: Date) throws -> String {
        guard (1...1000).contains(scale) else {
            throw BatchError.configuration("--scale must be between 1 and 1000")
        }
        let connection = try Connection(configuration, applicationName: "samia-batch/dev-seed")
        defer { connection.close() }
        guard try DevMarker.isPresent(connection) else {
            throw BatchError.refused(
                "database \(configuration.displayTarget) was not created by samia-batch dev init; refusing to write demo data into it"
            )
        }
        try connection.execute(SchemaMigrations.devSQL("seed.sql"))
        let counts = try connection.transaction { c in
            try c.execute("SET LOCAL max_parallel_workers_per_gather = 0")
            return try c.scalar("SELECT samia_dev.seed($1, $2, $3)::text", [scale, seed, asOf], as: String.self) ?? "{}"
        }
        try connection.execute("ANALYZE")
        return counts
    }
}
