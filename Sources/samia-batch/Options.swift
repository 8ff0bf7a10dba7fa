import ArgumentParser
import Foundation
import Logging
import Postgres
import Runner

/// Where the database is and how hard to try reaching it; shared by every command that connects.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .customLong("database-url"),
        help: "postgresql:// URL or libpq conninfo (default: DATABASE_URL, then PG* variables).")
    var databaseURL: String?

    @Option(help: "Connection attempts before giving up with exit 75.")
    var connectAttempts: Int = 4

    func configuration() throws -> ConnectionConfiguration {
        do { return try ConnectionConfiguration(conninfo: databaseURL) } catch {
            throw BatchError.configuration(
                "\(error.message) (from \(databaseURL == nil ? "DATABASE_URL / PG* variables" : "--database-url"))")
        }
    }

    var retry: RetryPolicy { RetryPolicy(maxAttempts: connectAttempts) }

    func validate() throws {
        if connectAttempts < 1 { throw ValidationError("--connect-attempts must be at least 1") }
    }

    /// A connection, retried while the server is unreachable.
    func connect(_ logger: Logger, applicationName: String) throws -> Connection {
        let runner = Runner(configuration: try configuration(), logger: logger, version: SamiaVersion.version)
        return try runner.connect(applicationName: applicationName, retry: retry)
    }
}

/// Flags for one run of a job; shared by every job command.
struct RunFlags: ParsableArguments {
    @Flag(help: "Show what would change and change nothing (destructive jobs).")
    var dryRun = false

    @Flag(help: "Run a partition again even if it already succeeded.")
    var force = false

    @Option(help: "Cancel the run after this many seconds.")
    var maxDuration: Double?

    @Option(help: "Write Prometheus textfile metrics here (default: SAMIA_METRICS_TEXTFILE).")
    var metricsTextfile: String?

    @Option(help: "Attempts for transient failures (connection loss, serialization failure, deadlock).")
    var attempts: Int = 4

    func options(_ database: DatabaseOptions) -> RunOptions {
        var o = RunOptions()
        o.dryRun = dryRun
        o.force = force
        o.maxDuration = maxDuration
        o.metricsTextfile = metricsTextfile ?? ProcessInfo.processInfo.environment["SAMIA_METRICS_TEXTFILE"]
        o.retry = RetryPolicy(maxAttempts: attempts)
        o.connectRetry = database.retry
        o.interactive = isatty(STDERR_FILENO) == 1 && ProcessInfo.processInfo.environment["SAMIA_LOG_FORMAT"] != "json"
        return o
    }

    func validate() throws {
        if let maxDuration, maxDuration <= 0 { throw ValidationError("--max-duration must be positive") }
        if attempts < 1 { throw ValidationError("--attempts must be at least 1") }
    }
}

/// Runs a command body and turns any error into a message on stderr and the right exit code.
func execute(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        FileHandle.standardError.write(Data("samia-batch: \(error)\n".utf8))
        throw processExit(BatchError.exitStatus(for: error))
    }
}

/// Runs an import of `files` under the runner: keyed by its files, not by a partition, so it
/// always runs (an already imported file is a no-op inside the job).
func runFileImport(_ job: some Job, files: [String], database: DatabaseOptions, flags: RunFlags) throws {
    let runner = Runner(configuration: try database.configuration(), logger: cliLogger(), version: SamiaVersion.version)
    var options = flags.options(database)
    options.force = true
    options.parameters["files"] = files.map { ($0 as NSString).lastPathComponent }.joined(separator: ",")
    try finish(runner.run(job, partition: .none, options: options))
}

/// Exits with a run report's status, printing its error if any.
func finish(_ report: RunReport) throws {
    if let error = report.error {
        FileHandle.standardError.write(Data("samia-batch: \(error)\n".utf8))
    }
    if report.status != .success { throw processExit(report.status) }
}

/// The process's exit code for `status`. Where a scheduler cannot count a non-zero status as
/// benign (a Kubernetes Job), `SAMIA_ALREADY_RUNNING_EXIT=0` makes "another run holds the
/// lock" exit 0; every other status is unchanged.
func processExit(_ status: ExitStatus) -> ExitCode {
    if status == .alreadyRunning, ProcessInfo.processInfo.environment["SAMIA_ALREADY_RUNNING_EXIT"] == "0" {
        return .success
    }
    return ExitCode(status.rawValue)
}

func cliLogger(_ label: String = "samia-batch") -> Logger { Logger(label: label) }

/// Parses `YYYY-MM-DD` for ArgumentParser.
extension LocalDate: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
}
