import Foundation
import Postgres
import TestSupport
import Testing

/// What on-call relies on, through real processes: one nightly at a time, a failed job
/// stopping only its dependents, SIGTERM mid-night, catch-up from the ledger, dead-man pings
/// to a real HTTP listener, and refusal of a transaction-mode pooler (a real PgBouncer).
@Suite("Operations", .serialized)
struct OperationsTests {
    let config: ConnectionConfiguration
    let db: Connection
    let dir = NSTemporaryDirectory() + "samia-ops-\(UUID().uuidString)"

    init() throws {
        config = try TestCluster.shared().freshDatabase()
        db = try Connection(config)
        try FileManager.default.createDirectory(atPath: dir + "/storage", withIntermediateDirectories: true)
        // The KPI tables carry a row per service and day; the quality check wants them all.
        try db.execute("INSERT INTO public.services (code, name, base_price) VALUES ('tarot', 'Tarot', 25.00)")
    }

    var env: [String: String] {
        SellerEnvironment.all.merging(["SAMIA_STORAGE_DIR": dir + "/storage"]) { $1 }
    }

    func psql(_ sql: String) throws -> String { try SQL.psql(config.conninfo, sql) }

    func waitFor(_ sql: String, timeout: Double = 30) throws {
        let start = Date()
        while Date().timeIntervalSince(start) < timeout {
            if try psql(sql) == "t" { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        Issue.record("timed out waiting for: \(sql)")
    }

    /// Holds an exclusive lock on `events_raw` (which the metrics job reads) until `release`.
    func blockMetrics() throws -> Connection {
        let blocker = try Connection(config)
        try blocker.execute("BEGIN; LOCK TABLE public.events_raw IN ACCESS EXCLUSIVE MODE")
        return blocker
    }

    @Test func twoNightliesStartedTogetherRunOneNight() throws {
        let blocker = try blockMetrics()
        let first = try CLI.start(["nightly", "--date", "2026-11-01"], database: config, env: env)
        try waitFor("SELECT EXISTS (SELECT 1 FROM batch_runs WHERE job = 'metrics' AND status = 'running')")
        let second = try CLI.run(["nightly", "--date", "2026-11-01"], database: config, env: env)
        #expect(second.status == 79, "\(second.stdout) \(second.stderr)")
        #expect(second.stderr.contains("nightly is already running"))
        try blocker.execute("COMMIT")
        let done = first.wait()
        #expect(done.status == 0, "\(done.stdout) \(done.stderr)")
        #expect(done.stdout.contains("nightly 2026-11-01: 3 of 3 job(s) ok"))
        // The second start touched nothing: one run per job.
        #expect(
            try psql("SELECT string_agg(job || ':' || status, ',' ORDER BY id) FROM batch_runs")
                == "invoices:succeeded,metrics:succeeded,retention:succeeded")
    }

    @Test func aFailedJobStopsItsDependentsAndNoOthers() throws {
        _ = try psql("ALTER TABLE public.events_raw RENAME TO events_raw_away")
        let night = try CLI.run(["nightly", "--date", "2026-11-02"], database: config, env: env)
        #expect(night.status == 1, "\(night.stdout) \(night.stderr)")
        #expect(night.stdout.contains("nightly 2026-11-02: 1 of 3 job(s) ok; not ok: metrics, retention"))
        #expect(night.stdout.contains("invoices (none): ok"))
        #expect(night.stdout.contains("metrics day 2026-11-02: FAILED, exit 1"))
        #expect(night.stdout.contains("retention (none): NOT RUN: depends on metrics"))
        #expect(
            try psql("SELECT string_agg(job || ':' || status, ',' ORDER BY id) FROM batch_runs")
                == "invoices:succeeded,metrics:failed")
        // Mended, the same night completes; metrics' day is due again because it failed.
        _ = try psql("ALTER TABLE public.events_raw_away RENAME TO events_raw")
        let again = try CLI.run(["nightly", "--date", "2026-11-02"], database: config, env: env)
        #expect(again.status == 0, "\(again.stdout) \(again.stderr)")
        #expect(try psql("SELECT count(*) FROM batch_runs WHERE job = 'retention' AND status = 'succeeded'") == "1")
        // A job whose settings are missing fails alone, with the configuration code.
        let unconfigured = try CLI.run(
            ["nightly", "--date", "2026-11-05"], database: config, env: ["SAMIA_STORAGE_DIR": dir + "/storage"])
        #expect(unconfigured.status == 78, "\(unconfigured.stdout) \(unconfigured.stderr)")
        #expect(unconfigured.stdout.contains("invoices (none): FAILED, exit 78"))
        #expect(unconfigured.stdout.contains("metrics day 2026-11-05: ok"))
        #expect(unconfigured.stderr.contains("INVOICE_FROM_NAME"), "\(unconfigured.stderr)")
    }

