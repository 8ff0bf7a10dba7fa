import Foundation
import Logging
import Postgres
import Runner
import TestSupport
import Testing

/// A job whose behaviour the test scripts: succeed, fail, or throw a transient error N times.
struct ScriptedJob: Job {
    let name: String
    var partitionKind: PartitionKind { .day }
    var isDestructive: Bool { true }
    let failures: FailureCounter
    let outcome: JobOutcome
    let error: BatchError?

    func run(_ context: JobContext) throws -> JobOutcome {
        if failures.takeOne() {
            throw PostgresError(code: .server, sqlState: "40001", message: "could not serialize access")
        }
        if let error { throw error }
        var o = outcome
        o.stats["dry_run"] = context.dryRun ? 1 : 0
        return o
    }
}

final class FailureCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var left: Int
    init(_ n: Int) { left = n }
    func takeOne() -> Bool {
        lock.withLock {
            left > 0
                ? {
                    left -= 1; return true
                }() : false
        }
    }
}

@Suite("Runner", .tags(.database))
struct RunnerTests {
    let config: ConnectionConfiguration
    let db: Connection
    let clock = FixedClock(Date(timeIntervalSince1970: 1_763_683_800))
    let runner: Runner

    init() throws {
        config = try TestCluster.shared().freshDatabase()
        db = try Connection(config)
        runner = Runner(
            configuration: config, logger: Logger(label: "test"), clock: clock, version: "test", random: { 1 })
    }

    func job(_ name: String = "scripted", transient: Int = 0, error: BatchError? = nil, failed: Int = 0) -> ScriptedJob
    {
        ScriptedJob(
            name: name, failures: FailureCounter(transient),
            outcome: JobOutcome(stats: ["rows": 5], failedItems: failed, itemsProcessed: 5), error: error)
    }

