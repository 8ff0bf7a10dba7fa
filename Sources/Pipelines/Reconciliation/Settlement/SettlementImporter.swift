import Foundation
import Postgres
import Reports
import Runner
import Storage

/// Loads one provider settlement file into `settlement_lines`, all or nothing.
///
/// PostgreSQL parses the CSV (`COPY ... FROM STDIN` into a temporary table of text columns) and
/// checks every row before anything is kept: numbers, currencies, amounts that fit the
/// currency's minor unit, dates, categories. The first problem is reported with the file, line
/// and column, and the transaction is rolled back. Amounts are converted from major units to
/// minor units with `numeric` arithmetic, never floating point. A file already imported (same
/// SHA-256) is a no-op; a line already known (same provider key, same figures) is counted and
/// skipped. A line the file repeats, or a known line whose figures the file changes, refuses the
/// file naming both lines and both sets of figures: a re-delivered amount is never dropped.
public struct SettlementImporter {
    public struct Outcome: Sendable, Equatable {
        public var report: SettlementReport?
        public var rowsRead: Int
        public var imported: Int
        public var alreadyKnown: Int
        /// True when the same bytes were imported before; nothing was read.
        public var fileAlreadyImported: Bool

        static let alreadyImported = Outcome(
            report: nil, rowsRead: 0, imported: 0, alreadyKnown: 0, fileAlreadyImported: true)
    }

    let db: Connection

    public init(connection: Connection) { db = connection }

    /// Imports one file in its own transaction. With `dryRun` every check runs and the
    /// figures are counted, then the transaction is rolled back: nothing is kept.
    public func importFile(_ path: String, provider: SettlementReport.Provider?, dryRun: Bool = false) throws
        -> Outcome
    {
        guard let file = try prepare(path, provider: provider) else { return .alreadyImported }
        guard dryRun else { return try db.transaction { _ in try load(file) } }
        try db.execute("BEGIN")
        defer { try? db.execute("ROLLBACK") }
        return try load(file)
    }

    /// Imports one file inside the caller's open transaction, behind a savepoint: a bad file
    /// leaves the transaction as it was. For a dry run that must see the lines it would import.
    public func importInOpenTransaction(_ path: String, provider: SettlementReport.Provider?) throws -> Outcome {
        guard let file = try prepare(path, provider: provider) else { return .alreadyImported }
        return try db.savepoint("settlement_import") { _ in try load(file) }
    }

    /// A file read and recognised, not yet loaded.
    struct File {
        let path: String
        let bytes: [UInt8]
        let header: [String]
        let sha: String
        let report: SettlementReport
        let column: [String: String]
    }

    /// The file read and recognised; nil when the same bytes were imported before.
    private func prepare(_ path: String, provider: SettlementReport.Provider?) throws -> File? {
        let file = try read(path, provider: provider)
        let known = try db.scalar(
            "SELECT id FROM public.settlement_files WHERE sha256 = $1", [file.sha], as: Int64.self)
        return known == nil ? file : nil
    }

