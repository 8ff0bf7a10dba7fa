import ArgumentParser
import Foundation
import Runner

/// `runs kill` and `runs clear`: an operator ends a run the runner cannot end by itself, with
/// a reason, and the ledger and `audit_log` say who did it and why.
enum RunsStopCommand {
    struct Kill: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "kill",
            abstract: "Stop a running run: end its database sessions (its lock goes with them) and record it aborted.",
            discussion:
                "Its uncommitted work is rolled back; committed work stays, and re-running the job resumes (safe).")
        @OptionGroup var stop: StopOptions
        func run() throws { try stop.perform(.kill) }
    }

    struct Clear: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "clear",
            abstract: "Record as aborted a run left `running` whose process is gone; refused while it is alive.")
        @OptionGroup var stop: StopOptions
        func run() throws { try stop.perform(.clear) }
    }

    struct StopOptions: ParsableArguments {
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The run's id (from `samia-batch runs`).") var id: Int64
        @Option(help: "Why: recorded in the ledger and the audit log.") var reason: String
        @Option(help: "Who (default: SUDO_USER, then USER).") var by: String?

        func validate() throws {
            if reason.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--reason must say why") }
        }

        func perform(_ action: RunLedger.OperatorAction) throws {
            try execute {
                let env = ProcessInfo.processInfo.environment
                let who = by ?? env["SUDO_USER"] ?? env["USER"] ?? "unknown"
                let connection = try database.connect(cliLogger(), applicationName: "samia-batch/runs")
                defer { connection.close() }
                let done = try RunLedger(connection: connection).stop(
                    runID: id, action: action, by: who, reason: reason, lockKey: Runner.lockKey(for:))
                print(done)
            }
        }
    }
}
