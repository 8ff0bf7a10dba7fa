import Foundation
import Logging
import Postgres
import Threads

/// A step of a run either hands its result to the next one or ends the run with a report.
enum RunStep<Value> {
    case next(Value)
    case done(RunReport)
}

/// What one run carries from step to step.
struct RunScope {
    let job: any Job
    let partition: Partition
    let options: RunOptions
    let state: RunnerState
    var log: Logger
    let ping: HealthPing?
    let push: MetricsPush?
}

/// What the attempts ended with.
struct RunAttempts {
    var outcome: JobOutcome?
    var failure: (any Error)?
    var count: Int
}

extension Runner {
    /// The run's logger and its monitoring hooks (dead-man's switch, Pushgateway); a hook that
    /// is configured wrong stops the run before it starts. A dry run is checked the same way
    /// but reports to neither: a rehearsal must not look like a night that ran.
    func prepare(_ job: any Job, partition: Partition, options: RunOptions, state: RunnerState)
        -> RunStep<RunScope>
    {
        var log = logger
        log[metadataKey: "job"] = .string(job.name)
        if partition.kind != .none { log[metadataKey: "partition"] = .string(partition.key) }
        do {
            let environment = ProcessInfo.processInfo.environment
            let ping = try HealthPing.forJob(job.name, environment: environment)
            let push = try MetricsPush.fromEnvironment(environment)
            return .next(
                RunScope(
                    job: job, partition: partition, options: options, state: state, log: log,
                    ping: options.dryRun ? nil : ping, push: options.dryRun ? nil : push))
        } catch {
            log.error("cannot start", metadata: ["event": "run_not_started", "error": "\(error)"])
            return .done(Self.report(error))
        }
    }

    /// The session that holds the job's lock and writes its ledger row (only the ledger, for a
    /// job whose workers run concurrently).
    func openLedgerSession(_ scope: RunScope, key: AdvisoryLockKey) -> RunStep<Connection> {
        let job = scope.job
        do {
            return .next(
                job.allowsConcurrentRuns
                    ? try sessionConnection(job: job.name, purpose: "ledger", retry: scope.options.connectRetry)
                    : try acquireLock(key, job: job.name, retry: scope.options.connectRetry))
        } catch {
            if case BatchError.lockHeld = error {
                scope.log.warning("already running", metadata: ["event": "lock_held"])
            } else {
                scope.log.error("cannot start", metadata: ["event": "run_not_started", "error": "\(error)"])
                // A start that cannot even lock is a failed night for the monitor; a held
                // lock is not (the holder pings).
                scope.ping?.finish(
                    exitCode: BatchError.exitStatus(for: error).rawValue, runID: nil,
                    logLines: LogTail.shared.last(20), logger: scope.log)
            }
            return .done(Self.report(error))
        }
    }

    /// Marks vanished runs aborted, skips a partition that already succeeded (unless forced),
    /// and records the run; the ledger session then carries the run's name.
    func recordStart(_ scope: RunScope, ledger: RunLedger, lockConnection: Connection) -> RunStep<Int64> {
        let (job, options, log) = (scope.job, scope.options, scope.log)
        do {
            if job.needsEveryRow {
                let role = try lockConnection.scalar("SELECT current_user::text", as: String.self) ?? ""
                try RoleRights.requireEveryRow(on: lockConnection, role: role)
            }
            // Any job's dead runs, then this job's: under its lock nobody else can be running
            // them (concurrent workers share the job, so only a row whose session is gone).
            var stale = try ledger.reapDead(lockKey: Runner.lockKey(for:))
            stale +=
                job.allowsConcurrentRuns
                ? try ledger.abortVanished(job: job.name) : try ledger.abortStale(job: job.name)
            if stale > 0 {
                log.warning("marked vanished runs aborted", metadata: ["event": "stale_runs", "count": "\(stale)"])
            }
            if !options.force && !options.dryRun, scope.partition.kind != .none,
                let previous = try ledger.lastSuccess(
                    job: job.name, partition: scope.partition,
                    matching: options.parameters.filter { options.sameParameters.contains($0.key) })
            {
                // A re-run is never skipped silently: it runs again when the sources changed,
                // and otherwise says the partition is up to date.
                if let change = try job.sourcesChanged(
                    since: previous, partition: scope.partition, on: lockConnection, now: clock.now())
                {
                    log.info(
                        "partition already succeeded, but its sources changed since; running again",
                        metadata: [
                            "event": "run_sources_changed", "previous_run_id": "\(previous)", "change": "\(change)",
                        ])
                } else {
                    log.info(
                        "partition already succeeded and is up to date; skipping (use --force to run again)",
                        metadata: ["event": "run_skipped", "previous_run_id": "\(previous)"])
                    scope.ping?.finish(exitCode: 0, runID: nil, logLines: LogTail.shared.last(5), logger: log)
                    return .done(
                        RunReport(status: .success, runID: nil, outcome: nil, skippedBecauseOf: previous, error: nil))
                }
            }
            var parameters = options.parameters
            if let max = options.maxDuration { parameters["max_duration_s"] = String(Int(max)) }
            if options.force { parameters["force"] = "true" }
            // The ledger session is named after its run as the row is written (`RunLedger.start`).
            let runID = try ledger.start(
                job: job.name, partition: scope.partition, dryRun: options.dryRun, host: host, pid: getpid(),
                version: version, parameters: parameters)
            return .next(runID)
        } catch {
            log.error("cannot record the run", metadata: ["event": "ledger_error", "error": "\(error)"])
            return .done(Self.report(error))
        }
    }

