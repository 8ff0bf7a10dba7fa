import Crypto
import Foundation

/// The page an auditor reads: one self-contained file (inline CSS and script, no fonts, images
/// or requests) that opens with the verdict, then the table of every cell, filterable by role,
/// relation, command and verdict, each row expandable to its evidence. The filters live in the
/// URL fragment (`report.html#role=client&verdict=fail`), so a link can point at exactly the
/// cells a finding is about. A Content-Security-Policy allows only this page's own style and
/// script by hash: even a name that escaped escaping could neither load nor run anything.
extension ParityReport {
    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "'", with: "&#39;")
    }

    /// The verdict as one word: any failing cell or unaccepted critical finding fails the report.
    public var verdictWord: String { failures.isEmpty && blockingFindings.isEmpty ? "PASS" : "FAIL" }

    /// Exceptions of cells and acceptances of findings whose expiry date has passed.
    var expiredExceptions: Int {
        cells.filter { $0.exception?.expired == true }.count
            + findings.filter { $0.code == "exception_expired" && $0.relation != nil }.count
    }

    public func html() -> String {
        let style = ParityReportPage.style, script = ParityReportPage.script
        func hash(_ s: String) -> String { "'sha256-\(Data(SHA256.hash(data: Data(s.utf8))).base64EncodedString())'" }
        var out = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src \(hash(style)); script-src \(hash(script)); form-action 'none'; base-uri 'none'">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>RLS parity report \(Self.escape(header.generatedAt)): \(verdictWord)</title>
            <style>\(style)</style></head><body>
            <h1>RLS parity report</h1>

            """
        out += verdictSection() + changesSection() + headerSection()
        out += cellsSection() + findingsSection() + sideEffectsSection()
        out += "<script>\(script)</script>\n</body></html>\n"
        return out
    }

    /// Pass/fail counts, unaccepted critical findings, expired exceptions, and links that
    /// filter the table down to each failing cell.
    func verdictSection() -> String {
        let e = Self.escape
        let word = verdictWord
        var out = "<section id=\"verdict\" class=\"verdict \(word.lowercased())\">\n"
        out += "<p class=\"word\">\(word)</p>\n<p class=\"summary\">\(e(summaryLine))</p>\n<ul class=\"tiles\">"
        let tiles: [(String, Int, String)] = [
            ("pass", count("pass"), "pass"), ("fail", count("fail"), "fail"), ("error", count("error"), "error"),
            ("exception", count("exception"), "exception"), ("not-tested", count("not-tested"), "not tested"),
            ("critical", blockingFindings.count, "critical findings not accepted"),
            ("high", findings.filter { $0.severity == "high" && !$0.isAccepted }.count, "high findings"),
            ("expired", expiredExceptions, "expired exceptions"),
            ("changes", changes.count, "changes since the last report"),
        ]
        for (key, n, label) in tiles {
            out += "<li class=\"tile \(key)\(n > 0 ? " nonzero" : "")\"><b>\(n)</b> \(e(label))</li>"
        }
        out += "</ul>\n"
        let failing = orderedCells.filter { $0.isFailing }
        if !failing.isEmpty {
            out += "<h2>Failing cells</h2>\n<ul class=\"failing\">"
            for c in failing {
                out += "<li><a href=\"#\(e(Self.fragment(c)))\">\(e(c.key))</a>: \(e(c.reason))</li>"
            }
            out += "</ul>\n"
        }
        if !blockingFindings.isEmpty {
            out += "<h2>Critical findings not accepted</h2>\n<ul class=\"failing\">"
            out += blockingFindings.map { "<li>\(e($0.code)) \(e($0.relation ?? "")): \(e($0.message))</li>" }.joined()
            out += "</ul>\n"
        }
        return out + "</section>\n"
    }

    /// The URL fragment that filters the table to one cell.
    static func fragment(_ c: Cell) -> String {
        var q = URLComponents()
        q.queryItems = [
            .init(name: "role", value: c.role), .init(name: "relation", value: c.relation),
            .init(name: "command", value: c.command.rawValue),
        ]
        return q.percentEncodedQuery ?? ""
    }

    func changesSection() -> String {
        let e = Self.escape
        var out = "<h2>What changed since the last report</h2>\n"
        out +=
            changes.isEmpty
            ? "<p>Nothing, or no previous report.</p>\n"
            : "<ul>" + changes.map { "<li>\(e($0))</li>" }.joined() + "</ul>\n"
        return out
    }

    func headerSection() -> String {
        let e = Self.escape
        var out = "<details class=\"facts\"><summary>What was audited: database, catalog, tool, matrix</summary><dl>\n"
        for (k, v) in headerFacts { out += "<dt>\(e(k))</dt><dd>\(e(v))</dd>\n" }
        for (role, identity) in header.identities.sorted(by: { $0.key < $1.key }) {
            out += "<dt>Identity of \(e(role))</dt><dd>\(e(identity))</dd>\n"
        }
        return out + "</dl></details>\n"
    }

    func findingsSection() -> String {
        let e = Self.escape
        var out = "<h2>Findings</h2>\n"
        if findings.isEmpty { return out + "<p>\(e(Self.noFindings))</p>\n" }
        out +=
            "<table id=\"findings\"><thead><tr><th>Severity</th><th>Code</th><th>Relation</th><th>Message</th></tr></thead><tbody>\n"
        for f in rankedFindings {
            let evidence = f.evidence.isEmpty ? "" : "<pre>" + e(f.evidence.joined(separator: "\n")) + "</pre>"
            out +=
                "<tr class=\"\(e(f.severity))\"><td>\(e(f.severity))</td><td>\(e(f.code))</td><td>\(e(f.relation ?? ""))</td>"
                + "<td>\(e(f.messageWithAcceptance))\(evidence)</td></tr>\n"
        }
        return out + "</tbody></table>\n"
    }

    func sideEffectsSection() -> String {
        guard !sideEffects.isEmpty else { return "" }
        return "<h2>Side effects a rollback cannot undo</h2><ul>"
            + sideEffects.map { "<li>\(Self.escape($0))</li>" }.joined() + "</ul>\n"
    }
}