    @Test func sigtermMidNightAbortsReleasesTheLocksAndARerunCompletes() throws {
        let blocker = try blockMetrics()
        let night = try CLI.start(["nightly", "--date", "2026-11-03"], database: config, env: env)
        try waitFor("SELECT EXISTS (SELECT 1 FROM batch_runs WHERE job = 'metrics' AND status = 'running')")
        Thread.sleep(forTimeInterval: 0.3)
        night.signal(SIGTERM)
        let result = night.wait()
        try blocker.execute("ROLLBACK")
        #expect(result.status == 75, "\(result.stdout) \(result.stderr)")
        #expect(result.stdout.contains("retention (none): NOT RUN: the night was interrupted"))
        #expect(try psql("SELECT status FROM batch_runs WHERE job = 'metrics'") == "aborted")
        #expect(try psql("SELECT count(*) FROM batch_runs WHERE job = 'retention'") == "0")
        // No advisory lock of ours is left behind, and the night runs again to the end.
        #expect(
            try psql(
                "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND d.datname = current_database()"
            ) == "0")
        let rerun = try CLI.run(["nightly", "--date", "2026-11-03"], database: config, env: env)
        #expect(rerun.status == 0, "\(rerun.stdout) \(rerun.stderr)")
        #expect(try psql("SELECT status FROM batch_runs WHERE job = 'metrics' ORDER BY id DESC LIMIT 1") == "succeeded")
    }

    @Test func backfillRunsThePartitionsTheLedgerSaysAreDue() throws {
        // History: the 1st succeeded, the 2nd failed, the 3rd never ran, the 4th and 5th were
        // covered by a range run that succeeded, the 6th's success was followed by a failure.
        _ = try psql(
            """
            INSERT INTO batch_runs (job, partition_key, status, host, version, finished_at) VALUES
              ('dev-exercise', '2026-10-01', 'succeeded', 'h', 'v', now()),
              ('dev-exercise', '2026-10-02', 'failed', 'h', 'v', now()),
              ('dev-exercise', '2026-10-04..2026-10-05', 'succeeded', 'h', 'v', now()),
              ('dev-exercise', '2026-10-06', 'succeeded', 'h', 'v', now()),
              ('dev-exercise', '2026-10-06', 'aborted', 'h', 'v', now())
            """)
        let plan = try CLI.run(
            ["backfill", "dev-exercise", "--from", "2026-10-01", "--to", "2026-10-06", "--dry-run"], database: config)
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("3 of 6 partition(s) to run"))
        for line in [
            "2026-10-01\tsucceeded\tskip", "2026-10-02\tfailed\twould run", "2026-10-03\tmissing\twould run",
            "2026-10-05\tsucceeded\tskip", "2026-10-06\tfailed\twould run",
        ] {
            #expect(plan.stdout.contains(line), "\(line)")
        }
        #expect(try psql("SELECT count(*) FROM batch_runs") == "5", "a dry run runs nothing")

        let missing = try CLI.run(
            ["backfill", "dev-exercise", "--from", "2026-10-01", "--to", "2026-10-06", "--only", "missing"],
            database: config)
        #expect(missing.status == 0, "\(missing.stderr)")
        #expect(try psql("SELECT string_agg(partition_key, ',') FROM batch_runs WHERE id > 5") == "2026-10-03")
        let failed = try CLI.run(
            ["backfill", "dev-exercise", "--from", "2026-10-01", "--to", "2026-10-06", "--only", "failed"],
            database: config)
        #expect(failed.status == 0, "\(failed.stderr)")
        #expect(
            try psql("SELECT string_agg(partition_key, ',' ORDER BY id) FROM batch_runs WHERE id > 6")
                == "2026-10-02,2026-10-06")
        // Everything is done now; the default picks nothing, --only all runs every day again.
        let none = try CLI.run(
            ["backfill", "dev-exercise", "--from", "2026-10-01", "--to", "2026-10-06"], database: config)
        #expect(none.stdout.contains("0 of 6 partition(s)"))
        let all = try CLI.run(
            ["backfill", "dev-exercise", "--from", "2026-10-01", "--to", "2026-10-06", "--only", "all"],
            database: config)
        #expect(all.status == 0)
        #expect(try psql("SELECT count(*) FROM batch_runs WHERE id > 8 AND status = 'succeeded'") == "6")
        // Mistakes are usage errors that run nothing.
        #expect(
            try CLI.run(["backfill", "invoices", "--from", "2026-10-01", "--to", "2026-10-02"], database: config).status
                == 64)
        #expect(
            try CLI.run(["backfill", "metrics", "--from", "2026-10-05", "--to", "2026-10-01"], database: config).status
                == 64)
        #expect(
            try CLI.run(["backfill", "reconcile", "--from", "2026-13", "--to", "2026-12"], database: config).status
                == 64)
    }

    /// A real HTTP listener that records every request (method, path and query, body).
    final class PingListener {
        let port = Int.random(in: 40_001...50_000)
        let log: String
        let process: RunningProcess

        init(dir: String) throws {
            log = dir + "/pings.log"
            let script = """
                import http.server, sys
                class H(http.server.BaseHTTPRequestHandler):
                    def handle_one(self):
                        n = int(self.headers.get('Content-Length') or 0)
                        body = self.rfile.read(n).decode() if n else ''
                        with open(sys.argv[2], 'a') as f:
                            f.write(self.command + ' ' + self.path + ' ' + body.replace('\\n', '|') + '\\n')
                        self.send_response(200); self.end_headers(); self.wfile.write(b'OK')
                    do_GET = handle_one
                    do_POST = handle_one
                    def log_message(self, *a): pass
                http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
                """
            process = try Shell.start("/usr/bin/python3", ["-c", script, String(port), log])
            for _ in 0..<100 {
                if (try? Shell.run(
                    "/usr/bin/python3", ["-c", "import socket; socket.create_connection(('127.0.0.1', \(port)), 1)"]))?
                    .status == 0
                {
                    return
                }
                Thread.sleep(forTimeInterval: 0.1)
            }
        }

        var lines: [String] {
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }

        deinit { process.signal(SIGKILL); _ = process.wait() }
    }

    @Test func deadMansSwitchPingsStartSuccessAndFailureAndNeverFailsAJob() throws {
        let listener = try PingListener(dir: dir)
        let base = "http://127.0.0.1:\(listener.port)/ping"
        let ok = try CLI.run(
            ["dev", "exercise", "--seconds", "0.1", "--date", "2026-10-10"], database: config,
            env: ["SAMIA_PING_BASE_URL": base])
        #expect(ok.status == 0, "\(ok.stderr)")
        let run = try psql("SELECT max(id) FROM batch_runs")
        let first = listener.lines
        #expect(first.count == 2, "\(first)")
        #expect(first.first?.hasPrefix("GET /ping/dev-exercise/start?rid=\(run) ") == true, "\(first)")
        #expect(first.last?.hasPrefix("POST /ping/dev-exercise?rid=\(run) ") == true, "\(first)")
        #expect(first.last?.contains("run_finished") == true, "the success ping carries the log's last lines")

        // A failure pings <url>/<exit code>; a per-job URL wins over the base.
        let failed = try CLI.run(
            ["dev", "exercise", "--fail", "bad-input", "--date", "2026-10-11"], database: config,
            env: ["SAMIA_PING_BASE_URL": base, "SAMIA_PING_URL_DEV_EXERCISE": "http://127.0.0.1:\(listener.port)/own"])
        #expect(failed.status == 65)
        let second = Array(listener.lines.dropFirst(2))
        #expect(second.count == 2, "\(second)")
        #expect(second.last?.hasPrefix("POST /own/65?rid=") == true, "\(second)")
        #expect(second.last?.contains("exercise.csv") == true, "the failure ping says why")

        // Nobody listening: the job still succeeds, and the log names the host, not the key.
        let dead = try CLI.run(
            ["dev", "exercise", "--seconds", "0", "--date", "2026-10-12"], database: config,
            env: ["SAMIA_PING_URL_DEV_EXERCISE": "http://127.0.0.1:1/secret-check-key"])
        #expect(dead.status == 0, "\(dead.stderr)")
        #expect(dead.stderr.contains("ping_failed"))
        #expect(!dead.stderr.contains("secret-check-key"))
        // A URL that is not one is a configuration error before anything runs.
        let bad = try CLI.run(
            ["dev", "exercise", "--seconds", "0", "--date", "2026-10-13"], database: config,
            env: ["SAMIA_PING_URL_DEV_EXERCISE": "hc-ping.com/no-scheme"])
        #expect(bad.status == 78)
        #expect(try psql("SELECT count(*) FROM batch_runs WHERE partition_key = '2026-10-13'") == "0")
    }

    /// A real Prometheus Pushgateway (Debian's package), as a Kubernetes CronJob would push to.
    @Test func runsPushTheirMetricsToAPushgatewayAndAFailureKeepsTheLastSuccess() throws {
        let port = Int.random(in: 50_001...60_000)
        let gateway = try Shell.start(
            "/usr/bin/prometheus-pushgateway", ["--web.listen-address=127.0.0.1:\(port)", "--log.level=error"])
        defer {
            gateway.signal(SIGKILL)
            _ = gateway.wait()
        }
        let base = "http://127.0.0.1:\(port)"
        func get(_ path: String) throws -> Shell.Result {
            try Shell.run(
                "/usr/bin/python3",
                [
                    "-c",
                    "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())",
                    base + path,
                ])
        }
        func scrape() throws -> [String] {
            let r = try get("/metrics")
            return r.status == 0
                ? r.stdout.split(separator: "\n").map(String.init).filter { $0.contains("dev-exercise") } : []
        }
        for _ in 0..<100 where try get("/-/ready").status != 0 { Thread.sleep(forTimeInterval: 0.1) }
        func value(_ name: String, in lines: [String]) -> String? {
            lines.first { $0.hasPrefix(name + "{") }?.split(separator: " ").last.map(String.init)
        }

        let ok = try CLI.run(
            ["dev", "exercise", "--seconds", "0.1", "--date", "2026-10-20"], database: config,
            env: ["SAMIA_PUSHGATEWAY_URL": base + "/"])
        #expect(ok.status == 0, "\(ok.stderr)")
        let first = try scrape()
        #expect(value("samia_batch_last_run_success", in: first) == "1", "\(first)")
        #expect(first.contains { $0.hasPrefix("samia_batch_last_run_success{") && $0.contains("job=\"dev-exercise\"") })
        let success = try #require(value("samia_batch_last_success_timestamp_seconds", in: first))
        #expect(abs((Double(success) ?? 0) - Date().timeIntervalSince1970) < 120, "\(success)")

        // A failed run: success 0, and the last success is the one before.
        Thread.sleep(forTimeInterval: 1.1)
        let failed = try CLI.run(
            ["dev", "exercise", "--fail", "bad-input", "--date", "2026-10-21"], database: config,
            env: ["SAMIA_PUSHGATEWAY_URL": base])
        #expect(failed.status == 65)
        let second = try scrape()
        #expect(value("samia_batch_last_run_success", in: second) == "0", "\(second)")
        #expect(value("samia_batch_last_success_timestamp_seconds", in: second) == success, "\(second)")
        #expect(
            value("samia_batch_last_run_timestamp_seconds", in: second)
                != value("samia_batch_last_run_timestamp_seconds", in: first))

        // A gateway that is down never fails the job; a value that is no URL stops it first.
        let down = try CLI.run(
            ["dev", "exercise", "--seconds", "0", "--date", "2026-10-22"], database: config,
            env: ["SAMIA_PUSHGATEWAY_URL": "http://127.0.0.1:1"])
        #expect(down.status == 0 && down.stderr.contains("metrics_push_failed"), "\(down.stderr)")
        let bad = try CLI.run(
            ["dev", "exercise", "--seconds", "0", "--date", "2026-10-23"], database: config,
            env: ["SAMIA_PUSHGATEWAY_URL": "pushgateway:9091"])
        #expect(bad.status == 78 && bad.stderr.contains("SAMIA_PUSHGATEWAY_URL"), "\(bad.stderr)")
        #expect(try psql("SELECT count(*) FROM batch_runs WHERE partition_key = '2026-10-23'") == "0")
    }

    /// A Pushgateway behind basic auth (its own `--web.config.file`, a bcrypt hash made by
    /// Python's `crypt`): the credentials come from the file `SAMIA_PUSHGATEWAY_AUTH_FILE` names,
    /// a push without them or with a wrong password is refused by the gateway (and logged, the
    /// job still succeeds), and credentials in the URL or a file without a URL stop the job first.
    @Test func pushesToAGatewayBehindBasicAuthWithCredentialsFromAFile() throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let hash = try Shell.run(
            "/usr/bin/python3",
            [
                "-W", "ignore", "-c",
                "import crypt; print(crypt.crypt('s3cret-Pw', crypt.mksalt(crypt.METHOD_BLOWFISH)))",
            ])
        #expect(hash.status == 0 && hash.stdout.hasPrefix("$2"), "\(hash.stderr)")
        let webConfig = dir + "/web.yml"
        try "basic_auth_users:\n  samia: '\(hash.stdout.trimmingCharacters(in: .whitespacesAndNewlines))'\n".write(
            toFile: webConfig, atomically: true, encoding: .utf8)
        let port = Int.random(in: 50_001...60_000)
        let gateway = try Shell.start(
            "/usr/bin/prometheus-pushgateway",
            ["--web.listen-address=127.0.0.1:\(port)", "--web.config.file=\(webConfig)", "--log.level=error"])
        defer {
            gateway.signal(SIGKILL)
            _ = gateway.wait()
        }
        let base = "http://127.0.0.1:\(port)"
        func get(_ path: String, auth: Bool = true) throws -> Shell.Result {
            try Shell.run(
                "/usr/bin/python3",
                [
                    "-c",
                    """
                    import base64, sys, urllib.request
                    r = urllib.request.Request(sys.argv[1])
                    if sys.argv[2] == 'yes':
                        r.add_header('Authorization', 'Basic ' + base64.b64encode(b'samia:s3cret-Pw').decode())
                    sys.stdout.write(urllib.request.urlopen(r, timeout=5).read().decode())
                    """,
                    base + path, auth ? "yes" : "no",
                ])
        }
        for _ in 0..<100 where try get("/-/ready").status != 0 { Thread.sleep(forTimeInterval: 0.1) }
        #expect(try get("/metrics", auth: false).status != 0, "the gateway answered without credentials")
        func pushed() throws -> Bool {
            try get("/metrics").stdout.split(separator: "\n").contains {
                $0.hasPrefix("samia_batch_last_run_items{") && $0.contains("job=\"dev-exercise\"")
            }
        }
        let right = dir + "/pushgateway-auth"
        try "samia:s3cret-Pw\n".write(toFile: right, atomically: true, encoding: .utf8)
        let wrong = dir + "/pushgateway-auth-wrong"
        try "samia:not-it".write(toFile: wrong, atomically: true, encoding: .utf8)

        // No credentials, then the wrong ones: the gateway refuses, the job succeeds and says so.
        let none = try CLI.run(
            ["dev", "exercise", "--seconds", "0", "--date", "2026-10-24"], database: config,
            env: ["SAMIA_PUSHGATEWAY_URL": base])
        #expect(none.status == 0 && none.stderr.contains("metrics_push_failed"), "\(none.stderr)")
        let refused = try CLI.run(
            ["dev", "exercise", "--seconds", "0", "--date", "2026-10-25"], database: config,
            env: ["SAMIA_PUSHGATEWAY_URL": base, "SAMIA_PUSHGATEWAY_AUTH_FILE": wrong])
        #expect(refused.status == 0 && refused.stderr.contains("metrics_push_failed"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("not-it"))
        #expect(try !pushed())

        let ok = try CLI.run(
            ["dev", "exercise", "--seconds", "0", "--date", "2026-10-26"], database: config,
            env: ["SAMIA_PUSHGATEWAY_URL": base, "SAMIA_PUSHGATEWAY_AUTH_FILE": right])
        #expect(ok.status == 0 && !ok.stderr.contains("metrics_push_failed"), "\(ok.stderr)")
        #expect(try pushed())

        // Configuration errors, before any run is recorded, never echoing a password.
        for (variables, message) in [
            (
                ["SAMIA_PUSHGATEWAY_URL": "http://samia:s3cret-Pw@127.0.0.1:\(port)"],
                "must not carry credentials"
            ),
            (["SAMIA_PUSHGATEWAY_URL": base, "SAMIA_PUSHGATEWAY_AUTH_FILE": dir + "/missing"], "cannot be read"),
            (["SAMIA_PUSHGATEWAY_AUTH_FILE": right], "SAMIA_PUSHGATEWAY_URL is not"),
        ] {
            let bad = try CLI.run(
                ["dev", "exercise", "--seconds", "0", "--date", "2026-10-27"], database: config, env: variables)
            #expect(bad.status == 78 && bad.stderr.contains(message), "\(bad.stderr)")
            #expect(!bad.stderr.contains("s3cret-Pw"))
        }
        try "no colon here\n".write(toFile: wrong, atomically: true, encoding: .utf8)
        let malformed = try CLI.run(
            ["dev", "exercise", "--seconds", "0", "--date", "2026-10-27"], database: config,
            env: ["SAMIA_PUSHGATEWAY_URL": base, "SAMIA_PUSHGATEWAY_AUTH_FILE": wrong])
        #expect(malformed.status == 78 && malformed.stderr.contains("one line, user:password"), "\(malformed.stderr)")
        #expect(try psql("SELECT count(*) FROM batch_runs WHERE partition_key = '2026-10-27'") == "0")
    }

    @Test func aTransactionModePoolerIsRefusedAndASessionModeOneIsNot() throws {
        // Supabase's transaction-pooler port is refused before connecting.
        let port6543 = try CLI.run(
            ["dev", "exercise", "--seconds", "0"], env: ["DATABASE_URL": "postgresql://batch@127.0.0.1:6543/app"])
        #expect(port6543.status == 78, "\(port6543.stderr)")
        #expect(port6543.stderr.contains("transaction-mode connection pooler"))

        // A real PgBouncer in front of the test cluster, one database in each pool mode.
        let bouncer = try PgBouncer(cluster: try TestCluster.shared(), database: config.database, dir: dir)
        defer { bouncer.stop() }
        // Two server sessions exist, and round-robin hands them out in turn.
        try bouncer.warm(database: "tx")
        let refused = try CLI.run(["dev", "exercise", "--seconds", "0"], env: ["DATABASE_URL": bouncer.url("tx")])
        #expect(refused.status == 78, "\(refused.stderr)")
        #expect(refused.stderr.contains("different server sessions"))
        #expect(try psql("SELECT count(*) FROM batch_runs") == "0", "nothing ran")
        let session = try CLI.run(["dev", "exercise", "--seconds", "0"], env: ["DATABASE_URL": bouncer.url("session")])
        #expect(session.status == 0, "\(session.stderr)")
        #expect(try psql("SELECT count(*) FROM batch_runs WHERE status = 'succeeded'") == "1")
    }

    /// PgBouncer as installed, on its defaults: a transaction pool hands a quiet client's server
    /// session to the next client, and that is how it is recognised (78); session mode passes.
    @Test func aTransactionPoolerOnDefaultSettingsIsRefused() throws {
        let bouncer = try PgBouncer(
            cluster: try TestCluster.shared(), database: config.database, dir: dir, defaults: true)
        defer { bouncer.stop() }
        let refused = try CLI.run(["dev", "exercise", "--seconds", "0"], env: ["DATABASE_URL": bouncer.url("tx")])
        #expect(refused.status == 78, "\(refused.stderr)")
        #expect(refused.stderr.contains("same server session"), "\(refused.stderr)")
        #expect(refused.stderr.contains("session pooler"), "says what to use instead")
        #expect(try psql("SELECT count(*) FROM batch_runs") == "0", "nothing ran")
        let session = try CLI.run(["dev", "exercise", "--seconds", "0"], env: ["DATABASE_URL": bouncer.url("session")])
        #expect(session.status == 0, "\(session.stderr)")
    }
}

