import Foundation
import Postgres
import TestSupport
import Testing

@Suite("samia-batch as a process", .tags(.database))
struct CLITests {
    let config: ConnectionConfiguration
    let db: Connection

    init() throws {
        config = try TestCluster.shared().freshDatabase()
        db = try Connection(config)
    }

    func waitForRunning(_ job: String, timeout: Double = 20) throws {
        let start = Date()
        while Date().timeIntervalSince(start) < timeout {
            if try db.scalar(
                "SELECT count(*) FROM batch_runs WHERE job = $1 AND status = 'running'", [job], as: Int64.self)! > 0
            {
                return
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        Issue.record("job \(job) never started")
    }

    @Test func twoConcurrentStartsOneRunsOneExits79() throws {
        let first = try CLI.start(["dev", "exercise", "--seconds", "3"], database: config)
        try waitForRunning("dev-exercise")
        let second = try CLI.run(["dev", "exercise", "--seconds", "0"], database: config)
        #expect(second.status == 79)
        #expect(second.stderr.contains("already running"))
        let done = first.wait()
        #expect(done.status == 0)
        #expect(try db.scalar("SELECT count(*) FROM batch_runs", as: Int64.self) == 1)
        // Partition skip, then --force.
        let skip = try CLI.run(["dev", "exercise"], database: config)
        #expect(skip.status == 0)
        #expect(skip.stdout.contains("skipped"))
        #expect(try CLI.run(["dev", "exercise", "--force"], database: config).status == 0)
        #expect(try db.scalar("SELECT count(*) FROM batch_runs", as: Int64.self) == 2)
    }

    @Test func aRealDroppedConnectionIsRetried() throws {
        let result = try CLI.run(["dev", "exercise", "--drop-connection", "--seconds", "0.3"], database: config)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("\"event\":\"retry\""))
        #expect(try db.scalar("SELECT attempts FROM batch_runs", as: Int32.self) == 2)
        #expect(try db.scalar("SELECT status FROM batch_runs", as: String.self) == "succeeded")
    }

    @Test func exitCodes() throws {
        #expect(try CLI.run(["no-such-command"]).status == 64)
        #expect(try CLI.run(["runs", "--no-such-flag"], database: config).status == 64)
        let malformed = try CLI.run(["runs", "--database-url", "postgresql://u:secret@%zz/x"])
        #expect(malformed.status == 78)
        #expect(!malformed.stderr.contains("secret"))
        let unreachable = try CLI.run(
            ["runs", "--connect-attempts", "2"], env: ["DATABASE_URL": "postgresql://batch:secret@127.0.0.1:1/app"])
        #expect(unreachable.status == 75)
        #expect(unreachable.stderr.contains("127.0.0.1:1/app"))
        #expect(!unreachable.stderr.contains("secret"))
        #expect(try CLI.run(["dev", "exercise", "--fail", "bad-input"], database: config).status == 65)
        #expect(
            try CLI.run(["dev", "exercise", "--fail", "partial", "--date", "2026-02-01"], database: config).status == 1)
        #expect(
            try CLI.run(["dev", "exercise", "--fail", "error", "--date", "2026-02-02"], database: config).status == 1)
        let help = try CLI.run(["--help"])
        #expect(help.stdout.contains("75") && help.stdout.contains("78") && help.stdout.contains("65"))
    }

    @Test func maxDurationCancelsTheRunningQuery() throws {
        let started = Date()
        let result = try CLI.run(["dev", "exercise", "--seconds", "20", "--max-duration", "1"], database: config)
        #expect(result.status == 1)
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(try db.scalar("SELECT error FROM batch_runs", as: String.self)?.contains("max-duration") == true)
    }

    @Test func sigtermAbortsReleasesTheLockAndARerunCompletes() throws {
        let running = try CLI.start(["dev", "exercise", "--seconds", "20"], database: config)
        try waitForRunning("dev-exercise")
        running.signal(SIGTERM)
        let result = running.wait()
        #expect(result.status == 75)
        #expect(try db.scalar("SELECT status FROM batch_runs", as: String.self) == "aborted")
        let rerun = try CLI.run(["dev", "exercise", "--seconds", "0.1"], database: config)
        #expect(rerun.status == 0)
    }

    @Test func metricsTextfileAndRunsHistory() throws {
        let path = NSTemporaryDirectory() + "samia-cli-\(UUID().uuidString).prom"
        #expect(try CLI.run(["dev", "exercise", "--metrics-textfile", path], database: config).status == 0)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("samia_batch_last_success_timestamp_seconds{batch_job=\"dev-exercise\"}"))
        let runs = try CLI.run(["runs", "--json"], database: config)
        #expect(runs.status == 0)
        #expect(runs.stdout.contains("\"status\":\"succeeded\""))
    }

    @Test func migrateStatusAndIdempotentMigrate() throws {
        let status = try CLI.run(["migrate", "--status"], database: config)
        #expect(status.stdout.contains("applied  samia-batch/0003_rls"))
        let again = try CLI.run(["migrate"], database: config)
        #expect(again.status == 0)
        #expect(again.stdout.contains("schema up to date"))
    }

    /// Another migrator holding the lock is "try again later" (75), as a held job lock is, so
    /// a deploy hook retries instead of paging someone.
    @Test func migrateWhileAnotherMigratorHoldsTheLockExits75() throws {
        #expect(try db.tryAdvisoryLock(Migrator.lockKey))
        let blocked = try CLI.run(["migrate"], database: config)
        #expect(blocked.status == 75)
        #expect(blocked.stderr.contains("another samia-batch migrate is running"))
        _ = try db.advisoryUnlock(Migrator.lockKey)
        #expect(try CLI.run(["migrate"], database: config).status == 0)
    }

    @Test func seedRefusesANonDevDatabase() throws {
        let plain = try TestCluster.shared().freshDatabase(migrated: false)
        let result = try CLI.run(["dev", "seed"], database: plain)
        #expect(result.status == 78)
        #expect(result.stderr.contains("not created by samia-batch dev init"))
    }

    @Test func keygenAndVerifyThroughTheCLI() throws {
        let dir = NSTemporaryDirectory() + "samia-cli-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        #expect(try CLI.run(["keygen", "--out", dir + "/key"]).status == 0)
        #expect(try CLI.run(["keygen", "--out", dir + "/key"]).status != 0)
        // An artefact made with the CLI's key: a directory with one file, signed by the library.
        let missingKey = try CLI.run(["verify", dir])
        #expect(missingKey.status == 78)
        let noManifest = try CLI.run(["verify", dir, "--public-key", dir + "/key.pub"])
        #expect(noManifest.status == 1)
        #expect(noManifest.stdout.contains("FAILED"))
    }
}

extension Tag {
    @Tag static var database: Self
}
