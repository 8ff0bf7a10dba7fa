import Foundation
import Runner

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// Reads an ISO 20022 camt.053 (Bank-to-Customer Statement) file: every `Stmt` with its account,
/// currency, opening (OPBD, else PRCD) and closing (CLBD) balances and its booked entries.
/// Namespaces and versions (001.02 to 001.08) are read alike: element names are local.
final class CAMT053Parser: NSObject, XMLParserDelegate {
    let file: String
    private var path: [String] = []
    private var text = ""
    private var attributes: [String: String] = [:]
    private var statements: [BankStatement] = []
    private var current: Draft?
    private var entry: [String: String] = [:]
    private var entryLine = 0
    private var balance: [String: String] = [:]
    private var balanceLine = 0
    private var failure: (any Error)?
    private var parser: XMLParser?

    /// A statement being read.
    struct Draft {
        var id = ""
        var account = ""
        var currency = ""
        var opening: BankStatement.Balance?
        var previousClosing: BankStatement.Balance?
        var closing: BankStatement.Balance?
        var entries: [BankStatement.Entry] = []
        var line = 0
    }

    init(file: String) { self.file = file }

    func parse(_ data: Data) throws -> [BankStatement] {
        let parser = XMLParser(data: data)
        parser.shouldProcessNamespaces = true
        parser.shouldResolveExternalEntities = false
        parser.delegate = self
        self.parser = parser
        let ok = parser.parse()
        if let failure { throw failure }
        guard ok else {
            throw BatchError.badInput(
                file: file, line: parser.lineNumber, field: "XML",
                message: "not well-formed XML (\(parser.parserError.map { "\($0)" } ?? "parse error"))")
        }
        guard !statements.isEmpty else {
            throw BatchError.badInput(file: file, line: nil, field: "Stmt", message: "no statement (Stmt) in the file")
        }
        return statements
    }

    private func fail(_ line: Int?, _ field: String, _ message: String) {
        guard failure == nil else { return }
        failure = BatchError.badInput(file: file, line: line, field: field, message: message)
        parser?.abortParsing()
    }