    private func read(_ path: String, provider: SettlementReport.Provider?) throws -> File {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BatchError.badInput(file: path, line: nil, field: nil, message: "cannot read the file")
        }
        let bytes = [UInt8](data)
        guard let header = CSVHeader.fields(bytes) else {
            throw BatchError.badInput(file: path, line: nil, field: nil, message: "the file is empty")
        }
        guard let report = SettlementReport.detect(header: header, provider: provider) else {
            let shown = header.prefix(4).joined(separator: ", ")
            throw BatchError.badInput(
                file: path, line: 1, field: nil,
                message: "not a report the importer knows (\(provider.map { "for \($0.rawValue): " } ?? "")header "
                    + "starts \(shown)); expected Stripe's itemized balance-change or payout-reconciliation report "
                    + "or Checkout.com's financial actions by payout ID (docs/reconciliation.md)")
        }
        var column: [String: String] = [:]
        for (index, name) in header.enumerated() where column[name] == nil { column[name] = "c\(index + 1)" }
        for name in report.requiredColumns where column[name] == nil {
            throw BatchError.badInput(file: path, line: 1, field: name, message: "missing column \"\(name)\"")
        }
        return File(path: path, bytes: bytes, header: header, sha: SHA256Hex.of(bytes), report: report, column: column)
    }

    /// Stages, checks and inserts one file; the caller owns the transaction.
    private func load(_ file: File) throws -> Outcome {
        let path = file.path
        let rows = try stage(file)
        let sql = SettlementSQL(report: file.report, column: file.column, header: file.header)
        let problem = try db.query(sql.firstProblem, sql.firstProblemParameters)
        if problem.count > 0 {
            let row = problem[0]
            throw BatchError.badInput(
                file: path, line: Int(try row.decode("row_no", as: Int64.self)) + 1,
                field: try row.decode("col", as: String.self), message: try row.decode("problem", as: String.self))
        }
        let fileID: Int64 =
            try db.scalar(
                """
                INSERT INTO public.settlement_files (provider, report_type, file_name, sha256, rows_read, rows_imported,
                                                     rows_already_known)
                VALUES ($1, $2, $3, $4, $5, 0, 0) RETURNING id
                """,
                [
                    file.report.provider.rawValue, file.report.rawValue, (path as NSString).lastPathComponent, file.sha,
                    rows,
                ])
            ?? 0
        try db.query(sql.ready, sql.readyParameters(fileID: fileID))
        let conflict = try db.query(SettlementSQL.conflict, SettlementSQL.currencyParameters)
        if conflict.count > 0 {
            throw BatchError.badInput(
                file: path, line: Int(try conflict[0].decode("line_no", as: Int64.self)), field: file.report.keyColumn,
                message: try conflict[0].decode("problem", as: String.self))
        }
        // A payout reconciliation report repeats lines the balance-change report brought in:
        // those stay as they are and only gain their payout id.
        let imported = Int(try db.scalar(SettlementSQL.insert, as: Int64.self) ?? 0)
        _ = try db.query(
            "UPDATE public.settlement_files SET rows_imported = $2, rows_already_known = $3 WHERE id = $1",
            [fileID, imported, Int(rows) - imported])
        try db.execute("DROP TABLE settlement_stage; DROP TABLE settlement_ready")
        return Outcome(
            report: file.report, rowsRead: Int(rows), imported: imported, alreadyKnown: Int(rows) - imported,
            fileAlreadyImported: false)
    }

    /// The file's rows as text in `settlement_stage` (`COPY` parses the CSV); returns how many.
    private func stage(_ file: File) throws -> Int64 {
        let count = file.header.count
        try db.execute(
            "CREATE TEMP TABLE settlement_stage (\((1...count).map { "c\($0) text" }.joined(separator: ", ")), "
                + "row_no bigint GENERATED ALWAYS AS IDENTITY) ON COMMIT DROP")
        var offset = 0
        let bytes = file.bytes
        do {
            try db.copyIn(
                "COPY settlement_stage (\((1...count).map { "c\($0)" }.joined(separator: ", "))) FROM STDIN WITH (FORMAT csv, HEADER true)"
            ) {
                guard offset < bytes.count else { return nil }
                let end = min(offset + 1 << 20, bytes.count)
                defer { offset = end }
                return Array(bytes[offset..<end])
            }
        } catch let error as PostgresError where error.code == .server {
            throw BatchError.badInput(file: file.path, line: error.copyLine, field: nil, message: error.message)
        }
        let rows: Int64 = try db.scalar("SELECT count(*) FROM settlement_stage") ?? 0
        guard rows > 0 else {
            throw BatchError.badInput(
                file: file.path, line: nil, field: nil, message: "the file has a header but no rows")
        }
        return rows
    }
}
