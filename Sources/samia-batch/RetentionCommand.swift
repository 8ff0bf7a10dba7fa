import ArgumentParser
import Foundation
import Postgres
import Reports
import Retention
import Runner
import Storage

struct RetentionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract:
            "The nightly purge: hard-delete what the retention rules say has been kept long enough (docs/retention.md).",
        discussion: """
            Rules come from the retention: section of policy/data-map.yaml (SAMIA_DATA_MAP). Rows go in batches of
            batch_size, each committed with its audit_log row; their storage objects are deleted after the commit
            (SAMIA_STORAGE_DIR or SAMIA_S3_BUCKET). Every rule is counted before any deletes: a run that would delete more
            than --max-rows or a rule's max_fraction of its table stops first and says why (exit 78). Legal holds
            (`samia-batch legal-hold`) are honoured. Re-running after a crash is safe: it resumes where it stopped.
            """)

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var flags: RunFlags

    @Option(help: "Run only this rule.") var rule: String?
    @Option(help: "Stop before deleting if a rule has more rows due than this.") var maxRows: Int64?
    @Option(help: "Override the rules' max_fraction (0 to 1) for this run, e.g. to clear a known backlog.")
    var maxFraction: Double?

    func validate() throws {
        if let maxRows, maxRows < 0 { throw ValidationError("--max-rows cannot be negative") }
        if let maxFraction, !(maxFraction > 0 && maxFraction <= 1) {
            throw ValidationError("--max-fraction must be above 0 and at most 1")
        }
    }

    func run() throws {
        try execute {
            let environment = ProcessInfo.processInfo.environment
            let (policy, map, mapFile) = try RetentionPolicy.load(environment: environment)
            let store = try ObjectStores.fromEnvironment(environment)
            var job = RetentionJob(
                policy: policy, map: map, store: store, rule: rule, maxRows: maxRows, maxFraction: maxFraction)
            job.mapFile = mapFile
            let runner = Runner(
                configuration: try database.configuration(), logger: cliLogger(), clock: try clock(environment),
                version: SamiaVersion.version)
            var options = flags.options(database)
            options.force = true
            if let rule { options.parameters["rule"] = rule }
            if let maxRows { options.parameters["max_rows"] = String(maxRows) }
            try finish(runner.run(job, partition: .none, options: options))
        }
    }

    /// `SAMIA_NOW` (ISO 8601) stands in for this host's clock, to rehearse the clock-skew guard.
    private func clock(_ environment: [String: String]) throws -> any BatchClock {
        guard let text = environment["SAMIA_NOW"], !text.isEmpty else { return SystemClock() }
        guard let instant = ISOTime.parse(text) else {
            throw BatchError.configuration("SAMIA_NOW \"\(text)\" is not an ISO 8601 time such as 2026-11-21T00:10:00Z")
        }
        return FixedClock(instant)
    }
}
