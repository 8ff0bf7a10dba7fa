import Foundation
import Postgres
import Runner

/// Imports bank statement files under the runner (job `bank-import`), each in its own
/// transaction; the first bad file stops the run with exit 65 naming file, line or element, and
/// field, and nothing of it is kept. A dry run checks every file and keeps nothing.
public struct BankImportJob: Job {
    public let name = "bank-import"
    public let partitionKind = PartitionKind.none
    public var isDestructive: Bool { false }

    public let files: [String]

    public init(files: [String]) { self.files = files }

    public func run(_ context: JobContext) throws -> JobOutcome {
        let importer = BankImporter(connection: context.connection)
        var stats: [String: Int64] = ["files": 0, "statements": 0, "entries_imported": 0, "entries_already_known": 0]
        for (index, file) in files.enumerated() {
            try context.checkpoint()
            let outcome = try importer.importFile(file, dryRun: context.dryRun)
            let name = (file as NSString).lastPathComponent
            if outcome.fileAlreadyImported {
                print("\(name): already imported (same SHA-256); nothing to do")
            } else {
                stats["files", default: 0] += 1
                stats["statements", default: 0] += Int64(outcome.statements)
                stats["entries_imported", default: 0] += Int64(outcome.imported)
                stats["entries_already_known", default: 0] += Int64(outcome.alreadyKnown)
                print(
                    "\(name): \(outcome.format!.rawValue), \(outcome.statements) statement(s), \(outcome.entries) entr(ies), "
                        + "\(outcome.imported) \(context.dryRun ? "would be imported" : "imported"), "
                        + "\(outcome.alreadyKnown) already known; balances check")
            }
            context.progress.update("files", done: Int64(index + 1), total: Int64(files.count))
        }
        if context.dryRun { print("dry run: every check ran; nothing was imported") }
        return JobOutcome(stats: stats, itemsProcessed: stats["entries_imported"] ?? 0)
    }
}
