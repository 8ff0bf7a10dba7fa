import Foundation
import TestSupport
import Testing

/// The ledger export (issue 35, point 3): the month's journal in the generic double-entry layout
/// and Xero's manual-journal layout, read back out of the ZIP and added up here.
extension ReconciliationTests {
    /// Minor units of a decimal amount ("-3.750" → -3750 with 3 decimals); nil for empty.
    static func minor(_ text: String?, decimals: Int) -> Int64? {
        guard let text, !text.isEmpty, let value = Decimal(string: text) else { return nil }
        var scaled = value * pow(10, decimals)
        var rounded = Decimal()
        NSDecimalRound(&rounded, &scaled, 0, .plain)
        return NSDecimalNumber(decimal: rounded).int64Value
    }

    /// ISO 4217 currencies without two decimals, among those the service sees.
    static let decimals = ["BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3, "JPY": 0, "KRW": 0]

    /// Debit − credit of each entry of the generic journal, and each row as "account description amount".
    func journal(_ zip: String) throws -> (balance: [String: Int64], lines: [String: [String]]) {
        var balance: [String: Int64] = [:]
        var lines: [String: [String]] = [:]
        for row in try csv(zip, "ledger/journal.csv") {
            let entry = row["entry_id", default: "?"]
            let places = Self.decimals[row["currency", default: ""]] ?? 2
            let debit = Self.minor(row["debit"], decimals: places)
            let credit = Self.minor(row["credit"], decimals: places)
            #expect((debit == nil) != (credit == nil), "a line is a debit or a credit: \(row)")
            balance[entry, default: 0] += (debit ?? 0) - (credit ?? 0)
            let amount = debit != nil ? "Dr \(row["debit"]!)" : "Cr \(row["credit"]!)"
            lines[entry, default: []].append(
                "\(row["account_code"]!) \(row["description"]!) \(amount)")
        }
        return (balance, lines)
    }

    @Test func theJournalBooksTheMonthInBalancedEntries() throws {
        let zip = dir + "/journal.zip"
        let r = try reconcile(["--settlement"] + (try settlementFiles()) + ["--out", zip])
        #expect(r.status == 0, "\(r.stderr)")
        let (balance, lines) = try journal(zip)
        #expect(balance.count == 23, "\(balance.keys.sorted())")
        #expect(
            balance.filter { $0.value != 0 }.isEmpty, "entries that do not balance: \(balance.filter { $0.value != 0 })"
        )
        // A sale at 5 % with Stripe's fee: the provider owes the gross less its fee.
        #expect(
            lines["2026-10-09/USD"] == [
                "1100 sales via stripe Dr 100.00", "1100 stripe fees Cr 3.50", "2200 output VAT at 5% Cr 4.76",
                "4000 sales at 5% Cr 95.24", "6100 stripe fees Dr 3.50",
            ])
        // A credit note of 10.00 at 15 %, and a payout to the bank, on the same day.
        #expect(
            lines["2026-10-16/SAR"] == [
                "1100 refunds via stripe Cr 10.00", "1100 stripe payout Cr 135.00", "1200 stripe payout Dr 135.00",
                "2200 output VAT at 15% on refunds Dr 1.30", "4010 refunds at 15% Dr 8.70",
            ])
        // A dispute: the withdrawn amount and its fee; Checkout.com's fee row (a negative amount).
        #expect(
            lines["2026-10-20/USD"] == [
                "1100 stripe dispute Cr 50.00", "1100 stripe fees Cr 15.00", "6100 stripe fees Dr 15.00",
                "6200 stripe dispute Dr 50.00",
            ])
        #expect(lines["2026-10-19/USD"]?.contains("6100 checkout fees Dr 0.83") == true)
        #expect(lines["2026-10-22/KWD"] == ["1100 stripe dispute Cr 3.750", "6200 stripe dispute Dr 3.750"])
        try expectJournalAgreesWithTheVATSummary(zip)
        try expectXeroFilesHoldTheJournal(
            zip, lines: lines,
            names: ["BHD", "EUR", "KWD", "SAR", "USD"].map { "ledger/xero-\($0).csv" })
    }

    /// Sales booked = the VAT summary's invoices, VAT booked = its VAT, per currency.
    func expectJournalAgreesWithTheVATSummary(_ zip: String) throws {
        var summary: [String: Int64] = [:]
        for row in try csv(zip, "vat_summary.csv") {
            let currency = row["currency", default: "?"]
            let places = Self.decimals[currency] ?? 2
            summary[currency + " vat", default: 0] += Self.minor(row["vat"], decimals: places) ?? 0
            summary[currency + " gross", default: 0] += Self.minor(row["gross"], decimals: places) ?? 0
        }
        var booked: [String: Int64] = [:]
        for row in try csv(zip, "ledger/journal.csv") {
            let currency = row["currency", default: "?"]
            let places = Self.decimals[currency] ?? 2
            let amount =
                (Self.minor(row["debit"], decimals: places) ?? 0) - (Self.minor(row["credit"], decimals: places) ?? 0)
            let description = row["description", default: ""]
            if row["account_code"] == "2200" { booked[currency + " vat", default: 0] -= amount }
            if description.hasPrefix("sales via") || description.hasPrefix("refunds via") {
                booked[currency + " gross", default: 0] += amount
            }
        }
        #expect(booked == summary.filter { $0.value != 0 })
    }

    /// Every journal line is in exactly one Xero file, with Xero's header, dd/mm/yyyy dates and
    /// signed amounts that sum to zero per journal; no byte-order mark before `*Narration`.
    func expectXeroFilesHoldTheJournal(_ zip: String, lines: [String: [String]], names expected: [String]?) throws {
        let names = try Shell.run("/usr/bin/bsdtar", ["-tf", zip]).stdout.split(separator: "\n").map(String.init)
            .filter { $0.hasPrefix("ledger/xero-") }
        if let expected { #expect(names == expected) }
        var count = 0
        for name in names {
            let text = String(decoding: try entry(zip, name), as: UTF8.self)
            #expect(text.hasPrefix("*Narration"), "\(name) starts with a byte-order mark or another header")
            let rows = CSVText.parse(text)
            #expect(
                rows.first
                    == [
                        "*Narration", "*Date", "Description", "*AccountCode", "*TaxRate", "*Amount", "TrackingName1",
                        "TrackingOption1", "TrackingName2", "TrackingOption2",
                    ], "\(name)")
            var sums: [String: Int64] = [:]
            for row in rows.dropFirst() {
                let currency = String(name.dropFirst("ledger/xero-".count).prefix(3))
                #expect(row[1].range(of: #"^\d\d/\d\d/2026$"#, options: .regularExpression) != nil, "\(row)")
                #expect(row[4] == "No VAT")
                sums[row[0] + row[1], default: 0] += Self.minor(row[5], decimals: Self.decimals[currency] ?? 2) ?? 0
                count += 1
            }
            #expect(sums.values.allSatisfy { $0 == 0 }, "\(name): \(sums)")
        }
        #expect(count == lines.values.reduce(0) { $0 + $1.count })
    }

    /// The VAT a provider puts in its fees is booked apart, as the policy says.
    @Test func feeVATIsBookedOnItsOwnAccount() throws {
        let policy = try file(
            "policy.yaml",
            """
            ledger:
              accounts: { fees: "6110", vat_on_fees: "1310" }
              fee_vat_percent: { stripe: "15" }
            """)
        let zip = dir + "/fee-vat.zip"
        let r = try reconcile(
            ["--settlement"] + (try settlementFiles()) + ["--out", zip], env: ["SAMIA_RECONCILIATION_POLICY": policy])
        #expect(r.status == 0, "\(r.stderr)")
        let (balance, lines) = try journal(zip)
        #expect(balance.filter { $0.value != 0 }.isEmpty)
        // 3.50 contains 15 % VAT: 3.50 × 15 / 115 = 0.4565… → 0.46, the fee itself 3.04.
        #expect(
            lines["2026-10-09/USD"]?.contains("6110 stripe fees Dr 3.04") == true, "\(lines["2026-10-09/USD"] ?? [])")
        #expect(lines["2026-10-09/USD"]?.contains("1310 VAT in stripe fees Dr 0.46") == true)
        // Checkout.com has no VAT in the policy: its fee stays whole.
        #expect(lines["2026-10-19/USD"]?.contains("6110 checkout fees Dr 0.83") == true)
        let typo = try file("typo.yaml", "ledger:\n  fee_vat_percnt: { stripe: \"15\" }\n")
        let refused = try reconcile(["--out", dir + "/typo.zip"], env: ["SAMIA_RECONCILIATION_POLICY": typo])
        #expect(refused.status == 65 && refused.stderr.contains("ledger.fee_vat_percnt (line 2)"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/typo.zip"))
    }
}

