import ArgumentParser
import Dev
import Foundation
import Postgres
import Runner

struct DevCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Development databases: create, fill with demo data, exercise the runner.",
        subcommands: [DevInit.self, DevSeed.self, DevExercise.self])
}

struct DevInit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create the database named in the connection string, migrate it and mark it as a dev database.")

    @OptionGroup var database: DatabaseOptions
    @Flag(help: "Drop and recreate it if it is already a dev database (never touches any other).")
    var reset = false

    func run() throws {
        try execute {
            try DevDatabase(configuration: try database.configuration(), logger: cliLogger()).initialize(reset: reset)
            print("dev database \(try database.configuration().displayTarget) created and migrated")
        }
    }
}

struct DevSeed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed",
        abstract: "Fill a dev database with deterministic demo data (scale 1: ~1,000 people, 10,000 orders).",
        discussion: "Refuses any database not created by `samia-batch dev init`.")

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Size: 1 is ~1,000 people and 10,000 orders; 100 is the benchmark set.") var scale: Int = 1
    @Option(help: "Random seed; the same seed gives the same data.") var seed: Int64 = 42
    @Option(help: "The instant the data ends at, ISO 8601 (default: now).") var asOf: String?

    func run() throws {
        try execute {
            var instant = Date()
            if let asOf {
                guard let parsed = ISO8601DateFormatter().date(from: asOf) ?? LocalDate(asOf)?.start() else {
                    throw ValidationError("--as-of must be ISO 8601, e.g. 2026-11-21T00:10:00Z")
                }
                instant = parsed
            }
            let counts = try DevDatabase(configuration: try database.configuration(), logger: cliLogger())
                .seed(scale: scale, seed: seed, asOf: instant)
            print("seeded: \(counts)")
        }
    }
}

struct DevExercise: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exercise",
        abstract:
            "Run a harmless job through the runner (sleep, drop its own connection, fail) to test locks, retries and exit codes."
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var flags: RunFlags
    @Option(help: "Partition day.") var date: LocalDate = LocalDate(year: 2026, month: 1, day: 1)
    @Option(help: "Seconds to sleep inside PostgreSQL.") var seconds: Double = 0
    @Flag(help: "Terminate the job's own backend on the first attempt (a real dropped connection).")
    var dropConnection = false
    @Option(help: "Fail with: partial, bad-input, error.") var fail: String?
    @Option(help: "Job name, to exercise several independent jobs.") var name: String = "dev-exercise"

    func run() throws {
        try execute {
            let job = ExerciseJob(
                name: name, seconds: seconds, dropConnectionOnFirstAttempt: dropConnection, failWith: fail)
            let runner = Runner(
                configuration: try database.configuration(), logger: cliLogger(), version: SamiaVersion.version)
            var options = flags.options(database)
            options.retry.baseDelay = 0.2
            let report = runner.run(job, partition: .day(date), options: options)
            if let id = report.runID { print("run \(id): \(report.error.map { "\($0)" } ?? "succeeded")") }
            if let previous = report.skippedBecauseOf { print("skipped: already succeeded in run \(previous)") }
            try finish(report)
        }
    }
}