    func parser(
        _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        path.append(name)
        text = ""
        self.attributes = attributes
        switch name {
        case "Stmt": current = Draft(line: parser.lineNumber)
        case "Ntry": (entry, entryLine) = ([:], parser.lineNumber)
        case "Bal": (balance, balanceLine) = ([:], parser.lineNumber)
        default: break
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    /// libxml2 recovers from some errors and goes on: any error refuses the file.
    func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
        fail(parser.lineNumber, "XML", "not well-formed XML (\(parseError))")
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        defer { path.removeLast() }
        let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let where_ = path.joined(separator: "/")
        if path.contains("Ntry") {
            readEntryField(name, value, where_)
            if name == "Ntry" { finishEntry() }
        } else if path.contains("Bal") {
            if name == "Amt" { balance["Ccy"] = attributes["Ccy"] }
            balance[name] = balance[name] ?? value
            if name == "Bal" { finishBalance() }
        } else if path.contains("Stmt") {
            if name == "Id" && path.dropLast().last == "Stmt" { current?.id = value }
            if (name == "IBAN" || (name == "Id" && path.contains("Othr"))) && path.contains("Acct") {
                current?.account = value
            }
            if name == "Ccy" && path.dropLast().last == "Acct" { current?.currency = value }
            if name == "Stmt" { finishStatement() }
        }
        text = ""
    }

    private func readEntryField(_ name: String, _ value: String, _ where_: String) {
        switch name {
        case "Amt" where path.dropLast().last == "Ntry":
            entry["Amt"] = value
            entry["Ccy"] = attributes["Ccy"]
        case "CdtDbtInd" where path.dropLast().last == "Ntry": entry["CdtDbtInd"] = value
        case "Dt", "DtTm":
            if where_.contains("BookgDt") { entry["BookgDt"] = entry["BookgDt"] ?? value }
            if where_.contains("ValDt") { entry["ValDt"] = entry["ValDt"] ?? value }
        case "AcctSvcrRef" where path.dropLast().last == "Ntry": entry["AcctSvcrRef"] = value
        case "Cd" where where_.contains("SubFmlyCd") || where_.hasSuffix("SubFmlyCd/Cd"): entry["SubFmly"] = value
        case "SubFmlyCd": entry["SubFmly"] = value
        // camt.053.001.02 gives the status as text; from .001.08 on as <Sts><Cd>BOOK</Cd></Sts>.
        case "Cd" where path.dropLast().last == "Sts": entry["Sts"] = value
        case "Prtry" where path.dropLast().last == "Sts": entry["Sts"] = value
        case "Sts" where !value.isEmpty: entry["Sts"] = value
        case "EndToEndId", "Ustrd", "AddtlNtryInf", "InstrId", "PmtInfId":
            if value != "NOTPROVIDED" { entry["text", default: ""] += (entry["text"] == nil ? "" : " ") + value }
        default: break
        }
    }

    private func finishBalance() {
        guard let code = balance["Cd"], let amount = balance["Amt"] else {
            return fail(balanceLine, "Bal", "a balance without a type code or amount")
        }
        let currency = balance["Ccy"] ?? current?.currency ?? ""
        do {
            var minor = try BankStatement.minor(
                amount, currency: currency, file: file, line: balanceLine, field: "Bal/Amt")
            if balance["CdtDbtInd"] == "DBIT" { minor = -minor }
            let date = String((balance["Dt"] ?? balance["DtTm"] ?? "").prefix(10))
            let value = BankStatement.Balance(minor: minor, date: date, line: balanceLine)
            if current?.currency.isEmpty == true { current?.currency = currency }
            switch code {
            case "OPBD": current?.opening = value
            case "PRCD": current?.previousClosing = value
            case "CLBD": current?.closing = value
            default: break
            }
        } catch { failure = failure ?? error; parser?.abortParsing() }
    }

    private func finishEntry() {
        // Pending and informational entries are not on the account yet.
        if let status = entry["Sts"], !["BOOK", ""].contains(status) { return }
        guard let amount = entry["Amt"], let sign = entry["CdtDbtInd"], ["CRDT", "DBIT"].contains(sign) else {
            return fail(entryLine, "Ntry", "an entry without an amount or a CRDT/DBIT indicator")
        }
        guard let currency = current?.currency, entry["Ccy"] == nil || entry["Ccy"] == currency else {
            return fail(
                entryLine, "Ntry/Amt@Ccy", "\(entry["Ccy"] ?? "?") on an account in \(current?.currency ?? "?")")
        }
        do {
            let minor = try BankStatement.minor(
                amount, currency: currency, file: file, line: entryLine, field: "Ntry/Amt")
            let booking = String((entry["BookgDt"] ?? entry["ValDt"] ?? "").prefix(10))
            current?.entries.append(
                BankStatement.Entry(
                    line: entryLine, bookingDate: booking, valueDate: String((entry["ValDt"] ?? booking).prefix(10)),
                    minor: sign == "DBIT" ? -minor : minor, bankReference: entry["AcctSvcrRef"],
                    reference: entry["text"] ?? "", isFee: entry["SubFmly"] == "CHRG"))
        } catch { failure = failure ?? error; parser?.abortParsing() }
    }

    private func finishStatement() {
        guard var draft = current else { return }
        current = nil
        if draft.account.isEmpty { return fail(draft.line, "Stmt/Acct/Id", "the statement names no account") }
        guard let closing = draft.closing else { return fail(draft.line, "Bal", "no closing balance (CLBD)") }
        if draft.opening == nil { draft.opening = draft.previousClosing }
        guard draft.opening != nil else { return fail(draft.line, "Bal", "no opening balance (OPBD or PRCD)") }
        statements.append(
            BankStatement(
                format: .camt053, statementID: draft.id, account: draft.account, currency: draft.currency,
                opening: draft.opening, closing: closing, entries: draft.entries))
    }
}