    /// Work committed after the lock was lost could overlap another run's: every commit (and
    /// every checkpoint) first asks the lock session whether it still holds it. Sessions a job
    /// opens beside its main one call this from their own threads; the lock session is one
    /// connection, so the calls take turns.
    static func lockCheck(job: any Job, key: AdvisoryLockKey, on lockConnection: Connection)
        -> (@Sendable () throws -> Void)?
    {
        guard !job.allowsConcurrentRuns else { return nil }
        let jobName = job.name
        let lockSession = Locked(lockConnection)
        return { @Sendable () throws -> Void in
            let held = lockSession.withLock { (try? $0.holdsAdvisoryLock(key)) == true }
            guard held else { throw BatchError.lockLost(job: jobName) }
        }
    }

    /// Runs the job on a fresh connection per attempt, retrying transient failures, until it
    /// returns, fails for good, is interrupted or runs past its deadline.
    func runAttempts(
        _ scope: RunScope, runID: Int64, ledger: RunLedger, deadline: Date?,
        lockCheck: (@Sendable () throws -> Void)?
    ) -> RunAttempts {
        let progress = ProgressReporter(interactive: scope.options.interactive, logger: scope.log)
        defer { progress.finish() }
        var attempts = RunAttempts(count: 0)
        while true {
            attempts.count += 1
            if attempts.count > 1 { try? ledger.attempt(runID: runID, attempts: attempts.count) }
            do {
                attempts.outcome = try attempt(
                    scope, runID: runID, number: attempts.count, deadline: deadline, progress: progress,
                    lockCheck: lockCheck)
                return attempts
            } catch {
                guard let failure = retryOrFailure(error, scope, attempt: attempts.count, deadline: deadline) else {
                    continue
                }
                attempts.failure = failure
                return attempts
            }
        }
    }

    /// One attempt: its own connection, held to the deadline and the lock.
    private func attempt(
        _ scope: RunScope, runID: Int64, number: Int, deadline: Date?, progress: ProgressReporter,
        lockCheck: (@Sendable () throws -> Void)?
    ) throws -> JobOutcome {
        let connection = try connect(
            applicationName: "samia-batch/\(scope.job.name)", retry: scope.options.connectRetry)
        setCurrent(connection)
        connection.beforeCommit = lockCheck
        defer {
            setCurrent(nil)
            connection.close()
        }
        if let deadline {
            let ms = max(1, Int(deadline.timeIntervalSince(clock.now()) * 1000))
            _ = try connection.query("SELECT set_config('statement_timeout', $1, false)", [String(ms)])
        }
        let context = JobContext(
            connection: connection, configuration: configuration, partition: scope.partition,
            dryRun: scope.options.dryRun, runID: runID, attempt: number, logger: scope.log, clock: clock,
            progress: progress, deadline: deadline, runnerState: scope.state, lockCheck: lockCheck)
        try context.checkpoint()
        return try scope.job.run(context)
    }

    /// Nil when `error` is transient and attempts are left (after waiting the backoff); else the
    /// failure the run ends with.
    private func retryOrFailure(_ error: any Error, _ scope: RunScope, attempt: Int, deadline: Date?) -> (any Error)? {
        let (job, options) = (scope.job, scope.options)
        if let signal = scope.state.signal { return BatchError.interrupted(job: job.name, signal: signal) }
        if let deadline, clock.now() >= deadline.addingTimeInterval(-0.05) {
            return BatchError.deadlineExceeded(job: job.name, seconds: options.maxDuration ?? 0)
        }
        if let pg = error as? PostgresError, pg.isTransient, attempt < options.retry.maxAttempts {
            let wait = options.retry.delay(after: attempt, random: random())
            scope.log.warning(
                "transient failure, retrying",
                metadata: [
                    "event": "retry", "attempt": "\(attempt)", "sqlstate": "\(pg.sqlState ?? "")",
                    "wait_ms": "\(Int(wait * 1000))",
                ])
            clock.sleep(seconds: wait)
            return nil
        }
        if let pg = error as? PostgresError, pg.code == .connection {
            return BatchError.unreachable(target: configuration.displayTarget, attempts: attempt, message: pg.message)
        }
        return error
    }

