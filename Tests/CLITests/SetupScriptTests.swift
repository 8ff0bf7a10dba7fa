import Foundation
import Postgres
import TestSupport
import Testing

/// The newcomer's scripts as root in a private home (issue 38): a checkout in a mode-700
/// directory, as `/root` is, where the `postgres` user cannot reach a cluster inside it.
@Suite("Setup scripts", .serialized)
struct SetupScriptTests {
    static let root = TestCluster.repositoryRoot.path
    let home = NSTemporaryDirectory() + "samia-home-\(UUID().uuidString)"

    init() throws {
        try FileManager.default.createDirectory(atPath: home + "/checkout", withIntermediateDirectories: true)
        chmod(home, 0o700)
    }

    @Test(.enabled(if: getuid() == 0, "the postgres user only exists for root's scripts"))
    func aClusterUnderAPrivateHomeStartsAndStopsAsRoot() throws {
        let dir = home + "/checkout/.pgdata"
        let started = try Shell.run("/bin/bash", [Self.root + "/scripts/pg-start.sh", dir])
        #expect(started.status == 0, "\(started.stderr)")
        #expect(started.stderr.contains("not reachable by the postgres user"), "\(started.stderr)")
        let cluster = try String(contentsOfFile: dir + "/cluster", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(cluster.hasPrefix("/var/tmp/samia-batch-pg-"))
        let host = started.stdout.split(separator: "\n").first { $0.hasPrefix("export PGHOST=") }?.dropFirst(14)
        let port = started.stdout.split(separator: "\n").first { $0.hasPrefix("export PGPORT=") }?.dropFirst(14)
        let answer = try Shell.run(
            "/usr/bin/psql",
            [
                "-X", "-At", "-h", String(host ?? ""), "-p", String(port ?? ""), "-U", "postgres",
                "-d", "postgres", "-c", "SELECT 6 * 7",
            ])
        #expect(answer.stdout == "42\n", "\(answer.stderr)")
        // Started again while running: the same cluster, not a second one.
        let again = try Shell.run("/bin/bash", [Self.root + "/scripts/pg-start.sh", dir])
        #expect(again.status == 0 && again.stdout == started.stdout, "\(again.stderr)")
        let stopped = try Shell.run("/bin/bash", [Self.root + "/scripts/pg-stop.sh", dir, "--remove"])
        #expect(stopped.status == 0, "\(stopped.stderr)")
        #expect(!FileManager.default.fileExists(atPath: cluster) && !FileManager.default.fileExists(atPath: dir))
    }

    /// A cluster that cannot start stops the demo at once with pg-start's own message, never
    /// with "PGHOST: unbound variable" further down.
    @Test func theDemoStopsClearlyWhenItsDatabaseCannotStart() throws {
        let result = try Shell.run(
            "/bin/bash", [Self.root + "/scripts/demo.sh", home + "/checkout/.pgdata", home + "/checkout/out", "1"],
            environment: CLI.environment(["PG_BINDIR": "/nonexistent/bin", "SAMIA_BIN": CLI.binary]))
        #expect(result.status != 0)
        #expect(result.stderr.contains("no PostgreSQL 15 at /nonexistent/bin"), "\(result.stderr)")
        #expect(result.stderr.contains("demo: the PostgreSQL cluster did not start"), "\(result.stderr)")
        #expect(!result.stderr.contains("unbound variable"), "\(result.stderr)")
        let missing = try Shell.run(
            "/bin/bash", [Self.root + "/scripts/demo.sh", home + "/checkout/.pgdata", home + "/checkout/out", "1"],
            environment: CLI.environment(["SAMIA_BIN": home + "/no-such-binary"]))
        #expect(missing.status == 78 && missing.stderr.contains("make demo builds it"), "\(missing.stderr)")
    }
}
