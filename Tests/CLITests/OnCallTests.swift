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

extension OnCallTests {
    /// `artifacts get` writes where the operator points, never where a name from the database
    /// points: a path in `file_name` becomes a plain name in the current directory.
    @Test func artifactsGetNeverWritesWhereTheDatabaseNamePoints() throws {
        let storage = dir + "/storage"
        let work = dir + "/work/here"
        try FileManager.default.createDirectory(atPath: storage + "/finance", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let body = "ledger,1\n"
        try body.write(toFile: storage + "/finance/r.csv", atomically: true, encoding: .utf8)
        let sha = try Shell.run("/usr/bin/sha256sum", [storage + "/finance/r.csv"]).stdout.prefix(64)
        let id =
            try psql(
                """
                INSERT INTO batch_artifacts (kind, partition_key, version, storage_key, file_name, sha256, bytes)
                VALUES ('reconciliation', '2026-10', 1, 'finance/r.csv', '../../escaped.csv', '\(sha)', \(body.utf8.count))
                RETURNING id
                """
            ).split(separator: "\n").first.map(String.init) ?? ""
        func get(_ extra: [String]) throws -> Shell.Result {
            try Shell.run(
                "/bin/sh", ["-c", "cd \"$0\" && exec \"$@\"", work, CLI.binary, "artifacts", "get", id] + extra,
                environment: CLI.environment(["DATABASE_URL": config.conninfo, "SAMIA_STORAGE_DIR": storage]))
        }
        let result = try get([])
        #expect(result.status == 0, "\(result.stderr) \(result.stdout)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/escaped.csv"))
        #expect(try String(contentsOfFile: work + "/escaped.csv", encoding: .utf8) == body)
        // Not replaced unasked; a directory given with --out gets the plain name inside it.
        #expect(try get([]).status == 78)
        let elsewhere = dir + "/elsewhere"
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        #expect(try get(["--out", elsewhere]).status == 0)
        #expect(FileManager.default.fileExists(atPath: elsewhere + "/escaped.csv"))
        // A stored file that no longer matches its record leaves nothing behind.
        try "tampered\n".write(toFile: storage + "/finance/r.csv", atomically: true, encoding: .utf8)
        let bad = try get(["--out", dir + "/checked.csv"])
        #expect(bad.status == 1 && bad.stderr.contains("SHA-256"), "\(bad.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/checked.csv"))
    }
}

extension OnCallTests {
    /// Inserts a `running` row for `job` held open by the session with `pid`.
    func runningRow(_ job: String, sessionPID: Int32) throws -> String {
        try psql(
            """
            INSERT INTO batch_runs (job, partition_key, status, host, pid, version, session_pid)
            VALUES ('\(job)', 'none', 'running', 'gone-host', 4242, 'test', \(sessionPID)) RETURNING id
            """
        ).split(separator: "\n").first.map(String.init) ?? ""
    }

