import Foundation
import Runner

/// Reads an OFX bank statement (OFX 1.x SGML, where leaf tags need not be closed, or 2.x XML):
/// each `STMTRS` with its currency (`CURDEF`), account (`BANKACCTFROM/ACCTID`), transactions
/// (`STMTTRN`) and ledger balance (`LEDGERBAL`). OFX gives no opening balance.
struct OFXParser {
    let file: String

    /// A tag (`TRNAMT`, `/STMTTRN`) with the text after it up to the next tag, and its line.
    struct Token {
        var tag: String
        var value: String
        var line: Int
    }

    func tokens(_ text: String) -> [Token] {
        var tokens: [Token] = []
        var line = 1
        var i = text.startIndex
        while let open = text[i...].firstIndex(of: "<") {
            line += text[i..<open].filter { $0 == "\n" }.count
            guard let close = text[open...].firstIndex(of: ">") else { break }
            let tag = String(text[text.index(after: open)..<close]).uppercased()
            let next = text[close...].firstIndex(of: "<") ?? text.endIndex
            let value = text[text.index(after: close)..<next].trimmingCharacters(in: .whitespacesAndNewlines)
            tokens.append(Token(tag: tag, value: value, line: line))
            line += text[open..<close].filter { $0 == "\n" }.count
            i = close
        }
        return tokens
    }

    func parse(_ text: String) throws -> [BankStatement] {
        var statements: [BankStatement] = []
        var currency = "", account = "", closing: BankStatement.Balance?
        var entries: [BankStatement.Entry] = []
        var transaction: [String: String]?
        var transactionLine = 0
        var balance: [String: String]?
        var balanceLine = 0
        for token in tokens(text) {
            switch token.tag {
            case "STMTRS": (currency, account, closing, entries) = ("", "", nil, [])
            case "CURDEF": currency = token.value.uppercased()
            case "ACCTID": account = token.value
            case "STMTTRN": (transaction, transactionLine) = ([:], token.line)
            case "/STMTTRN":
                if let t = transaction { entries.append(try entry(t, currency: currency, line: transactionLine)) }
                transaction = nil
            case "LEDGERBAL": (balance, balanceLine) = ([:], token.line)
            case "/LEDGERBAL":
                closing = try ledgerBalance(balance ?? [:], currency: currency, line: balanceLine)
                balance = nil
            case "/STMTRS":
                guard !account.isEmpty else {
                    throw bad(token.line, "BANKACCTFROM/ACCTID", "the statement names no account")
                }
                guard let closing else { throw bad(token.line, "LEDGERBAL", "no ledger balance") }
                // The opening balance is what the entries started from.
                let opening = BankStatement.Balance(
                    minor: closing.minor - entries.reduce(0) { $0 + $1.minor },
                    date: entries.map(\.bookingDate).min() ?? closing.date,
                    line: closing.line)
                statements.append(
                    BankStatement(
                        format: .ofx, statementID: "\(account)/\(closing.date)", account: account, currency: currency,
                        opening: opening, closing: closing, entries: entries))
            default:
                if token.tag.hasPrefix("/") { continue }
                if transaction != nil {
                    transaction?[token.tag] = token.value
                } else if balance != nil {
                    balance?[token.tag] = token.value
                }
            }
        }
        guard !statements.isEmpty else { throw bad(nil, "STMTRS", "no bank statement (STMTRS) in the file") }
        return statements
    }

    private func bad(_ line: Int?, _ field: String, _ message: String) -> BatchError {
        .badInput(file: file, line: line, field: field, message: message)
    }

    private func entry(_ t: [String: String], currency: String, line: Int) throws -> BankStatement.Entry {
        guard !currency.isEmpty else { throw bad(line, "CURDEF", "a transaction before the statement's currency") }
        guard let amount = t["TRNAMT"], let posted = t["DTPOSTED"].flatMap(Self.date) else {
            throw bad(
                line, t["TRNAMT"] == nil ? "TRNAMT" : "DTPOSTED", "a transaction without an amount or a posting date")
        }
        let type = (t["TRNTYPE"] ?? "").uppercased()
        return BankStatement.Entry(
            line: line, bookingDate: posted, valueDate: t["DTAVAIL"].flatMap(Self.date) ?? posted,
            minor: try BankStatement.minor(amount, currency: currency, file: file, line: line, field: "TRNAMT"),
            bankReference: t["FITID"],
            reference: [t["REFNUM"], t["NAME"], t["MEMO"]].compactMap { $0 }.joined(separator: " "),
            isFee: type == "FEE" || type == "SRVCHG")
    }

    private func ledgerBalance(_ b: [String: String], currency: String, line: Int) throws -> BankStatement.Balance {
        guard let amount = b["BALAMT"], let date = b["DTASOF"].flatMap(Self.date) else {
            throw bad(line, "LEDGERBAL", "a balance without BALAMT or DTASOF")
        }
        return .init(
            minor: try BankStatement.minor(amount, currency: currency, file: file, line: line, field: "BALAMT"),
            date: date,
            line: line)
    }

    /// OFX dates: YYYYMMDD, optionally followed by a time and a zone; the date part is the day.
    static func date(_ text: String) -> String? {
        let digits = text.prefix(8)
        guard digits.count == 8, digits.allSatisfy(\.isNumber) else { return nil }
        let d = "\(digits.prefix(4))-\(digits.dropFirst(4).prefix(2))-\(digits.suffix(2))"
        return BankStatement.isDate(d) ? d : nil
    }
}
