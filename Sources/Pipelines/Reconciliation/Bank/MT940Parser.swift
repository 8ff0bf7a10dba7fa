import Foundation
import Runner

/// Reads a SWIFT MT940 (Customer Statement) file: one or more statements, each `:20:` to `:62F:`,
/// with the account (`:25:`), opening (`:60F:`/`:60M:`) and closing (`:62F:`/`:62M:`) balances,
/// and `:61:` entries with their `:86:` narrative. Amounts use a decimal comma.
struct MT940Parser {
    let file: String

    /// A tag and its value, with the line it starts on (continuation lines joined by newlines).
    struct Field {
        var tag: String
        var value: String
        var line: Int
    }

    func fields(_ text: String) -> [Field] {
        var fields: [Field] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = String(raw).trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
            // SWIFT envelope blocks ({1:…}{2:…}{4:) and the end of block 4 (-}) carry no fields.
            if line.hasPrefix("{") {
                guard let start = line.range(of: "{4:") else { continue }
                line = String(line[start.upperBound...])
            }
            if line == "-}" || line == "-" || line.isEmpty { continue }
            if line.hasPrefix(":"), let end = line.dropFirst().firstIndex(of: ":") {
                fields.append(
                    Field(
                        tag: String(line[line.index(after: line.startIndex)..<end]),
                        value: String(line[line.index(after: end)...]), line: i + 1))
            } else if !fields.isEmpty {
                fields[fields.count - 1].value += "\n" + line
            }
        }
        return fields
    }

    func parse(_ text: String) throws -> [BankStatement] {
        var statements: [BankStatement] = []
        var draft: BankStatement?
        for field in fields(text) {
            switch field.tag {
            case "20":
                if draft != nil { throw bad(field.line, ":20:", "a new statement starts before :62F: closed the last") }
                draft = BankStatement(
                    format: .mt940, statementID: field.value, account: "", currency: "", opening: nil,
                    closing: .init(minor: 0, date: "", line: 0), entries: [])
            case "25": draft?.account = field.value.trimmingCharacters(in: .whitespaces)
            case "28C": draft?.statementID += "/" + field.value
            case "60F", "60M":
                let (minor, date, currency) = try balance(field)
                draft?.currency = currency
                draft?.opening = .init(minor: minor, date: date, line: field.line)
            case "61":
                guard let currency = draft?.currency, !currency.isEmpty else {
                    throw bad(field.line, ":61:", "an entry before :60F:")
                }
                let read = try entry(field, currency: currency)
                draft?.entries.append(read)
            case "86":
                if let last = draft?.entries.indices.last, let before = draft?.entries[last].reference {
                    let narrative = field.value.replacingOccurrences(of: "\n", with: " ")
                    draft?.entries[last].reference = before.isEmpty ? narrative : before + " " + narrative
                }
            case "62F", "62M":
                guard var statement = draft else {
                    throw bad(field.line, ":62F:", "a closing balance with no statement")
                }
                let (minor, date, currency) = try balance(field)
                guard currency == statement.currency else {
                    throw bad(field.line, ":62F:", "closes in \(currency), opened in \(statement.currency)")
                }
                statement.closing = .init(minor: minor, date: date, line: field.line)
                guard !statement.account.isEmpty else {
                    throw bad(field.line, ":25:", "the statement names no account")
                }
                statements.append(statement)
                draft = nil
            default: continue
            }
        }
        if draft != nil { throw bad(nil, ":62F:", "the last statement has no closing balance") }
        guard !statements.isEmpty else { throw bad(nil, ":20:", "no statement in the file") }
        return statements
    }

    private func bad(_ line: Int?, _ field: String, _ message: String) -> BatchError {
        .badInput(file: file, line: line, field: field, message: message)
    }

    /// `C261016SAR1234,56`: sign, date, currency, amount.
    private func balance(_ field: Field) throws -> (Int64, String, String) {
        let v = Array(field.value.trimmingCharacters(in: .whitespaces))
        guard v.count >= 11, v[0] == "C" || v[0] == "D", let date = Self.date(String(v[1..<7])) else {
            throw bad(field.line, ":\(field.tag):", "expected C or D, a date YYMMDD, a currency and an amount")
        }
        let currency = String(v[7..<10])
        let minor = try BankStatement.minor(
            String(v[10...]), currency: currency, file: file, line: field.line, field: ":\(field.tag): amount")
        return (v[0] == "D" ? -minor : minor, date, currency)
    }

    /// `:61:` value date YYMMDD, optional entry date MMDD, C/D/RC/RD, optional funds code, amount
    /// with a decimal comma, N or F or S and a three-letter type, the customer's reference, `//`
    /// and the bank's reference.
    private func entry(_ field: Field, currency: String) throws -> BankStatement.Entry {
        let first = field.value.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? ""
        let pattern = #"^(\d{6})(\d{4})?(RC|RD|C|D)([A-Z])?([0-9]+,[0-9]*)([NFS])([A-Z0-9]{3})([^/]*)(//(.*))?$"#
        guard let match = first.range(of: pattern, options: .regularExpression), match.lowerBound == first.startIndex,
            let regex = try? NSRegularExpression(pattern: pattern),
            let m = regex.firstMatch(in: first, range: NSRange(first.startIndex..., in: first))
        else { throw bad(field.line, ":61:", "not an MT940 statement line: \(first.prefix(40))") }
        func group(_ i: Int) -> String? { Range(m.range(at: i), in: first).map { String(first[$0]) } }
        guard let valueDate = Self.date(group(1)!) else { throw bad(field.line, ":61:", "\(group(1)!) is not a date") }
        var booking = valueDate
        if let mmdd = group(2) {
            var year = Int(valueDate.prefix(4))!
            // An entry date in January for a December value date (or the reverse) crosses the year.
            if mmdd.hasPrefix("01") && valueDate.dropFirst(5).hasPrefix("12") { year += 1 }
            if mmdd.hasPrefix("12") && valueDate.dropFirst(5).hasPrefix("01") { year -= 1 }
            booking = "\(year)-\(mmdd.prefix(2))-\(mmdd.suffix(2))"
        }
        let mark = group(3)!
        let minor = try BankStatement.minor(
            group(5)!, currency: currency, file: file, line: field.line, field: ":61: amount")
        // C credits the account, D debits it; a reversal (RC, RD) undoes the opposite.
        let signed = (mark == "C" || mark == "RD") ? minor : -minor
        let customer = group(8)!.trimmingCharacters(in: .whitespaces)
        return BankStatement.Entry(
            line: field.line, bookingDate: booking, valueDate: valueDate, minor: signed,
            bankReference: group(10).map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 },
            reference: customer == "NONREF" ? "" : customer, isFee: group(7) == "CHG")
    }

    /// YYMMDD as YYYY-MM-DD (20YY).
    static func date(_ yymmdd: String) -> String? {
        guard yymmdd.count == 6, yymmdd.allSatisfy(\.isNumber) else { return nil }
        let d = "20\(yymmdd.prefix(2))-\(yymmdd.dropFirst(2).prefix(2))-\(yymmdd.suffix(2))"
        return BankStatement.isDate(d) ? d : nil
    }
}
