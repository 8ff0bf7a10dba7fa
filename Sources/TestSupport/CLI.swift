import Foundation
import Postgres

/// Runs the real `samia-batch` binary built next to the test bundle.
public enum CLI {
    public static var binary: String {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
                "samia-batch"
            ).path,
            TestCluster.repositoryRoot.appendingPathComponent(".build/debug/samia-batch").path,
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }

    /// The environment for a child: this process's PATH and HOME, JSON logs, and `extra`.
    public static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        let current = ProcessInfo.processInfo.environment
        var env: [String: String] = ["PATH": current["PATH"] ?? "/usr/bin:/bin", "SAMIA_LOG_FORMAT": "json"]
        if let home = current["HOME"] { env["HOME"] = home }
        env.merge(extra) { $1 }
        return env
    }

    /// Runs `samia-batch ARGS` against `database` (as DATABASE_URL).
    public static func run(_ arguments: [String], database: ConnectionConfiguration? = nil, env: [String: String] = [:])
        throws -> Shell.Result
    {
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw TestSupportError.binaryMissing(binary) }
        var extra = env
        if let database { extra["DATABASE_URL"] = database.conninfo }
        return try Shell.run(binary, arguments, environment: environment(extra))
    }

    public static func start(
        _ arguments: [String], database: ConnectionConfiguration? = nil, env: [String: String] = [:]
    )
        throws -> RunningProcess
    {
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw TestSupportError.binaryMissing(binary) }
        var extra = env
        if let database { extra["DATABASE_URL"] = database.conninfo }
        return try Shell.start(binary, arguments, environment: environment(extra))
    }
}
