import Foundation
import Postgres
import Schema
import Threads

/// One real PostgreSQL 15 cluster per test process, started by `scripts/pg-start.sh` on first
/// use and stopped when the process exits. Tests get fresh databases cloned from a migrated
/// template, so they never see each other's rows.
public final class TestCluster: Sendable {
    public let directory: String
    /// `PGHOST`, `PGPORT`, `PGUSER` for this cluster, for libpq and for child processes.
    public let environment: [String: String]
    /// Databases are created one at a time: PostgreSQL refuses to copy a template that is in use.
    private let createLock = NSLock()
    private static let template = "samia_template"

    /// The shared cluster; the first caller starts it.
    public static func shared() throws -> TestCluster { try sharedResult.get() }

    private static let sharedResult: Result<TestCluster, any Error> = Result { try TestCluster() }

    /// The repository root, found from this source file's location.
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    private init() throws {
        directory = "/tmp/samia-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let script = TestCluster.repositoryRoot.appendingPathComponent("scripts/pg-start.sh").path
        let result = try Shell.run("/bin/bash", [script, directory])
        guard result.status == 0 else {
            throw TestSupportError.clusterFailed("pg-start.sh exited \(result.status): \(result.stderr)")
        }
        var env: [String: String] = [:]
        for line in result.stdout.split(separator: "\n") where line.hasPrefix("export ") {
            let pair = line.dropFirst(7).split(separator: "=", maxSplits: 1)
            if pair.count == 2 { env[String(pair[0])] = String(pair[1]) }
        }
        guard env["PGHOST"] != nil, env["PGPORT"] != nil else {
            throw TestSupportError.clusterFailed("pg-start.sh printed no PGHOST/PGPORT")
        }
        environment = env
        TestCluster.stopAtExit(directory)
        try createTemplate()
    }

    private static let stopList = StopList()

    private static func stopAtExit(_ directory: String) {
        stopList.add(directory)
        atexit {
            for dir in TestCluster.stopList.all() {
                let script = TestCluster.repositoryRoot.appendingPathComponent("scripts/pg-stop.sh").path
                _ = try? Shell.run("/bin/bash", [script, dir, "--remove"])
            }
        }
    }

    /// A configuration for database `name` on this cluster, as a conninfo string.
    public func configuration(database: String) throws -> ConnectionConfiguration {
        try ConnectionConfiguration(conninfo: conninfo(database: database), environment: [:])
    }

    public func conninfo(database: String) -> String {
        "host=\(environment["PGHOST"]!) port=\(environment["PGPORT"]!) user=postgres dbname=\(database)"
    }

    private func createTemplate() throws {
        let admin = try Connection(try configuration(database: "postgres"))
        defer { admin.close() }
        try admin.execute("CREATE DATABASE \(TestCluster.template)")
        let conn = try Connection(try configuration(database: TestCluster.template))
        defer { conn.close() }
        try Migrator(connection: conn, migrations: SchemaMigrations.all()).migrate()
        let devInit = try String(
            contentsOf: TestCluster.repositoryRoot.appendingPathComponent("Sources/Pipelines/Schema/dev/init.sql"),
            encoding: .utf8)
        try conn.execute(devInit)
        try conn.query("INSERT INTO samia_dev.marker (created_by) VALUES ('test template')")
    }

    /// A new database cloned from the migrated template (a dev database: it carries the marker).
    public func freshDatabase(migrated: Bool = true) throws -> ConnectionConfiguration {
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20)
        try createLock.withLock {
            let admin = try Connection(try configuration(database: "postgres"))
            defer { admin.close() }
            try admin.execute(
                migrated ? "CREATE DATABASE \(name) TEMPLATE \(TestCluster.template)" : "CREATE DATABASE \(name)")
        }
        return try configuration(database: String(name))
    }
}

final class StopList: Sendable {
    private let dirs = Locked<[String]>([])
    func add(_ d: String) { dirs.withLock { $0.append(d) } }
    func all() -> [String] { dirs.withLock { $0 } }
}

public enum TestSupportError: Error, CustomStringConvertible {
    case clusterFailed(String)
    case binaryMissing(String)
    case toolFailed(String)
    public var description: String {
        switch self {
        case .clusterFailed(let m): return "test cluster: \(m)"
        case .binaryMissing(let m): return "samia-batch binary not found at \(m); run `swift build` first"
        case .toolFailed(let m): return m
        }
    }
}
