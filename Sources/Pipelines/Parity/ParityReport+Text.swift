import Foundation

/// The Markdown form of the report, for review in a merge request, and what every human form
/// shares (the header facts, the summary line, the cell order). The HTML page is in
/// `ParityReport+HTML.swift`.
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
}
