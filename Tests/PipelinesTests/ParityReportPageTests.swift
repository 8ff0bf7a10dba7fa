import Foundation
import TestSupport
import Testing

@testable import Parity

/// The auditor's HTML page in a real browser (issue 37, point 7): Debian's Chromium, headless,
/// with the network cut off, loads the page and runs its script. It must open with the verdict,
/// log nothing to the console, filter the table by role, relation, command and verdict (from
/// the link's fragment and from the controls), and show hostile names as text.
@Suite struct ParityReportPageTests {
    static let hostile = "x\"><img src=x onerror=alert(1)>"
    let dir = NSTemporaryDirectory() + "samia-parity-page-\(UUID().uuidString)"

    static func report() -> ParityReport {
        var cells: [ParityReport.Cell] = []
        for relation in ["orders", "profiles", hostile] {
            for role in ["anon", "client", "reader"] {
                for command in AccessMatrix.Command.tableCommands {
                    let failing = relation == "orders" && role == "client" && command == .insert
                    let error = relation == "profiles" && role == "reader" && command == .update
                    cells.append(
                        .init(
                            role: role, relation: relation, kind: "table", command: command, declared: "own",
                            columns: nil,
                            catalog: .init(access: "policies", reason: "policy p", policies: ["POLICY p USING (true)"]),
                            probe: .init(
                                outcome: error ? "error" : "rows", visible: 2, expected: 2, excess: failing ? 3 : 0,
                                missing: 0, sqlState: error ? "54001" : nil, message: nil, inside: nil, outside: nil,
                                sql: "SELECT 1 /* </script><script>alert(2)</script> */", claims: "{\"sub\":\"u\"}",
                                tried: nil),
                            verdict: failing ? "fail" : error ? "error" : "pass",
                            reason: failing ? "3 write(s) accepted <b>outside</b>" : "as declared", exception: nil))
                }
            }
        }
        return ParityReport(
            header: .init(
                databaseVersion: "15", catalogFingerprint: "f", toolVersion: "t", generatedAt: "2026-12-07T00:00:00Z",
                database: "d", schemas: ["public"], probeWrites: true, matrixSha256: "m", exceptionsSha256: nil,
                identities: ["client": "sub u"], previous: nil),
            cells: cells,
            findings: [
                .init(
                    severity: "critical", code: "api_role_bypasses_rls", relation: nil, message: "anon is BYPASSRLS",
                    evidence: [])
            ], sideEffects: [], changes: ["orders: pass -> fail"])
    }

    /// Rows of the cells table as "role|relation|command", and whether each is shown.
    static func rows(_ dom: String) -> [(key: String, shown: Bool)] {
        let tag = try! NSRegularExpression(pattern: "<tr id=\"c[0-9]+\"[^>]*>")
        return tag.matches(in: dom, range: NSRange(dom.startIndex..., in: dom)).map { m in
            let t = String(dom[Range(m.range, in: dom)!])
            func attr(_ n: String) -> String {
                guard let r = t.range(of: "data-\(n)=\""), let end = t[r.upperBound...].firstIndex(of: "\"") else {
                    return "?"
                }
                return String(t[r.upperBound..<end])
            }
            return ("\(attr("role"))|\(attr("relation"))|\(attr("command"))", !t.contains(" hidden"))
        }
    }

    func write() throws -> URL {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Self.report().html().write(toFile: dir + "/report.html", atomically: true, encoding: .utf8)
        return URL(fileURLWithPath: dir + "/report.html")
    }

    @Test func thePageOpensWithTheVerdictAndLogsNothing() throws {
        let page = try HeadlessBrowser.load(try write())
        #expect(page.console.isEmpty, "console: \(page.console)")
        let verdict = page.dom.range(of: "class=\"word\">FAIL<")?.lowerBound
        let table = page.dom.range(of: "<table id=\"cells\"")?.lowerBound
        #expect(verdict != nil && table != nil && verdict! < table!, "the verdict comes before the table")
        #expect(page.dom.contains("<b>1</b> critical findings not accepted"))
        #expect(page.dom.contains("<b>1</b> changes since the last report"))
        let rows = Self.rows(page.dom)
        #expect(rows.count == 36 && rows.allSatisfy(\.shown))
        #expect(page.dom.contains("<output id=\"shown\">36</output>"))
        // Hostile names and SQL are text: no element, no second script.
        #expect(!page.dom.contains("<img"))
        #expect(page.dom.components(separatedBy: "<script").count == 2)
        #expect(page.dom.contains("onerror=alert(1)"))
    }

    @Test func aLinksFragmentFiltersTheTable() throws {
        let url = try write()
        let page = try HeadlessBrowser.load(URL(string: url.absoluteString + "#role=client&command=insert")!)
        #expect(page.console.isEmpty, "console: \(page.console)")
        let shown = Self.rows(page.dom).filter(\.shown).map(\.key)
        #expect(shown.count == 3 && shown.allSatisfy { $0.hasPrefix("client|") && $0.hasSuffix("|insert") }, "\(shown)")
        #expect(page.dom.contains("<output id=\"shown\">3</output>"))

        let failing = try HeadlessBrowser.load(URL(string: url.absoluteString + "#verdict=fail")!)
        #expect(Self.rows(failing.dom).filter(\.shown).map(\.key) == ["client|orders|insert"])

        // The verdict's link to a failing cell filters to that cell and opens its evidence.
        let link = ParityReport.fragment(Self.report().cells.first { $0.isFailing && $0.verdict == "fail" }!)
        #expect(page.dom.contains("href=\"#\(link.replacingOccurrences(of: "&", with: "&amp;"))\""))
        let one = try HeadlessBrowser.load(URL(string: url.absoluteString + "#" + link)!)
        #expect(Self.rows(one.dom).filter(\.shown).map(\.key) == ["client|orders|insert"])
        #expect(one.dom.contains("<details class=\"evidence\" open=\"\">"))
        #expect(one.dom.components(separatedBy: "open=\"\"").count == 2, "only that cell's evidence is open")
    }

    /// The controls, used as a person would: choosing a role and a command fires `input`, the
    /// rows follow and the fragment records the choice.
    @Test func theControlsFilterAndRecordTheChoiceInTheLink() throws {
        _ = try write()
        let harness = """
            <!DOCTYPE html><html><body><iframe id="f" src="report.html"></iframe><pre id="out"></pre><script>
            const f = document.getElementById("f");
            f.addEventListener("load", () => {
              const d = f.contentDocument;
              for (const [k, v] of [["role", "reader"], ["command", "update"], ["relation", "profiles"]]) {
                const s = d.getElementById("f-" + k); s.value = v; s.dispatchEvent(new Event("input", { bubbles: true }));
              }
              const shown = Array.from(d.querySelectorAll("#cells tbody tr")).filter((r) => !r.hidden).length;
              document.getElementById("out").textContent =
                "shown=" + shown + ";output=" + d.getElementById("shown").textContent + ";hash=" + f.contentWindow.location.hash;
            });
            </script></body></html>
            """
        try harness.write(toFile: dir + "/harness.html", atomically: true, encoding: .utf8)
        let page = try HeadlessBrowser.load(URL(fileURLWithPath: dir + "/harness.html"), fileAccess: true)
        #expect(page.console.isEmpty, "console: \(page.console)")
        #expect(
            page.dom.contains("shown=1;output=1;hash=#role=reader&amp;relation=profiles&amp;command=update"),
            "\(page.dom.suffix(400))")
    }
}
