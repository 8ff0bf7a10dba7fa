import ArgumentParser
import Dev
import Foundation
import Metrics
import Postgres
import Reconciliation
import Runner

struct BackfillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backfill",
        abstract: "Catch up a partitioned job over a span of days or months, one committed run per partition.",
        discussion: """
            JOB is one of: metrics (days; each day recomputed on its own), reconcile (months), dev-exercise (days; the
            runner's test job). Which partitions run is decided from the run ledger: by default every partition whose
            latest run did not succeed (never ran, failed, partial or aborted); --only missing takes those that never
            ran, --only failed those whose latest run failed, --only all every partition (forced). --dry-run lists each
            partition with its state and what would happen, and runs nothing. A backfill stopped half-way resumes when
            the same command is run again. Exit: the worst partition's code; it stops at the first failure unless
            --keep-going.
            """)

    enum Only: String, ExpressibleByArgument, CaseIterable {
        case missing, failed, all
    }

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var flags: RunFlags

    @Argument(help: "The job: metrics, reconcile or dev-exercise.")
    var job: String

    @Option(help: "First day (YYYY-MM-DD) or month (YYYY-MM).")
    var from: String

    @Option(help: "Last day (YYYY-MM-DD) or month (YYYY-MM), inclusive.")
    var to: String

    @Option(help: "Which partitions: missing, failed or all (default: every one not succeeded).")
    var only: Only?

    @Flag(help: "Go on with the next partitions after one fails.")
    var keepGoing = false

    @Flag(help: "metrics: commit days whose figures drop against their trailing median, and log each drop.")
    var acceptDrop = false

    static let jobs: [String: PartitionKind] = ["metrics": .day, "reconcile": .month, "dev-exercise": .day]

    func validate() throws {
        guard let kind = Self.jobs[job] else {
            throw ValidationError(
                "backfill runs a partitioned job: \(Self.jobs.keys.sorted().joined(separator: ", ")); not \(job)")
        }
        guard !acceptDrop || job == "metrics" else { throw ValidationError("--accept-drop is for metrics only") }
        let partitions = try Self.partitions(kind: kind, from: from, to: to)
        guard !partitions.isEmpty else { throw ValidationError("--from must not be after --to") }
        guard partitions.count <= 3660 else { throw ValidationError("at most 3660 partitions per backfill") }
    }

    /// The days or months from `from` to `to`, inclusive.
    static func partitions(kind: PartitionKind, from: String, to: String) throws -> [Partition] {
        if kind == .month {
            func month(_ text: String, _ flag: String) throws -> (Int, Int) {
                let parts = text.split(separator: "-")
                guard parts.count >= 2, let y = Int(parts[0]), let m = Int(parts[1]), (2000...2999).contains(y),
                    (1...12).contains(m)
                else { throw ValidationError("\(flag) must be a month YYYY-MM (or a day in it), not \(text)") }
                return (y, m)
            }
            var (y, m) = try month(from, "--from")
            let last = try month(to, "--to")
            var result: [Partition] = []
            while (y, m) <= last {
                result.append(.month(year: y, month: m))
                (y, m) = m == 12 ? (y + 1, 1) : (y, m + 1)
            }
            return result
        }
        guard let first = LocalDate(from) else { throw ValidationError("--from must be a day YYYY-MM-DD, not \(from)") }
        guard let last = LocalDate(to) else { throw ValidationError("--to must be a day YYYY-MM-DD, not \(to)") }
        var result: [Partition] = []
        var day = first
        while day <= last {
            result.append(.day(day))
            day = day.adding(days: 1)
        }
        return result
    }

    func makeJob(for partition: Partition) throws -> any Job {
        switch job {
        case "metrics":
            var settings = try MetricsSettings.fromEnvironment()
            settings.acceptDrop = acceptDrop
            return MetricsJob(settings: settings, windowDays: 1, detectsLateData: false)
        case "reconcile":
            let parts = partition.key.split(separator: "-").compactMap { Int($0) }
            return try ReconciliationJob.fromEnvironment(
                year: parts[0], month: parts[1], settlementFiles: [], outPath: nil, timeZone: nil)
        default:
            return ExerciseJob(seconds: 0.05, dropConnectionOnFirstAttempt: false, failWith: nil)
        }
    }

    func run() throws {
        try execute {
            // From here a SIGTERM is kept, also between runs: the backfill stops where it is.
            Shutdown.process.listenToProcessSignals()
            let partitions = try Self.partitions(kind: Self.jobs[job]!, from: from, to: to)
            let connection = try database.connect(cliLogger(), applicationName: "samia-batch/backfill")
            // A metrics day is cut in the business zone: runs recorded in another zone do not count.
            let zone = try businessTimeZone().identifier
            let matching = job == "metrics" ? ["time_zone": zone] : [:]
            let states = try RunLedger(connection: connection).partitionStates(
                job: job, partitions: partitions, matching: matching)
            connection.close()
            let chosen = partitions.filter { p in
                switch only {
                case nil: return states[p] != "succeeded"
                case .missing: return states[p] == nil
                case .failed: return states[p] == "failed"
                case .all: return true
                }
            }
            let rule = only.map { "--only \($0.rawValue)" } ?? "not succeeded"
            print(
                "backfill \(job) \(partitions.first!.key)..\(partitions.last!.key): \(chosen.count) of \(partitions.count) partition(s) to run (\(rule))"
            )
            if flags.dryRun {
                let set = Set(chosen)
                for p in partitions {
                    print("  \(p.key)\t\(states[p] ?? "missing")\t\(set.contains(p) ? "would run" : "skip")")
                }
                print("dry run: nothing was run")
                return
            }
            let runner = Runner(
                configuration: try database.configuration(), logger: cliLogger(), version: SamiaVersion.version)
            var worst = ExitStatus.success
            for (index, partition) in chosen.enumerated() {
                if let sig = Shutdown.process.received {
                    print(
                        "backfill interrupted by signal \(sig) before \(partition.key); run the same command again to resume"
                    )
                    worst = .temporaryFailure
                    break
                }
                var options = flags.options(database)
                // The ledger already chose these partitions; --only all re-runs succeeded ones too.
                options.force = true
                options.parameters["backfill"] = "\(from)..\(to)"
                if job == "metrics" { options.parameters["time_zone"] = zone }
                if acceptDrop { options.parameters["accept_drop"] = "true" }
                let report = runner.run(try makeJob(for: partition), partition: partition, options: options)
                let state = report.error.map { "FAILED, exit \(report.status.rawValue): \($0)" } ?? "ok"
                print("[\(index + 1)/\(chosen.count)] \(job) \(partition.key): \(state)")
                if report.status != .success && (worst == .success || report.status == .failure) {
                    worst = report.status
                }
                if report.status != .success && !keepGoing {
                    print("backfill stopped at \(partition.key); run the same command again to resume from there")
                    break
                }
            }
            if worst != .success { throw processExit(worst) }
        }
    }
}
