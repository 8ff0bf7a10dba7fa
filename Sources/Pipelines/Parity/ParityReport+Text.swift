import Foundation

/// The human forms of the report: Markdown for review in a merge request, and self-contained
/// HTML (inline CSS, no scripts, no external assets) that reads in a browser and prints.
extension ParityReport {
    var rankedFindings: [Finding] { findings.sorted { ($0.rank, $0.code) < ($1.rank, $1.code) } }

    /// What an empty findings section means, so it does not read as "not checked".
    static let noFindings =
        "None: every catalog lint ran (grants, RLS, policies, bypass, views, partitions, "
        + "functions) and none found anything."

    var headerFacts: [(String, String)] {
        [
            ("Generated", header.generatedAt), ("Database", header.database),
            ("Server", header.databaseVersion), ("Catalog fingerprint", header.catalogFingerprint),
            ("Tool", header.toolVersion), ("Schemas", header.schemas.joined(separator: ", ")),
            ("Write probes", header.probeWrites ? "yes, with synthetic rows (clone)" : "no (--reads-only: incomplete)"),
            ("Access matrix SHA-256", header.matrixSha256),
            ("Exceptions SHA-256", header.exceptionsSha256 ?? "none"),
            ("Previous report", header.previous ?? "none"),
        ]
    }

    var summaryLine: String {
        "\(cells.count) cells: \(count("pass")) pass, \(count("fail")) fail, \(count("error")) error, "
            + "\(count("exception")) exception, \(count("not-tested")) not tested; \(findings.count) findings "
            + "(\(findings.filter { $0.rank <= 1 }.count) critical or high, \(blockingFindings.count) critical not accepted)"
    }

    /// Failing cells first, then exceptions, then the rest, each by relation, role, command.
    var orderedCells: [Cell] {
        let order = ["fail": 0, "error": 0, "exception": 1, "not-tested": 2, "pass": 3]
        return cells.sorted {
            (order[$0.verdict] ?? 4, $0.relation, $0.role, $0.command) < (
                order[$1.verdict] ?? 4, $1.relation, $1.role, $1.command
            )
        }
    }

    static func probeSummary(_ p: ProbeSide?) -> String {
        guard let p else { return "—" }
        switch p.outcome {
        case "rows" where p.inside != nil:
            return "inside: \(p.inside ?? ""); outside: \(p.outside ?? "")"
        case "rows":
            return
                "\(p.visible ?? 0) visible / \(p.expected ?? 0) expected (excess \(p.excess ?? 0), missing \(p.missing ?? 0))"
        default:
            return p.outcome + (p.sqlState.map { " \($0)" } ?? "") + (p.message.map { ": \($0)" } ?? "")
        }
    }

