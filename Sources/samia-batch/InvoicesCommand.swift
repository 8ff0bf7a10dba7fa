import ArgumentParser
import Foundation
import Invoicing
import Postgres
import Reports
import Runner

struct InvoicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invoices",
        abstract: "Issue tax invoices, receipts and credit notes for succeeded payments and refunds.",
        discussion: """
            Numbers are SAMIA-YYYY-NNNNNN (invoices) and SAMIA-CN-YYYY-NNNNNN (credit notes), sequential per year
            with no gaps, even with several workers at once. PDFs go to object storage (SAMIA_STORAGE_DIR) at
            invoices/YYYY/MM/NUMBER.pdf. Re-running is a no-op; a lost PDF of the last INVOICE_PDF_CHECK_DAYS days (default 7; all with
            --check-all-pdfs) is rendered again to the same bytes.
            Exit 1 when some documents failed (they are listed in document_failures); the others are committed.
            See docs/invoices.md for the settings.
            """)

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var flags: RunFlags

    @Option(help: "Number at most this many new documents in this run.")
    var limit: Int?

    @Flag(
        help: """
            Check that every document ever numbered still has its PDF in storage, and render lost ones again \
            (a run checks the last INVOICE_PDF_CHECK_DAYS days, default 7). For after a storage incident, or weekly.
            """)
    var checkAllPdfs = false

    func run() throws {
        try execute {
            let job = try InvoicingJob.fromEnvironment(limit: limit, checkAllPDFs: checkAllPdfs)
            let runner = Runner(
                configuration: try database.configuration(), logger: cliLogger(), version: SamiaVersion.version)
            let report = runner.run(job, partition: .none, options: flags.options(database))
            if let outcome = report.outcome {
                print(outcome.stats.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
            }
            try finish(report)
        }
    }
}
