import Foundation
import Postgres
import Reports
import Runner

extension ReconciliationJob {
    /// Xero refuses a manual-journal file of more lines than this; files are split between
    /// journals, never inside one.
    static let xeroLinesPerFile = 300

    /// The month's journal as `ledger/journal.csv` and, unless the close is provisional, Xero's
    /// manual-journal files per currency (`ledger/xero-CUR[-N].csv`). Returns the journal's
    /// line count. A journal that does not balance is never written.
    func writeJournal(
        _ zip: ZipWriter, manifest: inout Manifest, db: Connection, now: Date, waitNanoseconds: inout UInt64
    ) throws -> Int {
        let ledger = policy.ledger
        let accounts = ReconciliationPolicy.Ledger.accountKeys
        let providers = ledger.feeVATBasisPoints.keys.sorted()
        try db.query(
            ReconciliationSQL.journalAccounts,
            [
                PostgresArray(accounts.map(\.key)), PostgresArray(accounts.map { ledger.accounts[$0.key] ?? $0.code }),
                PostgresArray(accounts.map(\.name)),
            ])
        try db.query(
            ReconciliationSQL.journalFeeVAT,
            [PostgresArray(providers), PostgresArray(providers.map { ledger.feeVATBasisPoints[$0] ?? 0 })])
        _ = try db.query("SELECT set_config('samia.xero_tax_rate', $1, true)", [ledger.xeroTaxRate])
        try db.execute(ReconciliationSQL.journal)
        let unbalanced = try db.query(ReconciliationSQL.journalUnbalanced)
        if let first = unbalanced.first {
            let day: String = try first.decode("day")
            let currency: String = try first.decode("currency")
            let difference: Int64 = try first.decode("difference")
            throw BatchError.jobFailed(
                job: name,
                message:
                    "the journal of \(day) \(currency) does not balance (debits − credits = \(difference) minor units); "
                    + "nothing was written")
        }
        let lines = try addCSV(
            zip, &manifest, name: "ledger/journal.csv", sql: ReconciliationSQL.journalCSV, db, now,
            waitNanoseconds: &waitNanoseconds)
        if provisional {
            manifest.parameters["ledger.xero"] = "not written: a provisional close is not for posting"
            return lines
        }
        for file in try xeroFiles(db) {
            // Xero reads the header's first cell as "*Narration": no byte-order mark before it.
            _ = try addCSV(
                zip, &manifest, name: file.name,
                sql: ReconciliationSQL.xeroCSV(currency: file.currency, from: file.from, through: file.through), db,
                now,
                waitNanoseconds: &waitNanoseconds, byteOrderMark: false)
        }
        return lines
    }

    /// Xero's files: one per currency (Xero journals are in the organisation's base currency,
    /// so each currency is imported where it is the base or converted first), split between
    /// days so that no file exceeds `xeroLinesPerFile` lines.
    func xeroFiles(_ db: Connection) throws -> [XeroFile] {
        let entries = try db.query(ReconciliationSQL.journalEntries).map { row in
            JournalEntrySize(
                currency: try row.decode("currency"), day: try row.decode("day"),
                lines: Int(try row.decode("lines") as Int64))
        }
        return Self.xeroFiles(entries, linesPerFile: Self.xeroLinesPerFile)
    }

    /// One journal's place and size: a currency's day.
    public struct JournalEntrySize: Sendable, Equatable {
        public var currency: String
        public var day: String
        public var lines: Int
        public init(currency: String, day: String, lines: Int) {
            self.currency = currency
            self.day = day
            self.lines = lines
        }
    }

    /// A Xero file: a currency's run of days.
    public struct XeroFile: Sendable, Equatable {
        public var name: String
        public var currency: String
        public var from: String
        public var through: String
        public var lines: Int
    }

    /// Packs entries (in currency and day order) into files of at most `linesPerFile` lines,
    /// never splitting an entry; a currency's files are numbered when there is more than one.
    /// An entry larger than a file gets a file of its own (Xero will say so on import).
    public static func xeroFiles(_ entries: [JournalEntrySize], linesPerFile: Int) -> [XeroFile] {
        var files: [XeroFile] = []
        for entry in entries {
            if let last = files.last, last.currency == entry.currency, last.lines + entry.lines <= linesPerFile {
                files[files.count - 1].through = entry.day
                files[files.count - 1].lines += entry.lines
            } else {
                files.append(
                    XeroFile(
                        name: "", currency: entry.currency, from: entry.day, through: entry.day, lines: entry.lines))
            }
        }
        let counts = Dictionary(grouping: files, by: \.currency).mapValues(\.count)
        var seen: [String: Int] = [:]
        for i in files.indices {
            let currency = files[i].currency
            seen[currency, default: 0] += 1
            files[i].name =
                "ledger/xero-\(currency)\(counts[currency, default: 0] > 1 ? "-\(seen[currency]!)" : "").csv"
        }
        return files
    }
}
