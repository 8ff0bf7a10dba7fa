import ArgumentParser
import Foundation
import Postgres
import Reconciliation
import Runner

struct SettlementCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "settlement", abstract: "Provider settlement reports.", subcommands: [Import.self])

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Load Stripe or Checkout.com settlement CSVs into settlement_lines (all or nothing per file).",
            discussion: """
                Stripe: the itemized balance-change-from-activity and payout-reconciliation reports. Checkout.com: financial
                actions by payout ID. The layout is recognised from the header; --provider makes a file of the other
                provider an error. Amounts become integer minor units exactly. A file imported before (same SHA-256) is a
                no-op, and a line already known with the same figures is skipped; a key listed twice, or a known line
                with other figures, refuses the file naming both lines. A bad file is refused with its file, line and
                column, and nothing of it is written (exit 65). --dry-run checks everything and keeps nothing. See
                docs/reconciliation.md.
                """)

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var flags: RunFlags

        @Argument(help: "Settlement CSV files.") var files: [String]

        @Option(help: "stripe or checkout (default: recognised from the header).")
        var provider: SettlementReport.Provider?

        func run() throws {
            try execute {
                try runFileImport(
                    SettlementImportJob(files: files, provider: provider), files: files, database: database,
                    flags: flags)
            }
        }
    }
}

extension SettlementReport.Provider: ExpressibleByArgument {}
