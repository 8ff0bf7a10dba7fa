import Foundation
import Postgres
import Runner

/// A job for exercising the runner against a real server: it sleeps in PostgreSQL, and can
/// break its own connection on the first attempt (a real dropped connection, not a mock) or
/// fail outright. Only reachable through `samia-batch dev exercise`, on dev databases.
public struct ExerciseJob: Job {
    public var name: String
    public let partitionKind = PartitionKind.day
    public var isDestructive: Bool { false }
    public let seconds: Double
    public let dropConnectionOnFirstAttempt: Bool
    public let failWith: String?

    public init(name: String = "dev-exercise", seconds: Double, dropConnectionOnFirstAttempt: Bool, failWith: String?) {
        self.name = name
        self.seconds = seconds
        self.dropConnectionOnFirstAttempt = dropConnectionOnFirstAttempt
        self.failWith = failWith
    }

    public func run(_ context: JobContext) throws -> JobOutcome {
        if dropConnectionOnFirstAttempt && context.attempt == 1 {
            // Another session terminates ours, exactly as an admin or a failover would.
            let other = try Connection(context.configuration, applicationName: "samia-batch/dev-exercise-killer")
            defer { other.close() }
            try other.query("SELECT pg_terminate_backend($1)", [context.connection.backendPID])
        }
        var slept = 0.0
        while slept < seconds {
            try context.checkpoint()
            let step = min(0.25, seconds - slept)
            try context.connection.query("SELECT pg_sleep($1)", [step])
            slept += step
            context.progress.update("sleeping", done: Int64(slept * 1000), total: Int64(seconds * 1000))
        }
        try context.connection.query("SELECT 1")
        if let failWith {
            switch failWith {
            case "partial": return JobOutcome(stats: ["ok": 2, "failed": 1], failedItems: 1, itemsProcessed: 2)
            case "bad-input":
                throw BatchError.badInput(file: "exercise.csv", line: 3, field: "amount", message: "not a number")
            default: throw BatchError.jobFailed(job: name, message: "asked to fail")
            }
        }
        return JobOutcome(
            stats: ["slept_ms": Int64(seconds * 1000), "attempt": Int64(context.attempt)], itemsProcessed: 1)
    }
}
