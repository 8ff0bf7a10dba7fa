import ArgumentParser
import Foundation
import Parity
import Runner

struct ParityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parity",
        abstract:
            "The RLS-parity report for auditors: what the database lets each role do, against policy/access-matrix.yaml (docs/parity.md).",
        discussion: """
            Every role × table × command of the exposed schemas gets the declared scope, the catalog's answer (grants, RLS,
            policies, bypass, views, partitions), a probe as that role the way PostgREST runs requests (reads and, with synthetic rows, writes; always rolled back),
            and a verdict. The report goes to --out as report.json plus the chosen formats and a manifest signed with
            SAMIA_SIGNING_KEY_FILE (`samia-batch verify DIR`). Exit 1 when any cell fails without a live exception in
            policy/access-exceptions.yaml. The previous report.json in --out (or --previous) gives the "what changed" section.
            """)

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var flags: RunFlags

    @Option(help: "Directory for the report (replaced atomically).") var out: String = "out/parity"
    @Option(help: "Formats besides report.json: any of html, md, json, pdf, comma-separated.")
    var format: String = "html,md,json,pdf"
    @Option(help: "The access matrix (default: SAMIA_ACCESS_MATRIX, then policy/access-matrix.yaml).") var matrix:
        String?
    @Option(help: "The exception register (default: access-exceptions.yaml beside the matrix, if present).")
    var exceptions: String?
    @Option(help: "A previous report.json to diff against (default: the one already in --out).") var previous: String?
    @Option(help: "Rows sampled inside and outside each declared scope per probe (0: every row).")
    var sampleRows: Int = 1000
    @Flag(
        help: """
            Probe SELECT only, where writes may not be probed (a database not marked as a clone or staging copy): \
            the write cells are then not tested and the run exits 1, since the report is incomplete.
            """)
    var readsOnly = false
    /// Writes are probed by default; the flag of earlier releases is still understood.
    @Flag(help: .hidden) var probeWrites = false

    func formats() throws -> Set<ParityJob.Format> {
        var set: Set<ParityJob.Format> = []
        for part in format.split(separator: ",") {
            let name = part.trimmingCharacters(in: .whitespaces).lowercased()
            guard let f = ParityJob.Format(rawValue: name == "markdown" ? "md" : name) else {
                throw ValidationError("--format: \"\(name)\" is not one of html, md, json, pdf")
            }
            set.insert(f)
        }
        return set
    }

    func validate() throws {
        _ = try formats()
        if sampleRows < 0 { throw ValidationError("--sample-rows cannot be negative") }
        if readsOnly && probeWrites { throw ValidationError("--reads-only and --probe-writes contradict each other") }
    }

    func run() throws {
        try execute {
            let job = try ParityJob.fromEnvironment(
                matrixPath: matrix, exceptionsPath: exceptions, outDirectory: out, formats: try formats(),
                probeWrites: !readsOnly, previousPath: previous, sampleRows: sampleRows)
            let runner = Runner(
                configuration: try database.configuration(), logger: cliLogger(), version: SamiaVersion.version)
            var options = flags.options(database)
            options.force = true
            options.parameters["probe_writes"] = String(!readsOnly)
            try finish(runner.run(job, partition: .none, options: options))
        }
    }
}
