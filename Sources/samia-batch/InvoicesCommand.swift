import ArgumentParser
import Foundation
import Invoicing
import Postgres
import Reports
import Runner
import Schema

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
                configuration: try database.configuration(), logger: cliLogger(), clock: try rehearsalClock(),
                version: SamiaVersion.version)
            let report = runner.run(job, partition: .none, options: flags.options(database))
            if let outcome = report.outcome {
                print(outcome.stats.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
            }
            try finish(report)
        }
    }

    /// `SAMIA_NOW` (ISO 8601) replays the nights of a dev database's history (the demo): the
    /// run numbers what was paid by then, dated then. Dating invoices in the past is never
    /// allowed on a real database: anywhere but a dev database it is refused (78).
    private func rehearsalClock() throws -> any BatchClock {
        let environment = ProcessInfo.processInfo.environment
        guard let text = environment["SAMIA_NOW"], !text.isEmpty else { return SystemClock() }
        guard let instant = ISO8601DateFormatter().date(from: text) else {
            throw BatchError.configuration("SAMIA_NOW \"\(text)\" is not an ISO 8601 time such as 2026-11-21T00:10:00Z")
        }
        let connection = try database.connect(cliLogger(), applicationName: "samia-batch/invoices/rehearsal")
        defer { connection.close() }
        guard try DevMarker.isPresent(connection) else {
            throw BatchError.refused("SAMIA_NOW would date invoices in the past; it is honoured on a dev database only")
        }
        return FixedClock(instant)
    }
}
