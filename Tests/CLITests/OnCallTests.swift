import Foundation
import Postgres
import TestSupport
import Testing

/// What on-call found failing open (issue 38), each through the real binary against the real
/// cluster: exit codes that page, pings and dry runs, the ledger's phantom runs, a role that
/// cannot see every row, and signals between runs.
@Suite("On-call", .serialized)
struct OnCallTests {
    let config: ConnectionConfiguration
    let db: Connection
    let dir = NSTemporaryDirectory() + "samia-oncall-\(UUID().uuidString)"

    init() throws {
        config = try TestCluster.shared().freshDatabase()
        db = try Connection(config)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    func psql(_ sql: String) throws -> String { try SQL.psql(config.conninfo, sql) }

    /// The same database over TCP as `user` with `password` (nil: none given).
    func tcp(user: String, password: String? = nil, database: String? = nil) throws -> String {
        let port = try TestCluster.shared().environment["PGPORT"]!
        var url = "host=127.0.0.1 port=\(port) user=\(user) dbname=\(database ?? config.database)"
        if let password { url += " password=\(password)" }
        return url
    }

    /// An expired or wrong password and an unknown role are 77, an unknown database 78: never
    /// 75, which the schedulers retry quietly and an expired password would never mend.
    @Test func refusedIdentityAndUnknownDatabaseAreNotTemporary() throws {
        let role = "oncall_\(UInt32.random(in: 0...UInt32.max))"
        _ = try psql(
            """
            DO $$ BEGIN CREATE ROLE samia_password_login NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
            CREATE ROLE \(role) LOGIN PASSWORD 'right-one' VALID UNTIL '2001-01-01' IN ROLE samia_password_login
            """)
        let cases: [(String, Int32, String)] = [
            (try tcp(user: role, password: "right-one"), 77, "password authentication failed"),
            (try tcp(user: role, password: "wrong-one"), 77, "password authentication failed"),
            (try tcp(user: role), 77, "no password supplied"),
            (try tcp(user: role + "_ghost"), 77, "does not exist"),
            (try tcp(user: "postgres", database: "no_such_db_\(role)"), 78, "does not exist"),
        ]
        for (url, status, message) in cases {
            let started = Date()
            let result = try CLI.run(
                ["dev", "exercise", "--seconds", "0", "--connect-attempts", "4"], env: ["DATABASE_URL": url])
            #expect(result.status == status, "\(url): \(result.stderr)")
            #expect(result.stderr.contains(message), "\(result.stderr)")
            #expect(!result.stderr.contains("right-one") && !result.stderr.contains("wrong-one"))
            // Refused at once: no connect retries with back-off.
            #expect(!result.stderr.contains("connect_retry"), "\(result.stderr)")
            #expect(Date().timeIntervalSince(started) < 10)
        }
        #expect(try psql("SELECT count(*) FROM batch_runs") == "0")
        // `--help` lists every status a scheduler must tell apart.
        let help = try CLI.run(["--help"])
        for code in ["75", "77", "78", "79"] { #expect(help.stdout.contains("  \(code)\t"), "\(help.stdout)") }
    }

    /// A second start while the job runs is the one benign failure: its own code, 79.
    @Test func aHeldLockIsItsOwnExitStatus() throws {
        let first = try CLI.start(["dev", "exercise", "--seconds", "3"], database: config)
        let start = Date()
        while try psql("SELECT count(*) FROM batch_runs WHERE status = 'running'") == "0" {
            if Date().timeIntervalSince(start) > 20 { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let second = try CLI.run(["dev", "exercise", "--seconds", "0"], database: config)
        #expect(second.status == 79, "\(second.stderr)")
        #expect(second.stderr.contains("already running"))
        // Kubernetes cannot count a failed pod as benign: there the setting makes it 0.
        let k8s = try CLI.run(
            ["dev", "exercise", "--seconds", "0"], database: config, env: ["SAMIA_ALREADY_RUNNING_EXIT": "0"])
        #expect(k8s.status == 0 && k8s.stderr.contains("already running"), "\(k8s.stderr)")
        #expect(first.wait().status == 0)
        #expect(try psql("SELECT count(*) FROM batch_runs") == "1")
    }
}

extension OnCallTests {
    /// A listener that accepts connections and never answers, as a hung monitor does.
    final class HungListener {
        let port = Int.random(in: 40_001...50_000)
        let process: RunningProcess

        init() throws {
            let script = """
                import socket, sys, time
                s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(64); held = []
                while True:
                    c, _ = s.accept(); held.append(c)
                """
            process = try Shell.start("/usr/bin/python3", ["-c", script, String(port)])
            for _ in 0..<100 {
                let probe = try Shell.run(
                    "/usr/bin/python3", ["-c", "import socket; socket.create_connection(('127.0.0.1', \(port)), 1)"])
                if probe.status == 0 { return }
                Thread.sleep(forTimeInterval: 0.1)
            }
        }

        deinit {
            process.signal(SIGKILL)
            _ = process.wait()
        }
    }

    /// A monitor that accepts and never answers costs seconds, not minutes, and never the job.
    @Test func aHungPingEndpointNeitherBlocksNorFailsTheJob() throws {
        let hung = try HungListener()
        let started = Date()
        let result = try CLI.run(
            ["dev", "exercise", "--seconds", "0"], database: config,
            env: ["SAMIA_PING_URL_DEV_EXERCISE": "http://127.0.0.1:\(hung.port)/check-key"])
        let took = Date().timeIntervalSince(started)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("ping_failed"))
        // Two pings (start, success), 3 s at most each: a timed-out ping is not asked again.
        #expect(took < 9, "took \(took) s")
        #expect(!result.stderr.contains("check-key"))
    }

    /// A dry run neither pings nor moves the last success a freshness check reads.
    @Test func aDryRunNeitherPingsNorLooksLikeASuccess() throws {
        let listener = try OperationsTests.PingListener(dir: dir)
        let textfile = dir + "/metrics.prom"
        let env = [
            "SAMIA_PING_BASE_URL": "http://127.0.0.1:\(listener.port)/ping", "SAMIA_METRICS_TEXTFILE": textfile,
        ]
        let dry = try CLI.run(["dev", "exercise", "--seconds", "0", "--dry-run"], database: config, env: env)
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(listener.lines.isEmpty, "\(listener.lines)")
        #expect(!FileManager.default.fileExists(atPath: textfile))
        let fresh = try CLI.run(["check-freshness", "--job", "dev-exercise", "--max-age", "1h"], database: config)
        #expect(fresh.status == 1, "a dry run is not a success: \(fresh.stdout)")
        // The real run does all three.
        let real = try CLI.run(["dev", "exercise", "--seconds", "0"], database: config, env: env)
        #expect(real.status == 0, "\(real.stderr)")
        #expect(listener.lines.count == 2, "\(listener.lines)")
        #expect(try String(contentsOfFile: textfile, encoding: .utf8).contains("samia_batch_last_success"))
        #expect(
            try CLI.run(["check-freshness", "--job", "dev-exercise", "--max-age", "1h"], database: config).status == 0)
    }
}
