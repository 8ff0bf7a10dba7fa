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
    let random: @Sendable () -> Double
    /// Where SIGTERM/SIGINT come from: the process's own, or a test's.
    let shutdown: Shutdown

    public init(
        configuration: ConnectionConfiguration, logger: Logger, clock: any BatchClock = SystemClock(), version: String,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0...1) }, shutdown: Shutdown = .process
    ) {
        self.shutdown = shutdown
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
    /// refused, and the session must be ours (`provesOwnSession`).
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
            try provesOwnSession(connection, job: job, retry: retry)
        }
    }

    /// Throws `transactionPooler` unless `connection` keeps one server session to itself.
    ///
    /// Two signs, each of which a direct connection or a session-mode pooler can never show:
    /// consecutive statements answered by different server sessions (a round-robin pool), and
    /// a second connection of ours answered by the very server session the first one used.
    /// The second is what a transaction-mode PgBouncer or Supavisor on default settings shows:
    /// between transactions the first client's server session goes back to the pool, and the
    /// next client (here, the probe) is handed the most recently used one.
    func provesOwnSession(_ connection: Connection, job: String, retry: RetryPolicy) throws {
        let pid = { (c: Connection) throws -> Int32 in try c.scalar("SELECT pg_backend_pid()", as: Int32.self) ?? 0 }
        var mine = Set<Int32>()
        for _ in 0..<4 { mine.insert(try pid(connection)) }
        if mine.count > 1 {
            throw BatchError.transactionPooler(
                target: configuration.displayTarget,
                evidence: "four statements on one connection ran in \(mine.count) different server sessions")
        }
        let probe = try connect(applicationName: "samia-batch/\(job)/pooler-probe", retry: retry)
        defer { probe.close() }
        for _ in 0..<3 {
            let theirs = try pid(probe)
            mine.insert(try pid(connection))
            if mine.contains(theirs) || mine.count > 1 {
                throw BatchError.transactionPooler(
                    target: configuration.displayTarget,
                    evidence: "a second connection was answered by the same server session (pid \(theirs)) as the first"
                )
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
    ///
    /// The steps: prepare the monitoring hooks, take the job's lock (or a ledger session for
    /// concurrent jobs), record the start (or skip a partition that already succeeded), run the
    /// attempts, judge the outcome, then record and report it.
    public func run(_ job: any Job, partition: Partition, options: RunOptions) -> RunReport {
        let state = RunnerState(job: job.name, maxDuration: options.maxDuration)
        if shutdown === Shutdown.process { shutdown.listenToProcessSignals() }
        let observer = shutdown.observe { [weak self] sig in
            state.signal = sig
            self?.cancelCurrent(state)
        }
        defer { shutdown.stopObserving(observer) }
        // Asked to stop before this run began (between the runs of a night): it never starts.
        if let sig = shutdown.received {
            logger.warning("not started: the process was asked to stop", metadata: ["event": "run_not_started"])
            return Self.report(BatchError.interrupted(job: job.name, signal: sig))
        }
        var scope: RunScope
        switch prepare(job, partition: partition, options: options, state: state) {
        case .done(let report): return unstarted(report, job: job, options: options)
        case .next(let prepared): scope = prepared
        }
        let key = Runner.lockKey(for: job.name)
        let lockConnection: Connection
        switch openLedgerSession(scope, key: key) {
        case .done(let report): return unstarted(report, job: job, options: options)
        case .next(let connection): lockConnection = connection
        }
        defer { lockConnection.close() }
        defer { if !job.allowsConcurrentRuns { _ = try? lockConnection.advisoryUnlock(key) } }
        let ledger = RunLedger(connection: lockConnection)
        let started = clock.now()
        let runID: Int64
        switch recordStart(scope, ledger: ledger, lockConnection: lockConnection) {
        case .done(let report): return unstarted(report, job: job, options: options)
        case .next(let id): runID = id
        }
        metricsStarted(scope, at: started)
        scope.log[metadataKey: "run_id"] = "\(runID)"
        scope.log.info("run started", metadata: ["event": "run_started", "dry_run": "\(options.dryRun)"])
        scope.ping?.start(runID: runID, logger: scope.log)

        let deadline = options.maxDuration.map { started.addingTimeInterval($0) }
        let timer = deadline.map { armDeadline($0, state: state) }
        defer { timer?.cancel() }
        let lockCheck = Self.lockCheck(job: job, key: key, on: lockConnection)
        var attempts = runAttempts(
            scope, runID: runID, ledger: ledger, deadline: deadline, lockCheck: lockCheck)
        if attempts.failure == nil {
            attempts.failure = verdict(scope, outcome: attempts.outcome, key: key, lockConnection: lockConnection)
        }
        return finish(scope, runID: runID, ledger: ledger, started: started, attempts: attempts)
    }

    func setCurrent(_ connection: Connection?) {
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

}
