import Foundation

/// The table of every cell in the HTML page: one row per role × relation × command with its
/// data attributes for the filters, and the evidence (declaration, catalog, policies, the
/// probe's SQL, claims and what came back) in a `<details>` the auditor opens.
extension ParityReport {
    func cellsSection() -> String {
        let e = Self.escape
        var out = "<h2>Every cell</h2>\n<form id=\"filters\" class=\"filters\" role=\"search\">"
        let choices: [(String, String, [String])] = [
            ("role", "Role", Array(Set(cells.map(\.role))).sorted()),
            ("relation", "Relation", Array(Set(cells.map(\.relation))).sorted()),
            ("command", "Command", AccessMatrix.Command.allCases.map(\.rawValue)),
            ("verdict", "Verdict", ["fail", "error", "exception", "not-tested", "pass"]),
        ]
        for (key, label, values) in choices {
            out += "<label>\(label)<select id=\"f-\(key)\"><option value=\"\">all</option>"
            out += values.map { "<option value=\"\(e($0))\">\(e($0))</option>" }.joined() + "</select></label>"
        }
        out += "<label>Search<input id=\"f-q\" type=\"search\" placeholder=\"policy, SQL, reason\"></label>"
        out += "<span><output id=\"shown\">\(cells.count)</output> of \(cells.count) cells shown</span></form>\n"
        out += "<table id=\"cells\"><thead><tr><th>Relation</th><th>Role</th><th>Command</th><th>Declared</th>"
        out += "<th>Catalog</th><th>Probe</th><th>Verdict</th><th>Reason and evidence</th></tr></thead><tbody>\n"
        for (i, c) in orderedCells.enumerated() {
            out +=
                "<tr id=\"c\(i)\" class=\"\(e(c.verdict))\" data-role=\"\(e(c.role))\" data-relation=\"\(e(c.relation))\" "
                + "data-command=\"\(c.command.rawValue)\" data-verdict=\"\(e(c.verdict))\">"
                + "<td>\(e(c.relation))</td><td>\(e(c.role))</td><td>\(c.command.rawValue)</td><td>\(e(c.declared))</td>"
                + "<td>\(e(c.catalog.access))</td><td>\(e(Self.probeSummary(c.probe)))</td><td class=\"v\">\(e(c.verdict))</td>"
                + "<td><details class=\"evidence\"><summary>\(e(c.reason))</summary>\(evidence(c))</details></td></tr>\n"
        }
        return out + "</tbody></table>\n"
    }

    /// What the verdict rests on, as the auditor would check it by hand.
    func evidence(_ c: Cell) -> String {
        let e = Self.escape
        var facts: [(String, String)] = [
            ("Declared", c.declared + (c.columns.map { " (columns \($0.joined(separator: ", ")))" } ?? ""))
        ]
        facts.append(("Catalog", "\(c.catalog.access): \(c.catalog.reason)"))
        if let p = c.probe {
            facts.append(("Probe outcome", p.outcome + (p.sqlState.map { " (SQLSTATE \($0))" } ?? "")))
            let counts: [(String, String?)] = [
                ("Rows seen or written", p.visible.map(String.init)),
                ("Rows the scope expects", p.expected.map(String.init)),
                ("Outside the scope", p.excess.map(String.init)),
                ("Missing from the scope", p.missing.map(String.init)),
                ("Synthetic rows tried", p.tried.map(String.init)), ("Inside the scope", p.inside),
                ("Outside the scope (insert)", p.outside), ("Message", p.message),
            ]
            for case let (k, v?) in counts { facts.append((k, v)) }
            if !p.claims.isEmpty { facts.append(("Claims", p.claims)) }
        } else {
            facts.append(("Probe", "none: the catalog denies the command outright"))
        }
        if let x = c.exception {
            facts.append(
                (
                    "Exception",
                    "owner \(x.owner), approved by \(x.approvedBy), until \(x.expires)\(x.expired ? " (expired)" : ""): \(x.justification)"
                ))
        }
        var out = "<dl>" + facts.map { "<dt>\(e($0.0))</dt><dd>\(e($0.1))</dd>" }.joined() + "</dl>"
        out += c.catalog.policies.map { "<pre>\(e($0))</pre>" }.joined()
        if let p = c.probe, !p.sql.isEmpty { out += "<pre>\(e(p.sql))</pre>" }
        return out
    }
}
