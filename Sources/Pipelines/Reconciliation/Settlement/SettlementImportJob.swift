import Foundation
import Postgres
import Runner

/// Imports provider settlement files under the runner, so every import is in the run ledger.
///
/// Each file is checked and loaded in its own transaction; the first bad file stops the run with
/// a data error (exit 65) naming its file, line and column, and nothing of that file is kept.
/// Files before it stay imported, which is safe: importing them again is a no-op. A dry run
/// checks every file as an import would and rolls each back: nothing is kept.
public struct SettlementImportJob: Job {
    public let name = "settlement-import"
    public let partitionKind = PartitionKind.none
    public var isDestructive: Bool { false }

    public let files: [String]
    public let provider: SettlementReport.Provider?

    public init(files: [String], provider: SettlementReport.Provider?) {
        self.files = files
        self.provider = provider
    }

    public func run(_ context: JobContext) throws -> JobOutcome {
        let importer = SettlementImporter(connection: context.connection)
        var stats: [String: Int64] = [
            "files": 0, "files_already_imported": 0, "rows_imported": 0, "rows_already_known": 0,
        ]
        for (index, file) in files.enumerated() {
            try context.checkpoint()
            let outcome = try importer.importFile(file, provider: provider, dryRun: context.dryRun)
            let name = (file as NSString).lastPathComponent
            if outcome.fileAlreadyImported {
                stats["files_already_imported", default: 0] += 1
                print("\(name): already imported (same SHA-256); nothing to do")
            } else {
                stats["files", default: 0] += 1
                stats["rows_imported", default: 0] += Int64(outcome.imported)
                stats["rows_already_known", default: 0] += Int64(outcome.alreadyKnown)
                let verb = context.dryRun ? "would be imported" : "imported"
                print(
                    "\(name): \(outcome.report!.rawValue), \(outcome.rowsRead) row(s), \(outcome.imported) \(verb), "
                        + "\(outcome.alreadyKnown) already known")
            }
            context.progress.update("files", done: Int64(index + 1), total: Int64(files.count))
        }
        if context.dryRun { print("dry run: every check ran; nothing was imported") }
        return JobOutcome(stats: stats, itemsProcessed: stats["rows_imported"] ?? 0)
    }
}