/// PgBouncer from Debian's package, run as `postgres` when the tests run as root.
final class PgBouncer {
    let port = Int.random(in: 50_001...60_000)
    let process: RunningProcess

    /// `defaults`: PgBouncer's own defaults (no round-robin, default pool size), as an
    /// operator installs it; otherwise round-robin over a pool of four.
    init(cluster: TestCluster, database: String, dir: String, defaults: Bool = false) throws {
        let binary = "/usr/sbin/pgbouncer"
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw TestSupportError.toolFailed("pgbouncer missing: make test installs Debian's pgbouncer")
        }
        let home = dir + "/pgbouncer" + (defaults ? "-defaults" : "")
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let pgPort = cluster.environment["PGPORT"]!
        let ini = """
            [databases]
            tx = host=127.0.0.1 port=\(pgPort) dbname=\(database) pool_mode=transaction
            session = host=127.0.0.1 port=\(pgPort) dbname=\(database) pool_mode=session
            [pgbouncer]
            listen_addr = 127.0.0.1
            listen_port = \(port)
            unix_socket_dir =
            auth_type = trust
            auth_file = \(home)/users.txt
            \(defaults ? "" : "server_round_robin = 1\ndefault_pool_size = 4")
            ignore_startup_parameters = extra_float_digits,options
            logfile = \(home)/pgbouncer.log
            """
        try ini.write(toFile: home + "/pgbouncer.ini", atomically: true, encoding: .utf8)
        try "\"postgres\" \"\"\n".write(toFile: home + "/users.txt", atomically: true, encoding: .utf8)
        for path in [dir, home, home + "/pgbouncer.ini", home + "/users.txt"] {
            chmod(path, 0o777)
        }
        process =
            getuid() == 0
            ? try Shell.start("/usr/sbin/runuser", ["-u", "postgres", "--", binary, home + "/pgbouncer.ini"])
            : try Shell.start(binary, [home + "/pgbouncer.ini"])
        for _ in 0..<100 {
            if (try? Connection(try ConnectionConfiguration(conninfo: url("session"), environment: [:]))) != nil {
                return
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw TestSupportError.toolFailed("pgbouncer did not start: \(process.wait().stderr)")
    }

    func url(_ database: String) -> String { "host=127.0.0.1 port=\(port) user=postgres dbname=\(database)" }

    /// Opens two server sessions behind `database` by holding two transactions at once.
    func warm(database: String) throws {
        let config = try ConnectionConfiguration(conninfo: url(database), environment: [:])
        let a = try Connection(config)
        let b = try Connection(config)
        try a.execute("BEGIN; SELECT 1")
        try b.execute("BEGIN; SELECT 1")
        try a.execute("COMMIT")
        try b.execute("COMMIT")
        a.close()
        b.close()
    }

    func stop() {
        process.signal(SIGTERM)
        _ = process.wait()
    }
}