    /// A run whose process died (its session gone, its lock free) is marked aborted by the next
    /// start of any job and by `runs`, not only by the next run of the same job; live runs
    /// (session present, or lock held) are left alone.
    @Test func deadRunsOfAnyJobAreReapedByAnyStartAndByRuns() throws {
        let dead = try runningRow("reconcile", sessionPID: 999_999)
        let live = try runningRow("metrics", sessionPID: db.backendPID)
        // A session that holds the invoices lock, with the row's own session gone.
        let holder = try Connection(config)
        defer { holder.close() }
        #expect(try holder.tryAdvisoryLock(AdvisoryLockKey("samia-batch:job:invoices")))
        let locked = try runningRow("invoices", sessionPID: 999_998)
        // Sessions of another database on the same server, named as these runs' sessions would
        // be (run ids restart in every database): they are not these runs' sessions.
        let elsewhere = try TestCluster.shared().freshDatabase()
        var others: [Connection] = []
        defer { others.forEach { $0.close() } }
        for (job, id) in [("reconcile", dead), ("invoices", locked)] {
            let other = try Connection(elsewhere)
            try other.execute("SET application_name = 'samia-batch/\(job)/run-\(id)'")
            others.append(other)
        }
        #expect(try CLI.run(["dev", "exercise", "--seconds", "0"], database: config).status == 0)
        func status(_ id: String) throws -> String { try psql("SELECT status FROM batch_runs WHERE id = \(id)") }
        #expect(try status(dead) == "aborted")
        #expect(try psql("SELECT error FROM batch_runs WHERE id = \(dead)").contains("session is gone"))
        #expect(try status(live) == "running")
        #expect(try status(locked) == "running")
        // The lock released, `runs` alone clears it and says so.
        _ = try holder.advisoryUnlock(AdvisoryLockKey("samia-batch:job:invoices"))
        let runs = try CLI.run(["runs"], database: config)
        #expect(runs.status == 0 && runs.stderr.contains("marked 1 run(s) aborted"), "\(runs.stderr)")
        #expect(try status(locked) == "aborted")
        #expect(try status(live) == "running")
    }
}

extension OnCallTests {
    /// A role that row-level security hides rows from would see an empty world and succeed at
    /// nothing: refused with 78 before any work, naming the tables and the fix.
    @Test func aRoleThatCannotSeeEveryRowIsRefusedBeforeAnyWork() throws {
        let role = "limited_\(UInt32.random(in: 0...UInt32.max))"
        _ = try psql(
            """
            CREATE ROLE \(role) LOGIN NOSUPERUSER NOBYPASSRLS;
            GRANT USAGE ON SCHEMA public, samia_dev TO \(role);
            GRANT ALL ON ALL TABLES IN SCHEMA public, samia_dev TO \(role);
            GRANT ALL ON ALL SEQUENCES IN SCHEMA public, samia_dev TO \(role)
            """)
        let url = config.conninfo.replacingOccurrences(of: "user=postgres", with: "user=\(role)")
        #expect(url.contains(role))
        let refused = try CLI.run(["dev", "exercise", "--seconds", "0"], env: ["DATABASE_URL": url])
        #expect(refused.status == 78, "\(refused.stderr)")
        #expect(refused.stderr.contains("row-level security hides rows"), "\(refused.stderr)")
        #expect(refused.stderr.contains("public.profiles") || refused.stderr.contains("public."), "\(refused.stderr)")
        #expect(refused.stderr.contains("BYPASSRLS"))
        #expect(try psql("SELECT count(*) FROM batch_runs") == "0")
        _ = try psql("ALTER ROLE \(role) BYPASSRLS")
        let allowed = try CLI.run(["dev", "exercise", "--seconds", "0"], env: ["DATABASE_URL": url])
        #expect(allowed.status == 0, "\(allowed.stderr)")
    }
}

extension OnCallTests {
    /// SIGTERM while `backfill` is between runs (here: still reading the ledger, before its
    /// first run) stops it cleanly with 75 and no run started; before, the signal killed it.
    @Test func sigtermOutsideARunStopsABackfillCleanly() throws {
        let blocker = try Connection(config)
        try blocker.execute("BEGIN; LOCK TABLE public.batch_runs IN ACCESS EXCLUSIVE MODE")
        let backfill = try CLI.start(
            ["backfill", "metrics", "--from", "2026-10-01", "--to", "2026-10-03"], database: config)
        let start = Date()
        while try psql(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'samia-batch/backfill' AND wait_event_type = 'Lock'"
        ) == "0" {
            if Date().timeIntervalSince(start) > 20 { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        Thread.sleep(forTimeInterval: 0.2)
        backfill.signal(SIGTERM)
        Thread.sleep(forTimeInterval: 0.3)
        try blocker.execute("ROLLBACK")
        let result = backfill.wait()
        #expect(result.status == 75, "\(result.stdout) \(result.stderr)")
        #expect(result.stdout.contains("interrupted by signal \(SIGTERM) before 2026-10-01"), "\(result.stdout)")
        #expect(try psql("SELECT count(*) FROM batch_runs") == "0")
    }
}

extension OnCallTests {
    /// An operator ends a live run with `runs kill` (its sessions end, its lock is free, the row
    /// and the audit log say who and why) and records a dead one with `runs clear`, which
    /// refuses a live run.
    @Test func anOperatorKillsALiveRunAndClearsADeadOneWithAReasonOnRecord() throws {
        let running = try CLI.start(["dev", "exercise", "--seconds", "30"], database: config)
        let start = Date()
        while try psql("SELECT count(*) FROM batch_runs WHERE status = 'running'") == "0" {
            if Date().timeIntervalSince(start) > 20 { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let id = try psql("SELECT id FROM batch_runs WHERE status = 'running'")
        let refused = try CLI.run(["runs", "clear", id, "--reason", "looks stuck"], database: config)
        #expect(refused.status == 78 && refused.stderr.contains("is alive"), "\(refused.stderr)")
        let noReason = try CLI.run(["runs", "kill", id], database: config)
        #expect(noReason.status == 64)
        let killed = try CLI.run(
            ["runs", "kill", id, "--reason", "wedged on a lock", "--by", "oncall-amal"], database: config)
        #expect(killed.status == 0, "\(killed.stderr)")
        #expect(killed.stdout.contains("killed by oncall-amal"), "\(killed.stdout)")
        let ended = running.wait()
        #expect(ended.status != 0, "the killed run does not claim success")
        #expect(try psql("SELECT status FROM batch_runs WHERE id = \(id)") == "aborted")
        #expect(
            try psql("SELECT error FROM batch_runs WHERE id = \(id)")
                == "killed by operator oncall-amal: wedged on a lock")
        #expect(
            try psql("SELECT meta->>'reason' FROM audit_log WHERE event = 'batch_run_killed' AND entity_id = '\(id)'")
                == "wedged on a lock")
        // The lock is free: the job runs again at once.
        #expect(try CLI.run(["dev", "exercise", "--seconds", "0", "--force"], database: config).status == 0)
        // A dead run is cleared; a run that is not running, or does not exist, is bad input.
        let dead = try runningRow("parity", sessionPID: 999_997)
        let cleared = try CLI.run(["runs", "clear", dead, "--reason", "host lost", "--by", "amal"], database: config)
        #expect(cleared.status == 0, "\(cleared.stderr)")
        #expect(try psql("SELECT error FROM batch_runs WHERE id = \(dead)") == "cleared by operator amal: host lost")
        #expect(try CLI.run(["runs", "clear", dead, "--reason", "again"], database: config).status == 65)
        #expect(try CLI.run(["runs", "kill", "987654", "--reason", "nope"], database: config).status == 65)
        // `runs` without a subcommand still lists.
        let list = try CLI.run(["runs", "--json"], database: config)
        #expect(list.status == 0 && list.stdout.contains("\"status\":\"aborted\""), "\(list.stderr)")
    }
}

extension OnCallTests {
    /// GETs `url` with curl; the body, or "" when nothing answers.
    func fetch(_ url: String) throws -> String {
        try Shell.run("/usr/bin/curl", ["-s", "--max-time", "5", url]).stdout
    }

    struct ServerDidNotAnswer: Error, CustomStringConvertible {
        var description: String
    }

    /// Starts `binary` on a random port of `ports` and waits until `url(port)` answers. A server
    /// that exits first (its port taken by another test's server meanwhile) or stays silent for
    /// a minute (two cores shared with every other suite) is started again on another port.
    func serve(
        _ binary: String, ports: ClosedRange<Int>, _ arguments: (Int) -> [String], until url: (Int) -> String
    ) throws -> (process: RunningProcess, port: Int) {
        var said = ""
        for _ in 0..<3 {
            let port = Int.random(in: ports)
            let process = try Shell.start(binary, arguments(port))
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline && !process.hasExited {
                if !(try fetch(url(port))).isEmpty { return (process, port) }
                Thread.sleep(forTimeInterval: 0.2)
            }
            process.signal(SIGKILL)
            let result = process.wait()
            said = "\(binary) on port \(port) did not answer (exit \(result.status)): \(result.stderr.suffix(800))"
        }
        throw ServerDidNotAnswer(description: said)
    }

    /// The shipped alert rules, loaded into a real Prometheus that scrapes a real node_exporter
    /// reading the textfile of a real failing run: the failed-job alert fires naming the job,
    /// and the exit code and the in-progress run are series Prometheus holds. (With the job in a
    /// `job` label, Prometheus renamed it `exported_job` and the rules never matched it.)
    @Test func alertsFireThroughARealNodeExporterAndPrometheus() throws {
        let textfiles = dir + "/textfile"
        try FileManager.default.createDirectory(atPath: textfiles, withIntermediateDirectories: true)
        let env = ["SAMIA_METRICS_TEXTFILE": textfiles + "/samia-batch.prom"]
        let failed = try CLI.run(
            ["dev", "exercise", "--fail", "error", "--date", "2026-03-01"], database: config, env: env)
        #expect(failed.status == 1)
        // Long enough to be running still however slowly the servers start (stopped below).
        let long = try CLI.start(
            ["dev", "exercise", "--seconds", "600", "--date", "2026-03-02"], database: config, env: env)
        defer {
            long.signal(SIGTERM)
            _ = long.wait()
        }
        let (exporter, exporterPort) = try serve(
            "/usr/bin/prometheus-node-exporter", ports: 20_001...30_000,
            {
                [
                    "--web.listen-address=127.0.0.1:\($0)", "--collector.disable-defaults",
                    "--collector.textfile", "--collector.textfile.directory=\(textfiles)",
                ]
            }, until: { "http://127.0.0.1:\($0)/metrics" })
        defer { exporter.signal(SIGKILL); _ = exporter.wait() }
        let rules = TestCluster.repositoryRoot.appendingPathComponent("schedules/prometheus/samia-batch.rules.yml").path
        try """
        global: { scrape_interval: 1s, evaluation_interval: 1s }
        rule_files: ["\(rules)"]
        scrape_configs:
          - job_name: node
            static_configs: [{ targets: ["127.0.0.1:\(exporterPort)"] }]
        """.write(toFile: dir + "/prometheus.yml", atomically: true, encoding: .utf8)
        let (prometheus, prometheusPort) = try serve(
            "/usr/bin/prometheus", ports: 30_001...40_000,
            {
                [
                    "--config.file=\(dir)/prometheus.yml", "--storage.tsdb.path=\(dir)/tsdb-\($0)",
                    "--web.listen-address=127.0.0.1:\($0)", "--log.level=error",
                ]
            }, until: { "http://127.0.0.1:\($0)/api/v1/status/buildinfo" })
        defer { prometheus.signal(SIGKILL); _ = prometheus.wait() }
        let api = "http://127.0.0.1:\(prometheusPort)/api/v1"
        var alerts = ""
        for _ in 0..<600 {
            alerts = try fetch("\(api)/alerts")
            if alerts.contains("SamiaBatchJobFailed") && alerts.contains("\"state\":\"firing\"") { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(alerts.contains("\"alertname\":\"SamiaBatchJobFailed\""), "\(alerts)")
        #expect(alerts.contains("\"batch_job\":\"dev-exercise\""), "\(alerts)")
        #expect(alerts.contains("samia-batch dev-exercise failed its last run"), "\(alerts)")
        let exit = try fetch("\(api)/query?query=samia_batch_last_exit_code")
        #expect(exit.contains("\"batch_job\":\"dev-exercise\"") && exit.contains("\"job\":\"node\""), "\(exit)")
        #expect(exit.contains(",\"1\"]"), "the exit code of the failed run: \(exit)")
        let running = try fetch("\(api)/query?query=samia_batch_running")
        #expect(running.contains(",\"1\"]"), "the run in progress: \(running)")
    }

    /// A start refused before any run (an expired password) still reaches the metrics as a
    /// failure with its exit code; a held lock counts as contention.
    @Test func startsThatNeverBecameRunsStillReachTheMetrics() throws {
        let textfile = dir + "/unstarted.prom"
        let role = "expired_\(UInt32.random(in: 0...UInt32.max))"
        _ = try psql(
            """
            DO $$ BEGIN CREATE ROLE samia_password_login NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
            CREATE ROLE \(role) LOGIN PASSWORD 'pw' VALID UNTIL '2001-01-01' IN ROLE samia_password_login
            """)
        let refused = try CLI.run(
            ["dev", "exercise", "--seconds", "0", "--metrics-textfile", textfile],
            env: ["DATABASE_URL": try tcp(user: role, password: "pw")])
        #expect(refused.status == 77)
        let text = try String(contentsOfFile: textfile, encoding: .utf8)
        #expect(text.contains("samia_batch_last_exit_code{batch_job=\"dev-exercise\"} 77"), "\(text)")
        #expect(text.contains("samia_batch_last_run_success{batch_job=\"dev-exercise\"} 0"), "\(text)")
        let holder = try Connection(config)
        defer { holder.close() }
        #expect(try holder.tryAdvisoryLock(AdvisoryLockKey("samia-batch:job:dev-exercise")))
        let held = try CLI.run(["dev", "exercise", "--metrics-textfile", textfile], database: config)
        #expect(held.status == 79)
        let after = try String(contentsOfFile: textfile, encoding: .utf8)
        #expect(after.contains("samia_batch_lock_contended_total{batch_job=\"dev-exercise\"} 1"), "\(after)")
        #expect(after.contains("samia_batch_last_exit_code{batch_job=\"dev-exercise\"} 77"), "unchanged: \(after)")
    }
}

extension OnCallTests {
    /// The server's NOTICEs and WARNINGs (here from a trigger that quotes a row) reach the log
    /// as JSON events without the message, never as raw lines that break the JSON stream.
    @Test func serverNoticesAreJSONEventsWithoutTheirText() throws {
        _ = try psql(
            """
            CREATE FUNCTION public.chatty() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              RAISE NOTICE 'row for host % (secret-ish)', NEW.host;
              RAISE WARNING 'careful: %', NEW.host;
              RETURN NEW;
            END $$;
            CREATE TRIGGER chatty BEFORE INSERT ON public.batch_runs FOR EACH ROW EXECUTE FUNCTION public.chatty()
            """)
        let result = try CLI.run(["dev", "exercise", "--seconds", "0"], database: config)
        #expect(result.status == 0, "\(result.stderr)")
        for line in result.stderr.split(separator: "\n") {
            let parsed = try? JSONSerialization.jsonObject(with: Data(line.utf8))
            #expect(parsed is [String: Any], "not a JSON log line: \(line)")
        }
        #expect(!result.stderr.contains("secret-ish") && !result.stderr.contains("careful"), "\(result.stderr)")
        #expect(result.stderr.contains("\"event\":\"postgres_notice\""), "\(result.stderr)")
        #expect(result.stderr.contains("\"sqlstate\":\"01000\""), "\(result.stderr)")
    }
}

extension OnCallTests {
    /// `--connect-attempts` is what a job's connections honour, not `--attempts` (the retries
    /// of transient failures mid-run).
    @Test func jobsHonourConnectAttempts() throws {
        let started = Date()
        let result = try CLI.run(
            ["dev", "exercise", "--seconds", "0", "--connect-attempts", "1", "--attempts", "6"],
            env: ["DATABASE_URL": "postgresql://batch@127.0.0.1:1/app"])
        #expect(result.status == 75, "\(result.stderr)")
        #expect(result.stderr.contains("after 1 attempts"), "\(result.stderr)")
        #expect(!result.stderr.contains("connect_retry"), "\(result.stderr)")
        #expect(Date().timeIntervalSince(started) < 5)
        let two = try CLI.run(
            ["dev", "exercise", "--seconds", "0", "--connect-attempts", "2", "--attempts", "1"],
            env: ["DATABASE_URL": "postgresql://batch@127.0.0.1:1/app"])
        #expect(two.stderr.contains("after 2 attempts"), "\(two.stderr)")
        #expect(try CLI.run(["dev", "exercise", "--connect-attempts", "0"]).status == 64)
    }
}

extension OnCallTests {
    /// A policy file missing from SAMIA_POLICY_DIR is a configuration error naming the path,
    /// not a silent fall-back to the example shipped beside the binary.
    @Test func aPolicyFileMissingFromThePolicyDirIsAnError() throws {
        let empty = dir + "/policy-empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let result = try CLI.run(["datamap", "check"], database: config, env: ["SAMIA_POLICY_DIR": empty])
        #expect(result.status == 78, "\(result.stdout) \(result.stderr)")
        #expect(result.stderr.contains("\(empty)/data-map.yaml"), "\(result.stderr)")
    }
}