    @Test func recordsARunAndSkipsASucceededPartitionUnlessForced() throws {
        let day = Partition.day(LocalDate(year: 2026, month: 11, day: 20))
        let first = runner.run(job(), partition: day, options: RunOptions())
        #expect(first.status == .success)
        let row = try db.query(
            "SELECT status, stats->>'rows' AS rows, host, version FROM batch_runs WHERE id = $1", [first.runID!])[0]
        #expect(try row.decode("status", as: String.self) == "succeeded")
        #expect(try row.decode("rows", as: String.self) == "5")
        let again = runner.run(job(), partition: day, options: RunOptions())
        #expect(again.skippedBecauseOf == first.runID)
        #expect(try db.scalar("SELECT count(*) FROM batch_runs", as: Int64.self) == 1)
        var force = RunOptions()
        force.force = true
        #expect(runner.run(job(), partition: day, options: force).status == .success)
        #expect(try db.scalar("SELECT count(*) FROM batch_runs", as: Int64.self) == 2)
        // Another day is its own partition.
        #expect(
            runner.run(job(), partition: .day(LocalDate(year: 2026, month: 11, day: 21)), options: RunOptions()).runID
                != nil)
    }

    @Test func dryRunIsPassedAndDoesNotCountAsSuccess() throws {
        let day = Partition.day(LocalDate(year: 2026, month: 11, day: 20))
        var dry = RunOptions()
        dry.dryRun = true
        let report = runner.run(job(), partition: day, options: dry)
        #expect(report.outcome?.stats["dry_run"] == 1)
        let real = runner.run(job(), partition: day, options: RunOptions())
        #expect(real.skippedBecauseOf == nil)
        #expect(real.outcome?.stats["dry_run"] == 0)
    }

    @Test func transientFailuresAreRetriedWithBoundedBackoff() throws {
        var options = RunOptions()
        options.retry = RetryPolicy(maxAttempts: 3, baseDelay: 1, maxDelay: 10)
        let ok = runner.run(job(transient: 2), partition: .none, options: options)
        #expect(ok.status == .success)
        #expect(clock.slept == [1, 2])
        #expect(try db.scalar("SELECT attempts FROM batch_runs WHERE id = $1", [ok.runID!], as: Int32.self) == 3)
        let exhausted = runner.run(job("other", transient: 5), partition: .none, options: options)
        // Still transient after every attempt: retry later (75), recorded as failed.
        #expect(exhausted.status == .temporaryFailure)
        #expect(
            try db.scalar("SELECT status FROM batch_runs WHERE id = $1", [exhausted.runID!], as: String.self)
                == "failed")
    }

    @Test func failuresMapToExitStatusesAndAreRecorded() throws {
        let bad = runner.run(
            job(error: .badInput(file: "f.csv", line: 4, field: "gross", message: "not a number")),
            partition: .none, options: RunOptions())
        #expect(bad.status == .dataError)
        let error: String? = try db.scalar("SELECT error FROM batch_runs WHERE id = $1", [bad.runID!])
        #expect(error?.contains("f.csv:4 (gross)") == true)
        let partial = runner.run(job("p", failed: 2), partition: .none, options: RunOptions())
        #expect(partial.status == .failure)
        #expect(
            try db.scalar("SELECT status FROM batch_runs WHERE id = $1", [partial.runID!], as: String.self) == "partial"
        )
    }

    @Test func aHeldLockExits79AndLeavesTheLedgerUntouched() throws {
        let holder = try Connection(config)
        #expect(try holder.tryAdvisoryLock(Runner.lockKey(for: "scripted")))
        let report = runner.run(job(), partition: .none, options: RunOptions())
        #expect(report.status == .alreadyRunning)
        #expect("\(report.error!)".contains("backend pid \(holder.backendPID)"))
        #expect(try db.scalar("SELECT count(*) FROM batch_runs", as: Int64.self) == 0)
    }

    /// A stop asked for between runs (the signal handler of a run already gone) is kept: the
    /// next run does not start and says why, and the ledger gets no row for it.
    @Test func aSignalBetweenRunsStopsTheNextOneBeforeItStarts() throws {
        let shutdown = Shutdown()
        let runner = Runner(
            configuration: config, logger: Logger(label: "test"), clock: clock, version: "test", random: { 1 },
            shutdown: shutdown)
        #expect(runner.run(job("first"), partition: .none, options: RunOptions()).status == .success)
        shutdown.deliver(SIGTERM)
        let second = runner.run(job("second"), partition: .none, options: RunOptions())
        #expect(second.status == .temporaryFailure)
        #expect("\(second.error!)".contains("interrupted by signal \(SIGTERM)"))
        #expect(second.runID == nil)
        #expect(try db.scalar("SELECT string_agg(job, ',') FROM batch_runs", as: String.self) == "first")
    }

    @Test func runsLeftRunningByAVanishedProcessAreMarkedAborted() throws {
        try db.query(
            "INSERT INTO batch_runs (job, status, host, version) VALUES ('scripted', 'running', 'gone', 'old')")
        _ = runner.run(job(), partition: .none, options: RunOptions())
        #expect(try db.scalar("SELECT status FROM batch_runs WHERE host = 'gone'", as: String.self) == "aborted")
    }

    @Test func metricsTextfileKeepsOtherJobsAndLastSuccess() throws {
        let path = NSTemporaryDirectory() + "samia-metrics-\(UUID().uuidString)/batch.prom"
        var options = RunOptions()
        options.metricsTextfile = path
        _ = runner.run(job("alpha"), partition: .none, options: options)
        _ = runner.run(job("beta", error: .jobFailed(job: "beta", message: "x")), partition: .none, options: options)
        clock.sleep(seconds: 100)
        _ = runner.run(
            job("alpha", error: .jobFailed(job: "alpha", message: "x")),
            partition: .day(LocalDate(year: 2026, month: 1, day: 2)), options: options)
        let samples = MetricsTextfile(path: path).read()
        #expect(samples["alpha"]?["samia_batch_last_success_timestamp_seconds"] == 1_763_683_800)
        #expect(samples["alpha"]?["samia_batch_last_run_success"] == 0)
        #expect(samples["alpha"]?["samia_batch_failures_total"] == 1)
        #expect(samples["beta"]?["samia_batch_failures_total"] == 1)
        #expect(samples["beta"]?["samia_batch_last_success_timestamp_seconds"] == nil)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("# TYPE samia_batch_failures_total counter"))
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: (path as NSString).deletingLastPathComponent) == [
                "batch.prom"
            ])
    }

    /// Label values from policy files are escaped as the exposition format requires, and
    /// Prometheus' own parser (`promtool check metrics`) reads the file back.
    @Test func metricLabelValuesAreEscapedAndTheFileParses() throws {
        let path = NSTemporaryDirectory() + "samia-metrics-\(UUID().uuidString)/batch.prom"
        let hostile = "horo\"scopes\\x\nnext"
        let key = MetricsTextfile.sample("samia_retention_rows_deleted", labels: [("rule", hostile)])
        #expect(key == #"samia_retention_rows_deleted{rule="horo\"scopes\\x\nnext"}"#)
        try MetricsTextfile(path: path).record(
            job: "retention", succeeded: true, finishedAt: Date(timeIntervalSince1970: 1_700_000_000), duration: 1,
            items: 3, extra: [key: 3], exitCode: 0)
        let check = try Shell.run(
            "/usr/bin/promtool", ["check", "metrics"], input: try String(contentsOfFile: path, encoding: .utf8))
        #expect(check.status == 0, "\(check.stdout) \(check.stderr)")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(
            text.contains(#"samia_retention_rows_deleted{batch_job="retention",rule="horo\"scopes\\x\nnext"} 3"#),
            "\(text)")
        #expect(text.contains(#"samia_batch_last_exit_code{batch_job="retention"} 0"#))
    }

    @Test func retryDelaysStayWithinTheirCeiling() {
        let policy = RetryPolicy(maxAttempts: 10, baseDelay: 0.5, maxDelay: 4)
        #expect(policy.delay(after: 1, random: 1) == 0.5)
        #expect(policy.delay(after: 3, random: 1) == 2)
        #expect(policy.delay(after: 9, random: 1) == 4)
        #expect(policy.delay(after: 9, random: 0) == 0)
    }
}

extension Tag {
    @Tag static var database: Self
}
