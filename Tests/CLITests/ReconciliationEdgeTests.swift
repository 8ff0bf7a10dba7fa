import Foundation
import Postgres
import TestSupport
import Testing

/// Issue 35's defects at the edges of a close, each on the October fixture: a dry run that
/// wrote, a failed refund listed twice, payouts summed across currencies, lines matching does
/// not use that vanished, VAT by issue date, and a provisional close that looked final.
extension ReconciliationTests {
    @Test func aDryRunImportsWritesAndStoresNothing() throws {
        let zip = dir + "/dry.zip"
        let r = try reconcile(["--settlement"] + (try settlementFiles()) + ["--out", zip, "--dry-run"])
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("dry run: reconciliation 2026-10 would be stored as v1: 19 break(s)"), "\(r.stdout)")
        #expect(r.stdout.contains("12 matched, 2 in transit") && r.stdout.contains("Nothing was imported"))
        #expect(!FileManager.default.fileExists(atPath: zip))
        #expect(
            try psql(
                """
                SELECT (SELECT count(*) FROM settlement_files), (SELECT count(*) FROM settlement_lines),
                       (SELECT count(*) FROM batch_artifacts), (SELECT count(*) FROM audit_log WHERE event = 'reconciliation_ready')
                """) == "0|0|0|0")
        let stored = (try? FileManager.default.subpathsOfDirectory(atPath: dir + "/storage")) ?? []
        #expect(stored.filter { !$0.hasPrefix(".") && $0.hasSuffix(".zip") }.isEmpty, "\(stored)")
        #expect(try psql("SELECT dry_run FROM batch_runs WHERE job = 'reconcile'") == "t")
        // The real close afterwards is version 1, with the same figures.
        let real = try reconcile(["--settlement"] + (try settlementFiles()))
        #expect(real.stdout.contains("reconciliation 2026-10 v1: 19 break(s), 12 matched"), "\(real.stdout)")
    }

    /// A refund the ledger has as failed but the provider settled is a missing_in_ledger break
    /// only; it was also listed as matched.
    @Test func aFailedRefundTheProviderSettledIsOnlyABreak() throws {
        let header = Self.stripe.split(separator: "\n")[0]
        let settled = try file(
            "failed-refund.csv",
            "\(header)\ntxn_rf,2026-10-16 10:00:00,2026-10-16,sar,-10.00,0.00,-10.00,refund,re_failed,,-10.00,sar,ch_p8a,pi_dup\n"
        )
        let zip = dir + "/failed-refund.zip"
        let r = try reconcile(["--settlement"] + (try settlementFiles()) + [settled, "--out", zip])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try csv(zip, "matched.csv").allSatisfy { $0["refund"] != "re_failed" })
        let missing = try csv(zip, "breaks/missing_in_ledger.csv").filter { $0["refund"] == "re_failed" }
        #expect(missing.map { $0["detail", default: "?"] } == ["refund the ledger has as failed"])
        for type in ["amount_mismatch", "currency_mismatch", "duplicate"] {
            #expect(try csv(zip, "breaks/\(type).csv").allSatisfy { $0["refund"] != "re_failed" }, "\(type)")
        }
    }

    /// A payout whose lines are in two currencies: each currency on its own row, never one sum,
    /// and a payout_mismatch break whatever the numbers.
    @Test func payoutsNeverAddAmountsOfDifferentCurrencies() throws {
        let balance = Self.stripe.split(separator: "\n")[0]
        let payoutHeader = Self.payouts.split(separator: "\n")[0]
        let lines = try file(
            "mixed-balance.csv",
            """
            \(balance)
            txn_m1,2026-10-20 10:00:00,2026-10-22,usd,10.00,0.00,10.00,charge,ch_m1,,10.00,usd,ch_m1,pi_m1
            txn_m2,2026-10-20 11:00:00,2026-10-22,sar,20.00,0.00,20.00,charge,ch_m2,,20.00,sar,ch_m2,pi_m2
            txn_pom,2026-10-23 00:00:00,2026-10-23,sar,-20.00,0.00,-20.00,payout,po_mix,STRIPE PAYOUT,,,,

            """)
        let payout = try file(
            "mixed-payout.csv",
            """
            \(payoutHeader)
            po_mix,2026-10-23,txn_m1,2026-10-20 10:00:00,2026-10-22,usd,10.00,0.00,10.00,charge,ch_m1,,10.00,usd,ch_m1,pi_m1
            po_mix,2026-10-23,txn_m2,2026-10-20 11:00:00,2026-10-22,sar,20.00,0.00,20.00,charge,ch_m2,,20.00,sar,ch_m2,pi_m2

            """)
        // Checkout.com reports no payout amounts: one payout of lines in two currencies is a row
        // per currency, neither a break.
        let checkoutHeader = Self.checkout.split(separator: "\n")[0]
        let checkout = try file(
            "mixed-checkout.csv",
            """
            \(checkoutHeader)
            pyt_multi,pay_m3,act_m3,Capture,2026-10-21 10:00:05,Gross,USD,5.00,USD,5.00
            pyt_multi,pay_m4,act_m4,Capture,2026-10-21 11:00:05,Gross,EUR,6.00,EUR,6.00

            """)
        let zip = dir + "/mixed.zip"
        #expect(try reconcile(["--settlement", lines, payout, checkout, "--out", zip]).status == 0)
        let multi = try csv(zip, "payouts.csv").filter { $0["payout_id"] == "pyt_multi" }.map {
            $0["status", default: "?"]
        }
        #expect(multi == ["no payout amount in the reports", "no payout amount in the reports"], "\(multi)")
        #expect(try csv(zip, "breaks/payout_mismatch.csv").allSatisfy { $0["payout_id"] != "pyt_multi" })
        let rows = try csv(zip, "payouts.csv").filter { $0["payout_id"] == "po_mix" }.map { row in
            ["currency", "lines_net", "payout_amount", "difference", "status"].map { row[$0, default: "?"] }
                .joined(separator: "|")
        }
        #expect(
            rows.sorted() == [
                "SAR|20.00|20.00|0.00|does not tie: lines in more than one currency",
                "USD|10.00|||lines in USD, the payout is in another currency",
            ], "\(rows)")
        #expect(try csv(zip, "breaks/payout_mismatch.csv").filter { $0["payout_id"] == "po_mix" }.count == 2)
    }

    /// Lines matching does not use (fees, transfers, reserves, tax) are in other.csv with their
    /// totals per provider, currency and category; before, they vanished from the ZIP.
    @Test func linesMatchingDoesNotUseAreListedWithTheirTotals() throws {
        let header = Self.stripe.split(separator: "\n")[0]
        let rare = try file(
            "rare.csv",
            """
            \(header)
            txn_f1,2026-10-03 00:00:00,,usd,-2.00,0.00,-2.00,fee,,Radar fees,,,,
            txn_f2,2026-10-04 00:00:00,,usd,-3.50,0.00,-3.50,fee,,Radar fees,,,,
            txn_t1,2026-10-05 00:00:00,,sar,-100.00,0.00,-100.00,transfer,tr_1,,,,,
            txn_rr,2026-10-06 00:00:00,,sar,-7.25,0.00,-7.25,risk_reserved_funds,,,,,,
            txn_tx,2026-10-07 00:00:00,,usd,-0.40,0.00,-0.40,tax,,,,,,

            """)
        let zip = dir + "/other.zip"
        let r = try reconcile(["--settlement"] + (try settlementFiles()) + [rare, "--out", zip])
        #expect(r.status == 0, "\(r.stderr)")
        let other = try csv(zip, "other.csv").map { row in
            ["provider", "currency", "category", "lines", "net"].map { row[$0, default: "?"] }.joined(separator: "|")
        }
        #expect(
            other == [
                "stripe|SAR|risk_reserved_funds|1|-7.25", "stripe|SAR|transfer|1|-100.00", "stripe|USD|fee|2|-5.50",
                "stripe|USD|tax|1|-0.40",
            ], "\(other)")
    }

    /// VAT goes by tax point (the date of supply, the payment, for prepaid services): an invoice
    /// issued on 1 November for an October payment is October's VAT, one issued on 1 October for
    /// a September payment is not. The issue date decided before.
    @Test func vatFiguresGoByTaxPointNotIssueDate() throws {
        _ = try psql(
            """
            UPDATE invoices SET created_at = '2026-11-01 08:00Z' WHERE number = 'SAMIA-2026-000001';
            UPDATE invoices SET created_at = '2026-10-01 06:00Z' WHERE number = 'SAMIA-2026-000009';
            """)
        let zip = dir + "/taxpoint.zip"
        #expect(try reconcile(["--settlement"] + (try settlementFiles()) + ["--out", zip]).status == 0)
        let sa = try csv(zip, "vat_summary.csv").first { $0["country"] == "SA" && $0["vat_rate_percent"] == "15" }
        #expect(
            ["invoices", "credit_notes", "taxable_base", "vat", "gross"].map { sa?[$0] ?? "?" }
                == ["5", "1", "215.65", "32.35", "248.01"], "\(String(describing: sa))")
    }

    /// A provisional close says so on every file: the ZIP's name, each CSV's first column, the
    /// summary and the PDF; before, only the manifest did.
    @Test func aProvisionalCloseIsMarkedOnEveryFile() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let now = Date()
        let current = String(
            format: "%04d-%02d", calendar.component(.year, from: now), calendar.component(.month, from: now))
        let r = try CLI.run(["reconcile", "--month", current, "--provisional"], database: config, env: env)
        #expect(r.status == 0, "\(r.stderr)")
        let name = try psql("SELECT file_name FROM batch_artifacts")
        #expect(name == "reconciliation-\(current)-v1-provisional.zip")
        let zip = dir + "/storage/" + (try psql("SELECT storage_key FROM batch_artifacts"))
        for entry in ["matched.csv", "payouts.csv", "other.csv", "vat_summary.csv", "breaks/duplicate.csv"] {
            let header = String(decoding: try self.entry(zip, entry).dropFirst(3), as: UTF8.self)
            #expect(header.hasPrefix("provisional,"), "\(entry): \(header.prefix(40))")
        }
        let md = String(decoding: try entry(zip, "summary.md"), as: UTF8.self)
        #expect(md.contains("PROVISIONAL: the month had not ended"), "\(md.prefix(300))")
        let pdf = dir + "/provisional.pdf"
        try Data(try entry(zip, "summary.pdf")).write(to: URL(fileURLWithPath: pdf))
        let text = try PDFText.extract(pdf)
        #expect(text.contains("PROVISIONAL") && text.contains("مؤقت"), "\(text.prefix(400))")
    }
}
