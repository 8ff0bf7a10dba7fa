import Foundation
import Reports
import Runner

/// A bank account statement as the bank delivered it (ISO 20022 camt.053, SWIFT MT940 or OFX),
/// read into exact minor units: what the bank tie-out matches payouts against
/// (docs/reconciliation.md, "Bank tie-out").
public struct BankStatement: Sendable, Equatable {
    public enum Format: String, Sendable {
        case camt053 = "camt.053"
        case mt940 = "MT940"
        case ofx = "OFX"
    }

    public struct Balance: Sendable, Equatable {
        public var minor: Int64
        /// YYYY-MM-DD.
        public var date: String
        public var line: Int
    }

    public struct Entry: Sendable, Equatable {
        public var line: Int
        public var bookingDate: String
        public var valueDate: String
        /// Signed: a credit (money in) is positive.
        public var minor: Int64
        /// The bank's own id of the entry (camt AcctSvcrRef, MT940 bank reference, OFX FITID), when given.
        public var bankReference: String?
        /// The remitter's reference and narrative, where payout ids appear.
        public var reference: String
        /// A charge the bank took (camt sub-family CHRG, MT940 type CHG, OFX FEE/SRVCHG).
        public var isFee: Bool
    }

    public var format: Format
    public var statementID: String
    public var account: String
    public var currency: String
    /// OFX gives no opening balance; it is then the closing balance less the entries.
    public var opening: Balance?
    public var closing: Balance
    public var entries: [Entry]

    /// Refuses, naming file, line and field, a statement whose entries do not take its opening
    /// balance to its closing one, or whose dates are not real dates.
    func check(file: String) throws {
        func bad(_ line: Int?, _ field: String, _ message: String) -> BatchError {
            .badInput(file: file, line: line, field: field, message: message)
        }
        guard Currency.exponent(currency) != nil else {
            throw bad(closing.line, "currency", "unknown currency \(currency)")
        }
        for entry in entries {
            for date in [entry.bookingDate, entry.valueDate] where !Self.isDate(date) {
                throw bad(entry.line, "date", "\(date) is not a date")
            }
        }
        guard let opening else { return }
        guard opening.date.isEmpty || closing.date.isEmpty || opening.date <= closing.date else {
            throw bad(
                opening.line, "opening balance date",
                "the opening balance of \(opening.date) is after the closing balance of \(closing.date)")
        }
        var sum = opening.minor
        for entry in entries {
            let (next, overflow) = sum.addingReportingOverflow(entry.minor)
            guard !overflow else { throw bad(entry.line, "amount", "the statement's total does not fit") }
            sum = next
        }
        guard sum == closing.minor else {
            throw bad(
                closing.line, "closing balance",
                "opening \(opening.minor) + entries \(sum - opening.minor) = \(sum) minor units of \(currency), "
                    + "the statement closes at \(closing.minor): an entry is missing or altered")
        }
    }

    static func isDate(_ text: String) -> Bool {
        let parts = text.split(separator: "-")
        guard parts.count == 3, let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
            parts[0].count == 4, (1...12).contains(m), d >= 1
        else { return false }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let days = calendar.range(of: .day, in: .month, for: calendar.date(from: DateComponents(year: y, month: m))!)!
        return days.contains(d)
    }

    /// Parses a decimal amount (point or comma) into minor units of `currency`, exactly.
    static func minor(_ text: String, currency: String, file: String, line: Int, field: String) throws -> Int64 {
        guard let exponent = Currency.exponent(currency) else {
            throw BatchError.badInput(file: file, line: line, field: field, message: "unknown currency \(currency)")
        }
        var body = text.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: ",", with: ".")
        let negative = body.hasPrefix("-")
        if negative || body.hasPrefix("+") { body.removeFirst() }
        if body.hasSuffix(".") { body.removeLast() }
        do {
            let value = try InvoiceTotals.parse(body, exponent: exponent, field: field)
            return negative ? -value : value
        } catch {
            throw BatchError.badInput(
                file: file, line: line, field: field,
                message: "\"\(text)\" is not an amount in \(currency) (\(exponent) decimals at most)")
        }
    }

    /// Which format a file is, from its first bytes.
    static func format(of text: String) -> Format? {
        let head = text.prefix(4096)
        if head.contains("camt.053") && head.contains("<") { return .camt053 }
        if head.contains("OFXHEADER") || head.contains("<OFX>") { return .ofx }
        if head.contains(":20:") && (head.contains(":60F:") || head.contains(":60M:") || head.contains(":25:")) {
            return .mt940
        }
        return nil
    }
}
