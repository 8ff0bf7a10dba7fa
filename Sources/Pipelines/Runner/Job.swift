import Foundation
import Logging
import Postgres

/// What a job's work is keyed by: re-running the same partition must end in the same state.
public enum PartitionKind: String, Sendable {
    /// `range` is an inclusive span of days (`FROM..TO`), for backfills done in chunks.
    case none, day, month, request, range
}

/// One unit of scheduled work: a day, a month, a request id, or the whole job.
public struct Partition: Sendable, Hashable, CustomStringConvertible {
    public let kind: PartitionKind
    public let key: String

    public init(kind: PartitionKind, key: String) {
        self.kind = kind
        self.key = key
    }

    public static let none = Partition(kind: .none, key: "")
    public static func day(_ date: LocalDate) -> Partition { Partition(kind: .day, key: date.description) }
    public static func month(year: Int, month: Int) -> Partition {
        Partition(kind: .month, key: String(format: "%04d-%02d", year, month))
    }
    public static func request(_ id: String) -> Partition { Partition(kind: .request, key: id) }
    public static func range(_ days: ClosedRange<LocalDate>) -> Partition {
        Partition(kind: .range, key: "\(days.lowerBound)..\(days.upperBound)")
    }

    /// The days a `day` or `range` partition covers.
    public var dayRange: ClosedRange<LocalDate>? {
        switch kind {
        case .day: return LocalDate(key).map { $0...$0 }
        case .range:
            let parts = key.components(separatedBy: "..")
            guard parts.count == 2, let a = LocalDate(parts[0]), let b = LocalDate(parts[1]), a <= b else { return nil }
            return a...b
        default: return nil
        }
    }

    public var description: String { kind == .none ? "(none)" : "\(kind.rawValue) \(key)" }
}

/// A job the runner can run: it declares its name, partitioning and whether it destroys data.
///
/// The runner owns locking, the ledger, retries, deadlines and metrics; a job only does its
/// work through the context and reports what it did.
public protocol Job: Sendable {
    var name: String { get }
    var partitionKind: PartitionKind { get }
    /// Destructive jobs get `--dry-run` and are expected to honour it.
    var isDestructive: Bool { get }
    /// Jobs whose items are claimed with `FOR UPDATE SKIP LOCKED` may run as several workers
    /// at once; the runner then takes no job-wide lock.
    var allowsConcurrentRuns: Bool { get }
    /// Jobs that must see every row of the tables they read (all of ours: invoices, finance,
    /// privacy, retention, metrics, parity's baseline): the runner refuses to start one as a
    /// role that row-level security would hide rows from (`RoleRights`).
    var needsEveryRow: Bool { get }
    func run(_ context: JobContext) throws -> JobOutcome
    /// Why a partition that already succeeded (in run `runID`) must run again without
    /// `--force`: its sources changed since. nil when it is up to date, and the runner skips it
    /// saying so. Jobs whose partitions cannot go stale keep the default (always up to date).
    func sourcesChanged(since runID: Int64, partition: Partition, on connection: Connection, now: Date) throws
        -> String?
}

extension Job {
    public var allowsConcurrentRuns: Bool { false }
    public var needsEveryRow: Bool { true }
    public func sourcesChanged(since runID: Int64, partition: Partition, on connection: Connection, now: Date) throws
        -> String?
    { nil }
}

/// What a job reports back: counts for the ledger and metrics, artefacts it wrote, and how
/// many items failed (more than zero makes the run partial, exit 1).
public struct JobOutcome: Sendable, Equatable {
    public var stats: [String: Int64]
    public var artifacts: [String]
    public var failedItems: Int
    /// The count reported as `items processed` in metrics.
    public var itemsProcessed: Int64
    /// Job-specific gauges for the metrics textfile (e.g. `samia_dsr_requests_overdue`), so
    /// alerts can fire on what the job saw, not only on whether it ran.
    public var gauges: [String: Double] = [:]
    /// Items refused because configuration is missing or wrong (a buyer country no tax
    /// registration covers): the run ends 78 naming them, after doing what it could.
    public var configurationProblems: [String] = []

    public init(stats: [String: Int64] = [:], artifacts: [String] = [], failedItems: Int = 0, itemsProcessed: Int64 = 0)
    {
        self.stats = stats
        self.artifacts = artifacts
        self.failedItems = failedItems
        self.itemsProcessed = itemsProcessed
    }
}

/// Everything a job may use during one attempt.
public final class JobContext: Sendable {
    /// A connection for this attempt only; a retry gets a fresh one.
    public let connection: Connection
    public let configuration: ConnectionConfiguration
    public let partition: Partition
    public let dryRun: Bool
    public let runID: Int64
    public let attempt: Int
    public let logger: Logger
    public let clock: any BatchClock
    public let progress: ProgressReporter
    let deadline: Date?
    let runnerState: RunnerState
    let lockCheck: (@Sendable () throws -> Void)?

    init(
        connection: Connection, configuration: ConnectionConfiguration, partition: Partition, dryRun: Bool,
        runID: Int64,
        attempt: Int, logger: Logger, clock: any BatchClock, progress: ProgressReporter, deadline: Date?,
        runnerState: RunnerState, lockCheck: (@Sendable () throws -> Void)? = nil
    ) {
        self.connection = connection
        self.configuration = configuration
        self.partition = partition
        self.dryRun = dryRun
        self.runID = runID
        self.attempt = attempt
        self.logger = logger
        self.clock = clock
        self.progress = progress
        self.deadline = deadline
        self.runnerState = runnerState
        self.lockCheck = lockCheck
    }

    /// Records `stats` as the run's figures so far in its ledger row, inside `tx`, the
    /// transaction that commits the work they count: a run that stops half-way (a crash, a
    /// tripped storage breaker, a kill) leaves figures that match what it committed.
    public func recordProgress(_ stats: [String: Int64], in tx: Connection) throws {
        try RunLedger(connection: tx).progress(runID: runID, stats: stats)
    }

    /// Opens another session to the same database for work done beside the main connection
    /// (a slice of the days on a second core). It is held to the same rules as the main one:
    /// its commits re-check the job's lock, its statements stop at the run's deadline, and
    /// SIGTERM cancels what it runs. Close it with `closeSession` on every path.
    public func openSession(purpose: String) throws -> Connection {
        let session = try Connection(configuration, applicationName: "samia-batch/\(runnerState.job)/\(purpose)")
        do {
            if let deadline {
                let ms = max(1, Int(deadline.timeIntervalSince(clock.now()) * 1000))
                _ = try session.query("SELECT set_config('statement_timeout', $1, false)", [String(ms)])
            }
        } catch {
            session.close()
            throw error
        }
        session.beforeCommit = lockCheck
        runnerState.register(session)
        return session
    }

    public func closeSession(_ session: Connection) {
        runnerState.unregister(session)
        session.close()
    }

    /// Throws if the run was interrupted, ran past `--max-duration` or lost its lock; call
    /// between items so long work stops at a clean boundary.
    public func checkpoint() throws {
        try lockCheck?()
        if let signal = runnerState.signal { throw BatchError.interrupted(job: runnerState.job, signal: signal) }
        if let deadline, clock.now() >= deadline {
            throw BatchError.deadlineExceeded(job: runnerState.job, seconds: runnerState.maxDuration ?? 0)
        }
    }
}
