import Reconciliation
import Runner
import Testing

/// `policy/reconciliation.yaml` as finance writes it: a misspelt or repeated key is refused with
/// the file, the path and the line, never read as "use the default".
@Suite("Reconciliation policy")
struct ReconciliationPolicyTests {
    /// The refusal's file, field and message, or nil when the text was accepted.
    func refusal(_ yaml: String) -> (field: String?, line: Int?, message: String)? {
        do {
            _ = try ReconciliationPolicy(yaml: yaml, source: "policy.yaml")
            return nil
        } catch BatchError.badInput(let file, let line, let field, let message) {
            #expect(file == "policy.yaml")
            return (field, line, message)
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test func aMisspeltKeyIsRefusedNotDefaulted() throws {
        // `amount_minor_unit` (no s) would leave the tolerance at 0 while finance believes it is 5.
        let typo = refusal("tolerances:\n  amount_minor_unit: 5\n")
        #expect(typo?.field == "tolerances.amount_minor_unit (line 2)")
        #expect(typo?.message.contains("unknown key") == true)
        let top = refusal("time_zone: UTC\ntolerence:\n  fee_minor_units: 2\n")
        #expect(top?.field == "tolerence (line 2)")
        let fee = refusal("fees:\n  stripe:\n    USD: { percent: \"2.9\", fixd: \"0.30\" }\n")
        #expect(fee?.field == "fees.stripe.USD.fixd (line 3)")
        let ledger = refusal("ledger:\n  accounts:\n    revenu: \"4000\"\n")
        #expect(ledger?.field == "ledger.accounts.revenu (line 3)")
    }

    @Test func aRepeatedKeyIsRefused() throws {
        let twice = refusal("tolerances:\n  in_transit_days: 3\n  in_transit_days: 10\n")
        #expect(twice?.field == "tolerances.in_transit_days (line 3)")
        #expect(twice?.message.contains("appears twice") == true)
    }

    @Test func theShippedPolicyAndTheLedgerSectionAreRead() throws {
        let policy = try ReconciliationPolicy(
            yaml: """
                time_zone: Asia/Riyadh
                ledger:
                  accounts: { revenue: "400", bank: "090" }
                  fee_vat_percent: { stripe: "15" }
                  xero_tax_rate: "Tax Exempt"
                """, source: "policy.yaml")
        #expect(policy.ledger.accounts["revenue"] == "400")
        #expect(policy.ledger.accounts["bank"] == "090")
        #expect(policy.ledger.accounts["vat_payable"] == ReconciliationPolicy.Ledger().accounts["vat_payable"])
        #expect(policy.ledger.feeVATBasisPoints == ["stripe": 1500])
        #expect(policy.ledger.xeroTaxRate == "Tax Exempt")
        #expect(refusal("ledger:\n  accounts: { bank: \"=1+1\" }\n")?.field == "ledger.accounts.bank")
        #expect(refusal("ledger:\n  fee_vat_percent: { paypal: \"5\" }\n")?.field == "ledger.fee_vat_percent.paypal")
        #expect(refusal("ledger:\n  fee_vat_percent: { stripe: \"115\" }\n")?.field == "ledger.fee_vat_percent.stripe")
    }
}

/// Xero's manual-journal files: at most a file's lines each, a journal never split.
@Suite("Xero journal files")
struct XeroJournalFileTests {
    @Test func filesAreSplitBetweenJournalsAndNumberedPerCurrency() {
        let entries =
            (1...5).map { ReconciliationJob.JournalEntrySize(currency: "SAR", day: "2026-10-0\($0)", lines: 4) }
            + [ReconciliationJob.JournalEntrySize(currency: "USD", day: "2026-10-02", lines: 11)]
        let files = ReconciliationJob.xeroFiles(entries, linesPerFile: 10)
        #expect(
            files.map(\.name) == [
                "ledger/xero-SAR-1.csv", "ledger/xero-SAR-2.csv", "ledger/xero-SAR-3.csv", "ledger/xero-USD.csv",
            ])
        #expect(files.map(\.lines) == [8, 8, 4, 11])
        #expect(
            files.map { "\($0.from)…\($0.through)" } == [
                "2026-10-01…2026-10-02", "2026-10-03…2026-10-04", "2026-10-05…2026-10-05", "2026-10-02…2026-10-02",
            ])
        #expect(
            ReconciliationJob.xeroFiles(entries, linesPerFile: 300).map(\.name) == [
                "ledger/xero-SAR.csv", "ledger/xero-USD.csv",
            ])
    }
}
