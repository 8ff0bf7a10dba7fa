import ArgumentParser
import Foundation
import Postgres
import Reconciliation
import Runner

struct ReconcileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Reconcile a month's ledger against provider settlement lines and write the signed finance ZIP.",
        discussion: """
            Imports any --settlement files first (as `settlement import` would), then matches the month's succeeded
            payments, refunds, invoices and credit notes against the settlement lines in PostgreSQL. Every difference is
            a typed break in its own CSV; matched.csv, in_transit.csv, payouts.csv, vat_summary.csv (by tax point),
            other.csv (lines matching does not use, with their totals), summary.md and a bilingual summary.pdf go in one
            ZIP with a manifest signed by SAMIA_SIGNING_KEY_FILE. Each run stores a new version of the `reconciliation`
            artefact (earlier versions are kept; see `samia-batch artifacts`). Breaks do not fail the run. --dry-run
            imports, matches and counts in a transaction that is rolled back, and writes nothing. Tolerances and the
            time zone: policy/reconciliation.yaml (docs/reconciliation.md).
            """,
        subcommands: [ReconcileBreaksCommand.self])

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var flags: RunFlags

    // Optional to the parser only, so that `reconcile breaks …` needs no month; closing one
    // without it is a usage error (64).
    @Option(help: "The month to close, YYYY-MM, or `previous` (last month in SAMIA_TIMEZONE, else UTC; for timers).")
    var month: String?

    @Option(parsing: .upToNextOption, help: "Settlement CSV files to import before matching.")
    var settlement: [String] = []

    @Option(help: "Also write the ZIP here (atomically).")
    var out: String?

    @Option(help: "Reporting time zone for the month's bounds (default: the policy's time_zone).")
    var timezone: String?

    @Option(help: "Also give the VAT summary in this currency, converted with --fx-rates.")
    var reportingCurrency: String?

    @Option(help: "CSV with a header and columns currency,rate: units of the reporting currency per unit.")
    var fxRates: String?

    @Flag(help: "Reconcile a month that has not ended yet, as an interim look; the manifest says provisional.")
    var provisional = false

    func parsedMonth() throws -> (Int, Int) {
        guard let month else { throw ValidationError("Missing expected argument '--month <month>'") }
        if month == "previous" {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = try businessTimeZone()
            let last = calendar.date(byAdding: .month, value: -1, to: Date())!
            return (calendar.component(.year, from: last), calendar.component(.month, from: last))
        }
        let parts = month.split(separator: "-")
        guard parts.count == 2, parts[0].count == 4, parts[1].count == 2, let y = Int(parts[0]), let m = Int(parts[1]),
            (2000...2999).contains(y), (1...12).contains(m)
        else { throw ValidationError("--month must be YYYY-MM (e.g. 2026-10) or previous") }
        return (y, m)
    }

    func validate() throws {
        if month != nil { _ = try parsedMonth() }
        if (reportingCurrency == nil) != (fxRates == nil) {
            throw ValidationError("--reporting-currency and --fx-rates go together")
        }
    }

    func run() throws {
        let (year, m) = try parsedMonth()
        try execute {
            var job = try ReconciliationJob.fromEnvironment(
                year: year, month: m, settlementFiles: settlement, outPath: out, timeZone: timezone,
                reporting: reportingCurrency.map {
                    ReconciliationJob.Reporting(currency: $0.uppercased(), ratesFile: fxRates!)
                })
            job.provisional = provisional
            let runner = Runner(
                configuration: try database.configuration(), logger: cliLogger(), version: SamiaVersion.version)
            var options = flags.options(database)
            // Each run is a new version of the month's artefact, so a month is never "already done".
            options.force = true
            options.parameters["time_zone"] = job.policy.timeZone
            if !settlement.isEmpty {
                options.parameters["settlement_files"] =
                    settlement.map { ($0 as NSString).lastPathComponent }.joined(separator: ",")
            }
            try finish(runner.run(job, partition: job.partition, options: options))
        }
    }
}
