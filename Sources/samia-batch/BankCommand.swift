import ArgumentParser
import Foundation
import Postgres
import Reconciliation
import Runner

struct BankCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bank", abstract: "Bank statements for the reconciliation's bank tie-out.",
        subcommands: [Import.self])

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract:
                "Load bank statements (ISO 20022 camt.053, SWIFT MT940, OFX) into bank_statements (all or nothing per file).",
            discussion: """
                The format is recognised from the content. Amounts become integer minor units of the account's currency
                exactly; every statement's entries must take its opening balance to its closing one. A file imported
                before (same SHA-256) is a no-op; an entry overlapping statements deliver again is kept once, and one
                delivered again with other figures refuses the file naming both. A bad file is refused with its file,
                line and field, and nothing of it is written (exit 65). --dry-run checks everything and keeps nothing.
                See docs/reconciliation.md, "Bank tie-out".
                """)

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var flags: RunFlags

        @Argument(help: "Bank statement files.") var files: [String]

        func run() throws {
            try execute {
                try runFileImport(BankImportJob(files: files), files: files, database: database, flags: flags)
            }
        }
    }
}