    /// A job that returned can still have failed: its lock was lost meanwhile, or some items
    /// failed (partial).
    func verdict(_ scope: RunScope, outcome: JobOutcome?, key: AdvisoryLockKey, lockConnection: Connection)
        -> (any Error)?
    {
        let job = scope.job
        if !job.allowsConcurrentRuns, !((try? lockConnection.holdsAdvisoryLock(key)) ?? false) {
            return BatchError.lockLost(job: job.name)
        }
        if let outcome, !outcome.configurationProblems.isEmpty {
            return BatchError.configuration(
                "\(outcome.failedItems) item(s) refused for configuration: "
                    + outcome.configurationProblems.joined(separator: "; "))
        }
        if let outcome, outcome.failedItems > 0 {
            return BatchError.partial(
                job: job.name, failed: outcome.failedItems, succeeded: Int(outcome.itemsProcessed))
        }
        return nil
    }

    /// Records the outcome in the ledger, the metrics textfile and the Pushgateway, logs it,
    /// pings the dead-man's switch, and reports it.
    func finish(_ scope: RunScope, runID: Int64, ledger: RunLedger, started: Date, attempts: RunAttempts)
        -> RunReport
    {
        let (job, log, outcome, failure) = (scope.job, scope.log, attempts.outcome, attempts.failure)
        let status = Self.ledgerStatus(failure)
        let exit = failure.map { BatchError.exitStatus(for: $0) } ?? .success
        let finished = clock.now()
        let duration = finished.timeIntervalSince(started)
        do {
            try ledger.finish(runID: runID, status: status, outcome: outcome, error: failure.map { "\($0)" })
        } catch {
            log.error("cannot record the outcome", metadata: ["event": "ledger_error", "error": "\(error)"])
        }
        if let path = scope.options.metricsTextfile, !scope.options.dryRun {
            do {
                try MetricsTextfile(path: path).record(
                    job: job.name, succeeded: failure == nil, finishedAt: finished, duration: duration,
                    items: outcome?.itemsProcessed ?? 0, extra: outcome?.gauges ?? [:], exitCode: exit.rawValue)
            } catch {
                log.error("cannot write metrics", metadata: ["event": "metrics_error", "error": "\(error)"])
            }
        }
        scope.push?.push(
            job: job.name, succeeded: failure == nil, finishedAt: finished, duration: duration,
            items: outcome?.itemsProcessed ?? 0,
            extra: (outcome?.gauges ?? [:]).merging(["samia_batch_last_exit_code": Double(exit.rawValue)]) { $1 },
            logger: log)
        var meta: Logger.Metadata = [
            "event": "run_finished", "status": .string(status), "duration_ms": "\(Int(duration * 1000))",
            "attempts": "\(attempts.count)", "items": "\(outcome?.itemsProcessed ?? 0)",
        ]
        if let failure { meta["error"] = "\(failure)" }
        if failure == nil {
            log.info("run finished", metadata: meta)
        } else {
            log.error("run finished", metadata: meta)
        }
        scope.ping?.finish(exitCode: exit.rawValue, runID: runID, logLines: LogTail.shared.last(20), logger: log)
        return RunReport(status: exit, runID: runID, outcome: outcome, skippedBecauseOf: nil, error: failure)
    }

    /// The ledger's word for how a run ended.
    static func ledgerStatus(_ failure: (any Error)?) -> String {
        switch failure {
        case nil: return "succeeded"
        case BatchError.partial?: return "partial"
        case BatchError.interrupted?: return "aborted"
        default: return "failed"
        }
    }

    /// The textfile metrics of a run that is starting: in progress since `started`.
    func metricsStarted(_ scope: RunScope, at started: Date) {
        guard let path = scope.options.metricsTextfile, !scope.options.dryRun else { return }
        do { try MetricsTextfile(path: path).recordStart(job: scope.job.name, at: started) } catch {
            scope.log.error("cannot write metrics", metadata: ["event": "metrics_error", "error": "\(error)"])
        }
    }

    /// A start that ended before a run was recorded still tells the metrics: a held lock as
    /// contention, anything else as a failure with its exit status (an expired password must
    /// fire the failed-job alert although no run began). A skipped partition changes nothing.
    func unstarted(_ report: RunReport, job: any Job, options: RunOptions) -> RunReport {
        guard let path = options.metricsTextfile, !options.dryRun, let error = report.error else { return report }
        if case BatchError.interrupted = error { return report }
        let lockHeld = report.status == .alreadyRunning
        do {
            try MetricsTextfile(path: path).recordUnstarted(
                job: job.name, at: clock.now(), exitCode: report.status.rawValue, lockHeld: lockHeld)
        } catch {
            logger.error("cannot write metrics", metadata: ["event": "metrics_error", "error": "\(error)"])
        }
        return report
    }

    /// A run that ended before it was recorded.
    static func report(_ error: any Error) -> RunReport {
        RunReport(
            status: BatchError.exitStatus(for: error), runID: nil, outcome: nil, skippedBecauseOf: nil, error: error)
    }
}
