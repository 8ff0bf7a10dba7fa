import Foundation
import Postgres
import Runner
import Storage

/// Loads a bank statement file (camt.053, MT940 or OFX, recognised from its content) into
/// `bank_statements` and `bank_entries`, all or nothing.
///
/// Every statement is checked before anything is kept: exact amounts in the account's currency,
/// real dates, and the entries taking the opening balance to the closing one. A file already
/// imported (same SHA-256) is a no-op. An entry that overlapping statements deliver again (same
/// bank reference, or same date, amount and reference) is kept once; delivered again with other
/// figures, it refuses the file naming both.
public struct BankImporter {
    public struct Outcome: Sendable, Equatable {
        public var format: BankStatement.Format?
        public var statements: Int
        public var entries: Int
        public var imported: Int
        public var alreadyKnown: Int
        public var fileAlreadyImported: Bool
    }

    let db: Connection

    public init(connection: Connection) { db = connection }

    /// Reads and checks one file; nil when the same bytes were imported before.
    func read(_ path: String) throws -> (statements: [BankStatement], sha: String, format: BankStatement.Format)? {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BatchError.badInput(file: path, line: nil, field: nil, message: "cannot be read")
        }
        let sha = SHA256Hex.of([UInt8](data))
        if try db.scalar("SELECT 1 FROM public.bank_statement_files WHERE sha256 = $1", [sha], as: Int32.self) != nil {
            return nil
        }
        // Banks still deliver MT940 in Latin-1; UTF-8 is tried first.
        guard let text = String(data: data, encoding: .utf8) ?? String(data: data, encoding: .isoLatin1),
            let format = BankStatement.format(of: text)
        else {
            throw BatchError.badInput(
                file: path, line: 1, field: nil, message: "not a camt.053, MT940 or OFX bank statement")
        }
        let statements: [BankStatement]
        switch format {
        case .camt053: statements = try CAMT053Parser(file: path).parse(data)
        case .mt940: statements = try MT940Parser(file: path).parse(text)
        case .ofx: statements = try OFXParser(file: path).parse(text)
        }
        for statement in statements { try statement.check(file: path) }
        try Self.checkRepeats(statements, file: path)
        return (statements, sha, format)
    }

    /// Imports one file in its own transaction; with `dryRun` everything is checked and counted,
    /// then rolled back.
    public func importFile(_ path: String, dryRun: Bool = false) throws -> Outcome {
        guard let (statements, sha, format) = try read(path) else {
            return Outcome(
                format: nil, statements: 0, entries: 0, imported: 0, alreadyKnown: 0, fileAlreadyImported: true)
        }
        guard dryRun else { return try db.transaction { _ in try load(path, statements, sha, format) } }
        try db.execute("BEGIN")
        defer { try? db.execute("ROLLBACK") }
        return try load(path, statements, sha, format)
    }

    /// An entry key the file gives twice with other figures is refused naming both lines.
    static func checkRepeats(_ statements: [BankStatement], file: String) throws {
        var seen: [String: BankStatement.Entry] = [:]
        for statement in statements {
            for entry in statement.entries {
                let key = statement.account + "|" + statement.currency + "|" + Self.key(entry)
                if let first = seen[key], first.minor != entry.minor || first.bookingDate != entry.bookingDate {
                    throw BatchError.badInput(
                        file: file, line: entry.line, field: "entry",
                        message: "repeats the entry of line \(first.line) (\(Self.key(entry))) with other figures: "
                            + "\(first.bookingDate) \(first.minor) there, \(entry.bookingDate) \(entry.minor) here")
                }
                seen[key] = entry
            }
        }
    }

    static func key(_ entry: BankStatement.Entry) -> String {
        entry.bankReference ?? "\(entry.bookingDate)|\(entry.minor)|\(entry.reference)"
    }

    private func load(_ path: String, _ statements: [BankStatement], _ sha: String, _ format: BankStatement.Format)
        throws
        -> Outcome
    {
        let fileID = try db.scalar(
            "INSERT INTO public.bank_statement_files (file_name, sha256, format) VALUES ($1, $2, $3) RETURNING id",
            [(path as NSString).lastPathComponent, sha, format.rawValue], as: Int64.self)!
        var outcome = Outcome(
            format: format, statements: statements.count, entries: 0, imported: 0, alreadyKnown: 0,
            fileAlreadyImported: false)
        for statement in statements {
            try refuseChangedEntries(statement, file: path)
            let id = try db.scalar(
                """
                INSERT INTO public.bank_statements (file_id, statement_ref, account, currency, opening_minor, opening_date,
                                                    closing_minor, closing_date)
                VALUES ($1, $2, $3, $4, $5, $6::date, $7, $8::date) RETURNING id
                """,
                [
                    fileID, statement.statementID, statement.account, statement.currency, statement.opening!.minor,
                    statement.opening!.date.isEmpty ? statement.closing.date : statement.opening!.date,
                    statement.closing.minor,
                    statement.closing.date,
                ], as: Int64.self)!
            let e = statement.entries
            let inserted = try db.query(
                """
                INSERT INTO public.bank_entries (statement_id, line_no, account, currency, entry_key, booking_date, value_date,
                                                 amount_minor, reference, is_fee)
                SELECT $1, x.line_no, $2, $3, x.entry_key, x.booking_date, x.value_date, x.amount_minor, x.reference, x.is_fee
                  FROM unnest($4::integer[], $5::text[], $6::date[], $7::date[], $8::bigint[], $9::text[], $10::boolean[])
                       AS x(line_no, entry_key, booking_date, value_date, amount_minor, reference, is_fee)
                ON CONFLICT (account, currency, entry_key) DO NOTHING
                RETURNING id
                """,
                [
                    id, statement.account, statement.currency, PostgresArray(e.map { Int32($0.line) }),
                    PostgresArray(e.map(Self.key)), PostgresArray(e.map(\.bookingDate)),
                    PostgresArray(e.map(\.valueDate)),
                    PostgresArray(e.map(\.minor)), PostgresArray(e.map(\.reference)), PostgresArray(e.map(\.isFee)),
                ]
            ).count
            outcome.entries += e.count
            outcome.imported += inserted
            outcome.alreadyKnown += e.count - inserted
        }
        return outcome
    }

    /// An entry imported before from another file with other figures refuses this file.
    private func refuseChangedEntries(_ statement: BankStatement, file: String) throws {
        let e = statement.entries
        let changed = try db.query(
            """
            SELECT x.line_no, x.entry_key, x.booking_date::text AS date, x.amount_minor, k.booking_date::text AS known_date,
                   k.amount_minor AS known_minor, f.file_name, k.line_no AS known_line
              FROM unnest($1::integer[], $2::text[], $3::date[], $4::bigint[]) AS x(line_no, entry_key, booking_date, amount_minor)
              JOIN public.bank_entries k ON k.account = $5 AND k.currency = $6 AND k.entry_key = x.entry_key
              JOIN public.bank_statements s ON s.id = k.statement_id
              JOIN public.bank_statement_files f ON f.id = s.file_id
             WHERE (k.amount_minor, k.booking_date) IS DISTINCT FROM (x.amount_minor, x.booking_date)
             ORDER BY x.line_no LIMIT 1
            """,
            [
                PostgresArray(e.map { Int32($0.line) }), PostgresArray(e.map(Self.key)),
                PostgresArray(e.map(\.bookingDate)),
                PostgresArray(e.map(\.minor)), statement.account, statement.currency,
            ])
        guard let row = changed.first else { return }
        throw BatchError.badInput(
            file: file, line: Int(try row.decode("line_no") as Int32), field: "entry",
            message:
                "entry \(try row.decode("entry_key") as String) was imported from \(try row.decode("file_name") as String) "
                + "line \(try row.decode("known_line") as Int32) as \(try row.decode("known_date") as String) "
                + "\(try row.decode("known_minor") as Int64); this file says \(try row.decode("date") as String) "
                + "\(try row.decode("amount_minor") as Int64) (minor units of \(statement.currency))")
    }
}
