import Foundation
import Invoicing
import Privacy
import Runner
import Testing

/// Typos and repeated keys in the policy files that drive money and deletion are refused with
/// the key's path and line, never read as "use the default" or "the second one wins".
@Suite("Policy file keys")
struct PolicyKeysTests {
    static let shippedMap = try! String(
        contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../policy/data-map.yaml"), encoding: .utf8)

    func mapRefusal(_ text: String) -> String? {
        do {
            _ = try DataMap.parse(text, file: "data-map.yaml")
            return nil
        } catch { return "\(error)" }
    }

    @Test func theDataMapRefusesAMisspeltRetentionGuardAndARepeatedTable() throws {
        #expect(mapRefusal(Self.shippedMap) == nil)
        // A misspelt max_fraction left retention's guard at its default (a rule's own typo too).
        let guardTypo = Self.shippedMap.replacingOccurrences(of: "  max_fraction: 0.25", with: "  max_fracton: 0.05")
        let refusal = mapRefusal(guardTypo) ?? "accepted"
        #expect(refusal.contains("retention.max_fracton"), "\(refusal)")
        let ruleTypo = Self.shippedMap.replacingOccurrences(of: "      keep_days:", with: "      keep_dayz:")
        #expect(mapRefusal(ruleTypo)?.contains("keep_dayz") == true, "\(mapRefusal(ruleTypo) ?? "accepted")")
        // A second `not_personal:` entry for one table replaced the first.
        let repeated = Self.shippedMap.replacingOccurrences(
            of: "  roles: \"the role catalogue\"", with: "  roles: \"the role catalogue\"\n  roles: \"again\"")
        #expect(mapRefusal(repeated)?.contains("appears twice") == true, "\(mapRefusal(repeated) ?? "accepted")")
    }

    @Test func theVATRateTableRefusesACountryGivenTwice() throws {
        let twice = """
            countries:
              SA:
                - { from: 2018-01-01, rate: "5" }
              SA:
                - { from: 2020-07-01, rate: "15" }
            """
        #expect(throws: BatchError.self) { _ = try VATRateTable(yaml: twice, source: "vat-rates.yaml", fallback: nil) }
        let misspelt = "countries:\n  SA:\n    - { from: 2018-01-01, rate: \"5\", untill: 2020-07-01 }\n"
        do {
            _ = try VATRateTable(yaml: misspelt, source: "vat-rates.yaml", fallback: nil)
            Issue.record("accepted an entry with an unknown key")
        } catch BatchError.badInput(_, _, let field, let message) {
            #expect(field == "countries.SA[0].untill (line 3)" && message.contains("unknown key"))
        }
    }
}
