import ArgumentParser
import Foundation
import Pipelines
import Postgres

struct NightlyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nightly",
        abstract: "Run the nightly jobs in order for one business day (default: yesterday).",
        discussion:
            "Each job runs under the runner: locked, recorded in batch_runs, skipped if its day already succeeded.")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var flags: RunFlags
    @Option(help: "The business day to process, YYYY-MM-DD (default: yesterday in SAMIA_TIMEZONE, else UTC).")
    var date: LocalDate?

    func run() throws {
        try execute {
            let timeZone = try businessTimeZone()
            let day = date ?? LocalDate(Date(), in: timeZone).adding(days: -1)
            let plan = try NightlyPlan.jobs(for: day)
            guard !plan.isEmpty else {
                print("nightly \(day): no nightly jobs are registered in this version; nothing to do")
                return
            }
            let runner = Runner(
                configuration: try database.configuration(), logger: cliLogger(), version: SamiaVersion.version)
            var worst = ExitStatus.success
            for (job, partition) in plan {
                var options = flags.options(database)
                options.parameters["date"] = day.description
                let report = runner.run(job, partition: partition, options: options)
                let state =
                    report.skippedBecauseOf != nil
                    ? "skipped (already succeeded)" : (report.error == nil ? "ok" : "\(report.error!)")
                print("\(job.name) \(partition): \(state)")
                if report.status != .success && (worst == .success || report.status == .failure) {
                    worst = report.status
                }
            }
            if worst != .success { throw ExitCode(worst.rawValue) }
        }
    }
}

/// The business time zone from SAMIA_TIMEZONE (default UTC); an unknown name is a configuration error.
func businessTimeZone() throws -> TimeZone {
    let name = ProcessInfo.processInfo.environment["SAMIA_TIMEZONE"] ?? "UTC"
    guard let zone = TimeZone(identifier: name) else {
        throw BatchError.configuration("SAMIA_TIMEZONE=\(name) is not a known time zone")
    }
    return zone
}
