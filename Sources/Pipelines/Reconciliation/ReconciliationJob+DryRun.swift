import Foundation
import Postgres
import Runner
import Storage

extension ReconciliationJob {
    /// The close as it would be, with nothing kept: the settlement files are imported and the
    /// month matched inside one transaction that is rolled back; no ZIP is written, nothing is
    /// stored and no version number is taken. It prints what a real run would produce.
    func dryRun(_ context: JobContext) throws -> JobOutcome {
        let db = context.connection
        let registry = ArtifactRegistry(connection: db, store: store)
        let version = try registry.nextVersion(kind: Self.artifactKind, partition: partition.key)
        var stats: [String: Int64] = [:]
        try db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        defer { try? db.execute("ROLLBACK") }
        let importer = SettlementImporter(connection: db)
        for file in settlementFiles {
            try context.checkpoint()
            let outcome = try importer.importInOpenTransaction(file, provider: nil)
            stats["settlement_rows_imported", default: 0] += Int64(outcome.imported)
        }
        try setUpMatching(db)
        var manifest = manifest(version: version, now: context.clock.now(), runID: context.runID)
        stats["match_ms"] = try match(context, manifest: &manifest)
        for row in try db.query("SELECT break_type, count(*) AS n FROM rec_breaks GROUP BY 1") {
            stats["breaks_" + (try row.decode("break_type", as: String.self))] = try row.decode("n")
        }
        stats["breaks"] = Self.breakTypes.reduce(0) { $0 + (stats["breaks_" + $1] ?? 0) }
        stats["matched"] = try db.scalar("SELECT count(*) FROM rec_matched") ?? 0
        stats["in_transit"] = try db.scalar("SELECT count(*) FROM rec_in_transit") ?? 0
        let byType = Self.breakTypes.compactMap { type in stats["breaks_" + type].map { "\(type) \($0)" } }
        print(
            "dry run: reconciliation \(partition.key) would be stored as v\(version): \(stats["breaks"] ?? 0) break(s)"
                + (byType.isEmpty ? "" : " (\(byType.joined(separator: ", ")))")
                + ", \(stats["matched"] ?? 0) matched, \(stats["in_transit"] ?? 0) in transit; "
                + "\(stats["settlement_rows_imported"] ?? 0) settlement line(s) would be imported. "
                + "Nothing was imported, written or stored.")
        return JobOutcome(stats: stats, itemsProcessed: 0)
    }
}