    public func markdown() -> String {
        func cell(_ s: String) -> String {
            s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
        }
        var out = "# RLS parity report\n\n"
        for (k, v) in headerFacts { out += "- **\(k):** \(cell(v))\n" }
        out += "\n**\(summaryLine)**\n\n"
        if !changes.isEmpty {
            out += "## What changed since the last audit\n\n"
            for c in changes { out += "- \(cell(c))\n" }
            out += "\n"
        }
        out += "## Failing cells\n\n"
        let failing = orderedCells.filter { $0.isFailing }
        if failing.isEmpty { out += "None.\n\n" }
        for c in failing {
            out +=
                "### \(c.key)\n\n- declared: `\(c.declared)`\n- catalog: \(c.catalog.access): \(cell(c.catalog.reason))\n"
            out += "- probe: \(cell(Self.probeSummary(c.probe)))\n- reason: \(cell(c.reason))\n"
            for p in c.catalog.policies { out += "- policy: `\(cell(p))`\n" }
            if let p = c.probe, !p.sql.isEmpty {
                out += "- claims: `\(p.claims)`\n\n```sql\n\(p.sql)\n```\n"
            }
            out += "\n"
        }
        out += "## Findings\n\n| severity | code | relation | message |\n| --- | --- | --- | --- |\n"
        for f in rankedFindings {
            out += "| \(f.severity) | \(f.code) | \(cell(f.relation ?? "")) | \(cell(f.messageWithAcceptance)) |\n"
        }
        if findings.isEmpty { out += "\n\(Self.noFindings)\n" }
        if !sideEffects.isEmpty {
            out += "\n## Side effects a rollback cannot undo\n\n"
            for s in sideEffects { out += "- \(cell(s))\n" }
        }
        out += "\n## All cells\n\n| relation | role | command | declared | catalog | probe | verdict | reason |\n"
        out += "| --- | --- | --- | --- | --- | --- | --- | --- |\n"
        for c in orderedCells {
            out +=
                "| \(c.relation) | \(c.role) | \(c.command.rawValue) | \(c.declared) | \(c.catalog.access) | "
                + "\(cell(Self.probeSummary(c.probe))) | \(c.verdict) | \(cell(c.reason)) |\n"
        }
        return out
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    public func html() -> String {
        let e = Self.escape
        var out = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>RLS parity report \(e(header.generatedAt))</title>
            <style>
            body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem;color:#1b1f24}
            h1{font-size:1.6rem}h2{font-size:1.2rem;border-bottom:1px solid #ccd;margin-top:2rem}
            table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #d5d8de;padding:.25rem .4rem;vertical-align:top;text-align:left}
            th{background:#eef0f4}dl{display:grid;grid-template-columns:max-content auto;gap:.1rem 1rem}dt{font-weight:600}
            code,pre{font:12px/1.4 ui-monospace,Menlo,Consolas,monospace}pre{background:#f5f6f8;padding:.5rem;white-space:pre-wrap}
            .fail{background:#fde2e1}.exception{background:#fff4d6}.pass{background:#e5f5e8}.not-tested{background:#eef0f4}
            .critical,.high{color:#a40e0e;font-weight:600}.summary{font-weight:600;font-size:1.05rem}
            @media print{body{margin:0;font-size:10px}h2{page-break-after:avoid}tr{page-break-inside:avoid}}
            </style></head><body>
            <h1>RLS parity report</h1>
            <dl>
            """
        for (k, v) in headerFacts { out += "<dt>\(e(k))</dt><dd>\(e(v))</dd>\n" }
        out += "</dl>\n<p class=\"summary\">\(e(summaryLine))</p>\n"
        out += "<h2>What changed since the last audit</h2>\n"
        out +=
            changes.isEmpty
            ? "<p>Nothing, or no previous report.</p>\n"
            : "<ul>" + changes.map { "<li>\(e($0))</li>" }.joined() + "</ul>\n"
        out += "<h2>Failing cells</h2>\n"
        let failing = orderedCells.filter { $0.isFailing }
        if failing.isEmpty { out += "<p>None.</p>\n" }
        for c in failing {
            out += "<h3>\(e(c.key))</h3><dl><dt>Declared</dt><dd>\(e(c.declared))</dd>"
            out += "<dt>Catalog</dt><dd>\(e(c.catalog.access)): \(e(c.catalog.reason))</dd>"
            out += "<dt>Probe</dt><dd>\(e(Self.probeSummary(c.probe)))</dd><dt>Reason</dt><dd>\(e(c.reason))</dd>"
            if let p = c.probe, !p.claims.isEmpty { out += "<dt>Claims</dt><dd><code>\(e(p.claims))</code></dd>" }
            out += "</dl>"
            for p in c.catalog.policies { out += "<pre>\(e(p))</pre>" }
            if let p = c.probe, !p.sql.isEmpty { out += "<pre>\(e(p.sql))</pre>" }
            out += "\n"
        }
        out += "<h2>Findings</h2>\n<table><tr><th>Severity</th><th>Code</th><th>Relation</th><th>Message</th></tr>\n"
        for f in rankedFindings {
            out +=
                "<tr><td class=\"\(e(f.severity))\">\(e(f.severity))</td><td>\(e(f.code))</td><td>\(e(f.relation ?? ""))</td>"
                + "<td>\(e(f.messageWithAcceptance))\(f.evidence.isEmpty ? "" : "<pre>" + e(f.evidence.joined(separator: "\n")) + "</pre>")</td></tr>\n"
        }
        out += "</table>\n"
        if findings.isEmpty { out += "<p>\(e(Self.noFindings))</p>\n" }
        if !sideEffects.isEmpty {
            out += "<h2>Side effects a rollback cannot undo</h2><ul>"
            out += sideEffects.map { "<li>\(e($0))</li>" }.joined() + "</ul>\n"
        }
        out += "<h2>All cells</h2>\n<table><tr><th>Relation</th><th>Role</th><th>Command</th><th>Declared</th>"
        out += "<th>Catalog</th><th>Probe</th><th>Verdict</th><th>Reason</th></tr>\n"
        for c in orderedCells {
            out +=
                "<tr class=\"\(e(c.verdict))\"><td>\(e(c.relation))</td><td>\(e(c.role))</td><td>\(c.command.rawValue)</td>"
                + "<td>\(e(c.declared))</td><td>\(e(c.catalog.access))</td><td>\(e(Self.probeSummary(c.probe)))</td>"
                + "<td>\(e(c.verdict))</td><td>\(e(c.reason))</td></tr>\n"
        }
        out += "</table>\n</body></html>\n"
        return out
    }
}
