import ArgumentParser
import Foundation
import Pipelines
import Postgres
import Reports

struct InvoicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invoices",
        abstract: "Issue tax invoices, receipts and credit notes for succeeded payments and refunds.")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var flags: RunFlags

    @Option(help: "Issue at most this many documents in this run.")
    var limit: Int?

    func run() throws {
        try execute {
            throw BatchError.configuration("not yet wired")
        }
    }
}
