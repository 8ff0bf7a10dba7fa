import Dispatch
import Foundation
import Logging
import Postgres
import Threads

/// The outcome of one `Runner.run`, with the exit status the process should end with.
public struct RunReport: Sendable {
    public let status: ExitStatus
    public let runID: Int64?
    public let outcome: JobOutcome?
    /// Set when the partition had already succeeded and nothing ran.
    public let skippedBecauseOf: Int64?
    public let error: (any Error)?
}

/// Runs jobs the way cron and on-call need them run.
///
/// Per run: connect (retrying a database that is briefly away), take the job's advisory lock
/// on a dedicated connection (a second start exits 75 at once, ledger untouched), skip a
/// partition that already succeeded, record the run in `batch_runs`, run the job on its own
/// connection with bounded retries of transient failures, enforce `--max-duration`, turn
/// SIGTERM/SIGINT into a cancelled query and an `aborted` run, write metrics.
public final class Runner: Sendable {
    public let configuration: ConnectionConfiguration
    public let logger: Logger
    public let clock: any BatchClock
    public let version: String
    let host: String
    /// The connection the job's attempt runs on, for SIGTERM and the deadline to cancel.
    private let currentConnection = Locked<Connection?>(nil)
    private let random: @Sendable () -> Double

    public init(
        configuration: ConnectionConfiguration, logger: Logger, clock: any BatchClock = SystemClock(), version: String,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0...1) }
    ) {
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
        self.version = version
        self.host = ProcessInfo.processInfo.hostName
        self.random = random
    }

    /// The advisory lock a job runs under: one per job, whatever the partition.
    public static func lockKey(for job: String) -> AdvisoryLockKey { AdvisoryLockKey("samia-batch:job:\(job)") }

    /// Connects with the retry policy: transient failures wait and retry; the last one becomes
    /// `BatchError.unreachable` (exit 75) naming the host, never the password.
    public func connect(applicationName: String, retry: RetryPolicy) throws -> Connection {
        var attempt = 0
        while true {
            attempt += 1
            let failure: PostgresError
            do {
                return try Connection(configuration, applicationName: applicationName, logger: logger)
            } catch {
                failure = error
            }
            do {
                let error = failure
                guard error.isTransient else { throw error }
                guard attempt < retry.maxAttempts else {
                    throw BatchError.unreachable(
                        target: configuration.displayTarget, attempts: attempt, message: error.message)
                }
                let wait = retry.delay(after: attempt, random: random())
                logger.warning(
                    "database unreachable, retrying",
                    metadata: ["event": "connect_retry", "attempt": "\(attempt)", "wait_ms": "\(Int(wait * 1000))"])
                clock.sleep(seconds: wait)
            }
        }
    }

    /// Connects a session of our own for locks, and proves it is one.
    ///
    /// Session advisory locks only mean something on a session of our own: behind a
    /// transaction-mode pooler each statement may run on another server session, so a lock
    /// would be held by a stranger (or released under us). Supabase's transaction-pooler port is
    /// refused, and consecutive statements must answer from one backend.
    /// `SAMIA_TRUST_POOLER=session` skips both for a pooler known to run in session mode.
    public func sessionConnection(job: String, purpose: String, retry: RetryPolicy) throws -> Connection {
        let trusted = ProcessInfo.processInfo.environment["SAMIA_TRUST_POOLER"] == "session"
        if !trusted && configuration.port == "6543" {
            throw BatchError.transactionPooler(
                target: configuration.displayTarget, evidence: "port 6543 is Supabase's transaction pooler")
        }
        let connection = try connect(applicationName: "samia-batch/\(job)/\(purpose)", retry: retry)
        guard !trusted else { return connection }
        return try Self.vetted(connection) { connection in
            var backends = Set<Int32>()
            for _ in 0..<4 { backends.insert(try connection.scalar("SELECT pg_backend_pid()", as: Int32.self) ?? 0) }
            if backends.count > 1 {
                throw BatchError.transactionPooler(
                    target: configuration.displayTarget,
                    evidence: "four statements on one connection ran in \(backends.count) different server sessions")
            }
        }
    }

    /// Hands `connection` back once `check` passes on it; closes it when the check throws.
    private static func vetted(_ connection: Connection, _ check: (Connection) throws -> Void) throws -> Connection {
        do {
            try check(connection)
            return connection
        } catch {
            connection.close()
            throw error
        }
    }

    /// Connects a dedicated session (see `sessionConnection`) and takes `key` on it without
    /// waiting; the lock must then be visible as this session's own. Throws `lockHeld`
    /// (exit 75) when another run holds it.
    public func acquireLock(_ key: AdvisoryLockKey, job: String, retry: RetryPolicy) throws -> Connection {
        let connection = try sessionConnection(job: job, purpose: "lock", retry: retry)
        return try Self.vetted(connection) { connection in
            guard try connection.tryAdvisoryLock(key) else {
                let holder = (try? connection.advisoryLockHolder(key)).flatMap { $0 }
                let who = holder.map { "lock held by backend pid \($0.pid), \($0.application)" } ?? "lock held"
                throw BatchError.lockHeld(job: job, holder: who)
            }
            guard try connection.holdsAdvisoryLock(key) else {
                throw BatchError.transactionPooler(
                    target: configuration.displayTarget,
                    evidence: "the lock just taken is not held by the session that asks for it")
            }
        }
    }

    /// Runs `job` for `partition`. Never throws: every failure becomes a report with its exit status.
    public func run(_ job: any Job, partition: Partition, options: RunOptions) -> RunReport {
        let state = RunnerState(job: job.name, maxDuration: options.maxDuration)
        var log = logger
        log[metadataKey: "job"] = .string(job.name)
        if partition.kind != .none { log[metadataKey: "partition"] = .string(partition.key) }
        let signals = installSignalHandlers(state: state)
        defer { signals.forEach { $0.cancel() } }

        let ping: HealthPing?
        let push: MetricsPush?
        do {
            ping = try HealthPing.forJob(job.name, environment: ProcessInfo.processInfo.environment)
            push = try MetricsPush.fromEnvironment(ProcessInfo.processInfo.environment)
        } catch {
            log.error("cannot start", metadata: ["event": "run_not_started", "error": "\(error)"])
            return RunReport(
                status: BatchError.exitStatus(for: error), runID: nil, outcome: nil, skippedBecauseOf: nil, error: error
            )
        }
        let key = Runner.lockKey(for: job.name)
        let lockConnection: Connection
        do {
            lockConnection =
                job.allowsConcurrentRuns
                ? try sessionConnection(job: job.name, purpose: "ledger", retry: options.retry)
                : try acquireLock(key, job: job.name, retry: options.retry)
        } catch {
            if case BatchError.lockHeld = error {
                log.warning("already running", metadata: ["event": "lock_held"])
            } else {
                log.error("cannot start", metadata: ["event": "run_not_started", "error": "\(error)"])
                // A start that cannot even lock is a failed night for the monitor; a held
                // lock is not (the holder pings).
                ping?.finish(
                    exitCode: BatchError.exitStatus(for: error).rawValue, runID: nil,
                    logLines: LogTail.shared.last(20), logger: log)
            }
            return RunReport(
                status: BatchError.exitStatus(for: error), runID: nil, outcome: nil, skippedBecauseOf: nil, error: error
            )
        }
        defer { lockConnection.close() }
        let ledger = RunLedger(connection: lockConnection)
        defer { if !job.allowsConcurrentRuns { _ = try? lockConnection.advisoryUnlock(key) } }
        // Work committed after the lock was lost could overlap another run's: every commit
        // (and every checkpoint) first asks the lock session whether it still holds it.
        // Sessions a job opens beside its main one call this from their own threads; the lock
        // session is one connection, so the calls take turns.
        let jobName = job.name
        let lockSession = Locked(lockConnection)
        let lockCheck: (@Sendable () throws -> Void)? =
            job.allowsConcurrentRuns
            ? nil
            : { @Sendable () throws -> Void in
                let held = lockSession.withLock { (try? $0.holdsAdvisoryLock(key)) == true }
                guard held else { throw BatchError.lockLost(job: jobName) }
            }

        let started = clock.now()
        let runID: Int64
        do {
            // Concurrent workers share the job: only a running row whose session is gone is stale.
            let stale =
                job.allowsConcurrentRuns
                ? try ledger.abortVanished(job: job.name) : try ledger.abortStale(job: job.name)
            if stale > 0 {
                log.warning("marked vanished runs aborted", metadata: ["event": "stale_runs", "count": "\(stale)"])
            }
            if !options.force && !options.dryRun, partition.kind != .none,
                let previous = try ledger.lastSuccess(job: job.name, partition: partition)
            {
                log.info(
                    "partition already succeeded; skipping (use --force to run again)",
                    metadata: ["event": "run_skipped", "previous_run_id": "\(previous)"])
                ping?.finish(exitCode: 0, runID: nil, logLines: LogTail.shared.last(5), logger: log)
                return RunReport(status: .success, runID: nil, outcome: nil, skippedBecauseOf: previous, error: nil)
            }
            var parameters = options.parameters
            if let max = options.maxDuration { parameters["max_duration_s"] = String(Int(max)) }
            if options.force { parameters["force"] = "true" }
            runID = try ledger.start(
                job: job.name, partition: partition, dryRun: options.dryRun, host: host, pid: getpid(),
                version: version, parameters: parameters)
            // The ledger session names its run, so another worker can tell a live run from a
            // vanished one (`abortVanished`).
            try lockConnection.execute("SET application_name = '\(RunLedger.sessionName(job: job.name, runID: runID))'")
        } catch {
            log.error("cannot record the run", metadata: ["event": "ledger_error", "error": "\(error)"])
            return RunReport(
                status: BatchError.exitStatus(for: error), runID: nil, outcome: nil, skippedBecauseOf: nil, error: error
            )
        }
        log[metadataKey: "run_id"] = "\(runID)"
        log.info("run started", metadata: ["event": "run_started", "dry_run": "\(options.dryRun)"])
        ping?.start(runID: runID, logger: log)

        let deadline = options.maxDuration.map { started.addingTimeInterval($0) }
        let timer = deadline.map { armDeadline($0, state: state) }
        defer { timer?.cancel() }
        let progress = ProgressReporter(interactive: options.interactive, logger: log)

        var outcome: JobOutcome?
        var failure: (any Error)?
        var attempt = 0
        while true {
            attempt += 1
            if attempt > 1 { try? ledger.attempt(runID: runID, attempts: attempt) }
            do {
                let connection = try connect(applicationName: "samia-batch/\(job.name)", retry: options.retry)
                setCurrent(connection)
                connection.beforeCommit = lockCheck
                defer {
                    setCurrent(nil)
                    connection.close()
                }
                if let deadline {
                    let ms = max(1, Int(deadline.timeIntervalSince(clock.now()) * 1000))
                    try connection.execute("SET statement_timeout = \(ms)")
                }
                let context = JobContext(
                    connection: connection, configuration: configuration, partition: partition,
                    dryRun: options.dryRun, runID: runID, attempt: attempt, logger: log, clock: clock,
                    progress: progress, deadline: deadline, runnerState: state, lockCheck: lockCheck)
                try context.checkpoint()
                outcome = try job.run(context)
                break
            } catch {
                if let signal = state.signal {
                    failure = BatchError.interrupted(job: job.name, signal: signal)
                    break
                }
                if let deadline, clock.now() >= deadline.addingTimeInterval(-0.05) {
                    failure = BatchError.deadlineExceeded(job: job.name, seconds: options.maxDuration ?? 0)
                    break
                }
                if let pg = error as? PostgresError, pg.isTransient, attempt < options.retry.maxAttempts {
                    let wait = options.retry.delay(after: attempt, random: random())
                    log.warning(
                        "transient failure, retrying",
                        metadata: [
                            "event": "retry", "attempt": "\(attempt)", "sqlstate": "\(pg.sqlState ?? "")",
                            "wait_ms": "\(Int(wait * 1000))",
                        ])
                    clock.sleep(seconds: wait)
                    continue
                }
                if let pg = error as? PostgresError, pg.code == .connection {
                    failure = BatchError.unreachable(
                        target: configuration.displayTarget, attempts: attempt, message: pg.message)
                } else {
                    failure = error
                }
                break
            }
        }
        progress.finish()

        if failure == nil, !job.allowsConcurrentRuns, !((try? lockConnection.holdsAdvisoryLock(key)) ?? false) {
            failure = BatchError.lockLost(job: job.name)
        }
        if failure == nil, let outcome, outcome.failedItems > 0 {
            failure = BatchError.partial(
                job: job.name, failed: outcome.failedItems, succeeded: Int(outcome.itemsProcessed))
        }
        let status: String
        switch failure {
        case nil: status = "succeeded"
        case let e as BatchError:
            switch e {
            case .partial: status = "partial"
            case .interrupted: status = "aborted"
            default: status = "failed"
            }
        default: status = "failed"
        }
        let finished = clock.now()
        let duration = finished.timeIntervalSince(started)
        do {
            try ledger.finish(runID: runID, status: status, outcome: outcome, error: failure.map { "\($0)" })
        } catch {
            log.error("cannot record the outcome", metadata: ["event": "ledger_error", "error": "\(error)"])
        }
        if let path = options.metricsTextfile {
            do {
                try MetricsTextfile(path: path).record(
                    job: job.name, succeeded: failure == nil, finishedAt: finished, duration: duration,
                    items: outcome?.itemsProcessed ?? 0, extra: outcome?.gauges ?? [:])
            } catch {
                log.error("cannot write metrics", metadata: ["event": "metrics_error", "error": "\(error)"])
            }
        }
        push?.push(
            job: job.name, succeeded: failure == nil, finishedAt: finished, duration: duration,
            items: outcome?.itemsProcessed ?? 0, extra: outcome?.gauges ?? [:], logger: log)
        var meta: Logger.Metadata = [
            "event": "run_finished", "status": .string(status), "duration_ms": "\(Int(duration * 1000))",
            "attempts": "\(attempt)", "items": "\(outcome?.itemsProcessed ?? 0)",
        ]
        if let failure { meta["error"] = "\(failure)" }
        if failure == nil {
            log.info("run finished", metadata: meta)
        } else {
            log.error("run finished", metadata: meta)
        }
        let exit = failure.map { BatchError.exitStatus(for: $0) } ?? .success
        ping?.finish(exitCode: exit.rawValue, runID: runID, logLines: LogTail.shared.last(20), logger: log)
        return RunReport(status: exit, runID: runID, outcome: outcome, skippedBecauseOf: nil, error: failure)
    }

    private func setCurrent(_ connection: Connection?) {
        currentConnection.withLock { $0 = connection }
    }

    private func cancelCurrent(_ state: RunnerState) {
        currentConnection.withLock { $0 }?.cancel()
        state.cancelSessions()
    }

    private func armDeadline(_ deadline: Date, state: RunnerState) -> any DispatchSourceTimer {
        let timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now() + max(0, deadline.timeIntervalSince(clock.now())))
        timer.setEventHandler { [weak self] in self?.cancelCurrent(state) }
        timer.resume()
        return timer
    }

    private func installSignalHandlers(state: RunnerState) -> [any DispatchSourceSignal] {
        [SIGTERM, SIGINT].map { sig in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self] in
                state.signal = sig
                self?.cancelCurrent(state)
            }
            source.resume()
            return source
        }
    }
}