extension ReconciliationTests {
    /// Issue 35, point 3: a document with lines at two VAT rates was booked as one "mixed rates"
    /// revenue and VAT line (and a credit note under its first line's rate alone), so the
    /// journal could not be posted to the rate accounts nor tied to the VAT return. Each rate is
    /// its own line now: an invoice's from its lines (BR-CO-17), a credit note's as issued
    /// (`meta.vat_by_rate`); the day still balances and agrees with the VAT summary.
    @Test func aDocumentAtTwoRatesIsBookedRateByRate() throws {
        _ = try psql(
            """
            UPDATE public.invoices
               SET subtotal_cents = 9714, vat_cents = 286,
                   meta = jsonb_set(meta, '{document,lines}', '[{"quantity": 1, "vat_rate": "5", "unit_price": "60.00"},
                                                                {"quantity": 2, "vat_rate": "0", "unit_price": "20.00"}]')
             WHERE currency = 'USD' AND total_cents = 10000 AND created_at::date = '2026-10-09';
            UPDATE public.credit_notes
               SET vat_cents = 78,
                   meta = '{"document": {"prices_include_vat": true, "lines": [
                              {"quantity": 1, "vat_rate": "15", "unit_price": "6.00"},
                              {"quantity": 1, "vat_rate": "0", "unit_price": "4.00"}]},
                            "vat_by_rate": [{"rate": "0", "net_minor": 400, "vat_minor": 0},
                                            {"rate": "15", "net_minor": 522, "vat_minor": 78}]}'
             WHERE number = 'SAMIA-CN-2026-000002';
            """)
        #expect(try psql("SELECT count(*) FROM public.invoices WHERE subtotal_cents = 9714") == "1")
        let zip = dir + "/two-rates.zip"
        let r = try reconcile(["--settlement"] + (try settlementFiles()) + ["--out", zip])
        #expect(r.status == 0, "\(r.stderr)")
        let (balance, lines) = try journal(zip)
        #expect(balance.filter { $0.value != 0 }.isEmpty, "\(balance.filter { $0.value != 0 })")
        #expect(
            lines["2026-10-09/USD"] == [
                "1100 sales via stripe Dr 100.00", "1100 stripe fees Cr 3.50", "2200 output VAT at 5% Cr 2.86",
                "4000 sales at 0% Cr 40.00", "4000 sales at 5% Cr 57.14", "6100 stripe fees Dr 3.50",
            ], "\(lines["2026-10-09/USD"] ?? [])")
        #expect(
            lines["2026-10-16/SAR"] == [
                "1100 refunds via stripe Cr 10.00", "1100 stripe payout Cr 135.00", "1200 stripe payout Dr 135.00",
                "2200 output VAT at 15% on refunds Dr 0.78", "4010 refunds at 0% Dr 4.00",
                "4010 refunds at 15% Dr 5.22",
            ], "\(lines["2026-10-16/SAR"] ?? [])")
        try expectJournalAgreesWithTheVATSummary(zip)
    }
}
