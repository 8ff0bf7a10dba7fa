import Foundation
import Postgres
import Runner

/// samia-batch's migrations, shipped as SQL files in this module's resources.
public enum SchemaMigrations {
    /// Ledger names carry this prefix so they never collide with the platform's own migrations
    /// in a shared `_migrations` table.
    public static let prefix = "samia-batch/"

    /// All migrations in file-name order.
    public static func all() throws -> [Migration] {
        try load(directory: "migrations", prefix: prefix)
    }

    static func load(directory: String, prefix: String) throws -> [Migration] {
        guard let url = Bundle.module.url(forResource: directory, withExtension: nil) else {
            throw BatchError.configuration("resource folder \(directory) is missing from the installation")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: url.path)
            .filter { $0.hasSuffix(".sql") }.sorted()
        return try files.map { file in
            let sql = try String(contentsOf: url.appendingPathComponent(file), encoding: .utf8)
            return Migration(name: prefix + String(file.dropLast(4)), sql: sql)
        }
    }

    /// A SQL file from the `dev` resources (init and seed functions).
    public static func devSQL(_ name: String) throws -> String {
        guard let url = Bundle.module.url(forResource: "dev", withExtension: nil) else {
            throw BatchError.configuration("resource folder dev is missing from the installation")
        }
        return try String(contentsOf: url.appendingPathComponent(name), encoding: .utf8)
    }
}
