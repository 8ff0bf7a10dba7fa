import ArgumentParser
import Foundation
import Logging
import Postgres
import Runner

struct NightlyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nightly",
        abstract: "Run the nightly jobs in dependency order for one business day (default: yesterday).",
        discussion: """
            Jobs: invoicing, metrics (the day), retention (after metrics). Each runs under the runner: locked, recorded
            in batch_runs, skipped if its day already succeeded. A job that fails stops the jobs that depend on it and
            no others; the summary names each job's outcome and the exit code is the worst one (1 if any failed).
            Only one nightly runs at a time: a second start exits 75 at once.
            """)

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var flags: RunFlags
    @Option(help: "The business day to process, YYYY-MM-DD (default: yesterday in SAMIA_TIMEZONE, else UTC).")
    var date: LocalDate?

    func run() throws {
        try execute {
            // From here a SIGTERM is kept, also between jobs: the night stops where it is.
            Shutdown.process.listenToProcessSignals()
            let timeZone = try businessTimeZone()
            let day = date ?? LocalDate(Date(), in: timeZone).adding(days: -1)
            let steps = NightlyPlan.steps(for: day)
            let logger = cliLogger()
            let runner = Runner(
                configuration: try database.configuration(), logger: logger, version: SamiaVersion.version)
            // Checked on a dry run too, but a rehearsal never pings.
            let configuredPing = try HealthPing.forJob("nightly", environment: ProcessInfo.processInfo.environment)
            let ping = flags.dryRun ? nil : configuredPing
            // The night as a whole is locked too, so two timers (or two hosts) starting it
            // together give one night, not two interleaved ones.
            let lock = try runner.acquireLock(
                AdvisoryLockKey("samia-batch:nightly"), job: "nightly", retry: database.retry)
            defer { lock.close() }
            ping?.start(runID: nil, logger: logger)

            var outcome: [String: ExitStatus] = [:]
            var lines: [String] = []
            var worst = ExitStatus.success
            var interrupted = false
            for step in steps {
                let name = step.name
                let status: ExitStatus
                let state: String
                if interrupted || Shutdown.process.received != nil {
                    interrupted = true
                    status = .temporaryFailure
                    state = "NOT RUN: the night was interrupted"
                } else if let blocker = step.dependsOn.first(where: { outcome[$0] != .success }) {
                    let error = BatchError.dependencyFailed(job: name, dependency: blocker)
                    logger.error(
                        "job not run",
                        metadata: ["event": "dependency_failed", "job": "\(name)", "dependency": "\(blocker)"])
                    status = error.exitStatus
                    state = "NOT RUN: depends on \(blocker), which did not succeed"
                } else {
                    (status, state) = run(step, day: day, runner: runner, logger: logger, interrupted: &interrupted)
                }
                outcome[name] = status
                lines.append("  \(name) \(step.partition): \(state)")
                if status != .success && (worst == .success || status == .failure) { worst = status }
            }
            let failed = steps.map(\.name).filter { outcome[$0] != .success }
            print(
                "nightly \(day): \(steps.count - failed.count) of \(steps.count) job(s) ok"
                    + (failed.isEmpty ? "" : "; not ok: \(failed.joined(separator: ", "))"))
            lines.forEach { print($0) }
            ping?.finish(exitCode: worst.rawValue, runID: nil, logLines: lines, logger: logger)
            if worst != .success { throw processExit(worst) }
        }
    }
}

extension NightlyCommand {
    /// Builds and runs one step; a job whose configuration is missing fails alone (exit 78).
    func run(_ step: NightlyStep, day: LocalDate, runner: Runner, logger: Logger, interrupted: inout Bool)
        -> (ExitStatus, String)
    {
        let job: any Job
        do { job = try step.makeJob() } catch {
            logger.error("job not run", metadata: ["event": "job_not_configured", "job": "\(step.name)"])
            FileHandle.standardError.write(Data("samia-batch: \(step.name): \(error)\n".utf8))
            let status = BatchError.exitStatus(for: error)
            return (status, "FAILED, exit \(status.rawValue): \(error)")
        }
        var options = flags.options(database)
        options.parameters["date"] = day.description
        // Checked when the night started (`businessTimeZone`), so this cannot fall back silently.
        options.parameters["time_zone"] = (try? businessTimeZone())?.identifier ?? "UTC"
        options.sameParameters = ["time_zone"]
        let started = Date()
        let report = runner.run(job, partition: step.partition, options: options)
        if case BatchError.interrupted? = report.error { interrupted = true }
        let took = String(format: "%.1f s", Date().timeIntervalSince(started))
        if report.skippedBecauseOf != nil { return (report.status, "ok (already succeeded)") }
        if let error = report.error {
            return (report.status, "FAILED, exit \(report.status.rawValue) (\(took)): \(error)")
        }
        return (report.status, "ok (\(took)" + (report.runID.map { ", run \($0))" } ?? ")"))
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
