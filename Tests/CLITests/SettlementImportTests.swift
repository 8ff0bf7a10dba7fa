import Foundation
import Postgres
import TestSupport
import Testing

/// `samia-batch settlement import` on hand-written provider files: exact minor units, idempotent
/// re-imports, and bad files refused with file, line and column and nothing written.
@Suite("Settlement import", .serialized)
struct SettlementImportTests {
    let config: ConnectionConfiguration
    let dir = NSTemporaryDirectory() + "samia-settlement-\(UUID().uuidString)"

    init() throws {
        config = try TestCluster.shared().freshDatabase()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    func file(_ name: String, _ text: String, bom: Bool = false) throws -> String {
        let path = dir + "/" + name
        try Data((bom ? [0xEF, 0xBB, 0xBF] : []) + Array(text.utf8)).write(to: URL(fileURLWithPath: path))
        return path
    }

    func psql(_ sql: String) throws -> String { try SQL.psql(config.conninfo, sql) }

    func importing(_ paths: [String], _ extra: [String] = []) throws -> Shell.Result {
        try CLI.run(["settlement", "import"] + paths + extra, database: config)
    }

    /// Columns in an order of their own, an extra metadata column, a quoted description with a
    /// comma, three currencies with 2, 3 and 0 decimals, a refund and a presentment amount.
    static let balanceChange = """
        reporting_category,balance_transaction_id,created_utc,available_on_utc,currency,gross,fee,net,source_id,description,customer_facing_amount,customer_facing_currency,charge_id,payment_intent_id,payment_metadata[order_id]
        charge,txn_001,2026-11-20 10:00:00,2026-11-22 00:00:00,usd,115.00,3.64,111.36,ch_001,"Tarot reading, gold",430.00,sar,ch_001,pi_001,42
        charge,txn_002,2026-11-20 11:00:00,2026-11-22 00:00:00,kwd,3.750,0.110,3.640,ch_002,Coffee cup,3.750,kwd,ch_002,pi_002,43
        charge,txn_003,2026-11-20 12:00:00,2026-11-22 00:00:00,jpy,1000,36,964,ch_003,Astro,1000,jpy,ch_003,pi_003,44
        refund,txn_004,2026-11-21 09:00:00,2026-11-21 09:00:00,kwd,-1.250,0.000,-1.250,re_004,Partial refund,,,ch_002,pi_002,43

        """

    @Test func aStripeReportIsImportedExactlyAndOnlyOnce() throws {
        let path = try file("balance_change_from_activity.itemized.1.csv", Self.balanceChange, bom: true)
        let r = try importing([path])
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("stripe.balance_change_from_activity.itemized, 4 row(s), 4 imported"), "\(r.stdout)")
        #expect(
            try psql(
                "SELECT line_no, line_key, category, currency, gross_minor, fee_minor, net_minor, coalesce(presentment_currency, '-'), coalesce(presentment_minor::text, '-'), payment_intent_id, raw->>'payment_metadata[order_id]' FROM settlement_lines ORDER BY line_no"
            )
                == """
                2|txn_001|charge|USD|11500|364|11136|SAR|43000|pi_001|42
                3|txn_002|charge|KWD|3750|110|3640|KWD|3750|pi_002|43
                4|txn_003|charge|JPY|1000|36|964|JPY|1000|pi_003|44
                5|txn_004|refund|KWD|-1250|0|-1250|-|-|pi_002|43
                """)
        #expect(
            try psql("SELECT description FROM settlement_lines WHERE line_key = 'txn_001'") == "Tarot reading, gold")

        // The same bytes again: a no-op.
        let again = try importing([path])
        #expect(again.status == 0 && again.stdout.contains("already imported"), "\(again.stdout)")
        // A later report repeating one line: only the new line is added.
        let overlap = try file(
            "balance_change_from_activity.itemized.2.csv",
            Self.balanceChange.split(separator: "\n").prefix(2).joined(separator: "\n")
                + "\nfee,txn_005,2026-11-21 00:00:00,,usd,-2.00,0.00,-2.00,,Radar fees,,,,,\n")
        let second = try importing([overlap], ["--provider", "stripe"])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("2 row(s), 1 imported, 1 already known"), "\(second.stdout)")
        #expect(try psql("SELECT count(*), count(DISTINCT file_id) FROM settlement_lines") == "5|2")
        #expect(try psql("SELECT count(*) FROM settlement_files") == "2")
    }

    @Test func payoutReconciliationAndCheckoutLayoutsAreRecognised() throws {
        let payout = try file(
            "payout_reconciliation.itemized.csv",
            """
            automatic_payout_id,automatic_payout_effective_at,balance_transaction_id,created_utc,available_on_utc,currency,gross,fee,net,reporting_category,source_id,description,customer_facing_amount,customer_facing_currency,charge_id,payment_intent_id
            po_1,2026-11-22 00:00:00,txn_101,2026-11-20 10:00:00,2026-11-22 00:00:00,sar,115.00,3.00,112.00,charge,ch_101,x,115.00,sar,ch_101,pi_101

            """)
        let checkout = try file(
            "financial-actions.csv",
            """
            Payout ID,Payment ID,Action ID,Action Type,Processed On,Breakdown Type,Processing Currency,Processing Currency Amount,Holding Currency,Holding Currency Amount
            pyt_1,pay_1,act_1,Capture,2026-11-20 10:00:00,Gross,AED,100.00,USD,27.23
            pyt_1,pay_1,act_1,Capture,2026-11-20 10:00:00,Scheme Fee,AED,-0.50,USD,-0.14

            """)
        let r = try importing([payout, checkout])
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        #expect(
            try psql(
                "SELECT f.report_type, l.line_key, l.currency, l.gross_minor, l.fee_minor, l.net_minor, coalesce(l.payout_id, '-'), coalesce(l.presentment_minor::text, '-') FROM settlement_lines l JOIN settlement_files f ON f.id = l.file_id ORDER BY l.id"
            )
                == """
                stripe.payout_reconciliation.itemized|txn_101|SAR|11500|300|11200|po_1|11500
                checkout.financial_actions_by_payout_id|act_1:Gross|USD|2723|0|2723|pyt_1|10000
                checkout.financial_actions_by_payout_id|act_1:Scheme Fee|USD|0|-14|-14|pyt_1|-50
                """)
    }

    @Test func badFilesAreRefusedWithFileLineAndColumnAndNothingIsWritten() throws {
        let lines = Self.balanceChange.split(separator: "\n").map(String.init)
        func variant(_ name: String, row: Int, _ change: (String) -> String) throws -> String {
            var copy = lines
            copy[row] = change(copy[row])
            return try file(name, copy.joined(separator: "\n") + "\n")
        }
        let cases: [(String, String, [String])] = [
            (
                try file(
                    "no-net.csv",
                    lines.map { $0.replacingOccurrences(of: ",net,", with: ",nett,") }.joined(separator: "\n")),
                "no-net.csv:1", ["missing column \"net\""]
            ),
            (
                try variant("fee-text.csv", row: 2) { $0.replacingOccurrences(of: ",0.110,", with: ",n/a,") },
                "fee-text.csv:3", ["(fee)", "not a number"]
            ),
            (
                try variant("currency.csv", row: 3) {
                    $0.replacingOccurrences(of: ",jpy,1000,36", with: ",xyz,1000,36")
                }, "currency.csv:4", ["(currency)", "xyz"]
            ),
            (
                try variant("decimals.csv", row: 1) { $0.replacingOccurrences(of: ",115.00,", with: ",115.005,") },
                "decimals.csv:2", ["(gross)", "do not fit"]
            ),
            (
                try variant("category.csv", row: 4) {
                    $0.replacingOccurrences(of: "refund,txn_004", with: "refunded,txn_004")
                }, "category.csv:5", ["(reporting_category)"]
            ),
            (try variant("short-row.csv", row: 2) { String($0.prefix(40)) }, "short-row.csv:3", ["missing data"]),
            (try file("empty.csv", ""), "empty.csv", ["empty"]),
            (try file("header-only.csv", lines[0] + "\n"), "header-only.csv", ["no rows"]),
        ]
        for (path, location, words) in cases {
            let r = try importing([path])
            #expect(r.status == 65, "\(path): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains(location), "\(path): \(r.stderr)")
            for word in words { #expect(r.stderr.contains(word), "\(path): \(r.stderr)") }
        }
        // A Checkout.com file named as Stripe's is another report.
        let checkout = try file(
            "checkout.csv",
            "Payout ID,Payment ID,Action ID,Action Type,Processed On,Breakdown Type,Processing Currency,Processing Currency Amount,Holding Currency,Holding Currency Amount\npyt,pay,act,Capture,2026-11-20,Gross,USD,1.00,USD,1.00\n"
        )
        let wrong = try importing([checkout], ["--provider", "stripe"])
        #expect(wrong.status == 65 && wrong.stderr.contains("not a report the importer knows"), "\(wrong.stderr)")
        #expect(
            try psql("SELECT (SELECT count(*) FROM settlement_files) + (SELECT count(*) FROM settlement_lines)") == "0")
    }
}

extension SettlementImportTests {
    /// `--dry-run` runs every check and keeps nothing (issue 35: it imported).
    @Test func aDryRunChecksEverythingAndKeepsNothing() throws {
        let path = try file("balance_change_from_activity.itemized.dry.csv", Self.balanceChange)
        let r = try importing([path], ["--dry-run"])
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("4 row(s), 4 would be imported") && r.stdout.contains("nothing was imported"))
        #expect(
            try psql("SELECT (SELECT count(*) FROM settlement_files) + (SELECT count(*) FROM settlement_lines)") == "0")
        #expect(try psql("SELECT status, dry_run FROM batch_runs WHERE job = 'settlement-import'") == "succeeded|t")
        // A bad file fails the dry run as it would fail the import.
        let bad = try file(
            "bad.csv", Self.balanceChange.replacingOccurrences(of: ",0.110,", with: ",n/a,"))
        #expect(try importing([bad], ["--dry-run"]).status == 65)
        // The real import afterwards is not "already imported".
        let real = try importing([path])
        #expect(real.status == 0 && real.stdout.contains("4 imported"), "\(real.stdout)")
    }

    /// The same balance transaction twice in one file is refused naming both lines and their
    /// figures, not with PostgreSQL's duplicate-key text (issue 35).
    @Test func aLineRepeatedInAFileIsRefusedNamingBothLines() throws {
        let repeated = Self.balanceChange.replacingOccurrences(of: "refund,txn_004,", with: "refund,txn_002,")
        let path = try file("repeated.csv", repeated)
        let r = try importing([path])
        #expect(r.status == 65, "\(r.stderr)")
        #expect(r.stderr.contains("repeated.csv:5 (balance_transaction_id)"), "\(r.stderr)")
        #expect(r.stderr.contains("repeats txn_002 of line 3"), "\(r.stderr)")
        #expect(r.stderr.contains("KWD gross 3.750") && r.stderr.contains("KWD gross -1.250"), "\(r.stderr)")
        #expect(!r.stderr.contains("duplicate key") && !r.stderr.contains("cannot affect row"), "\(r.stderr)")
        #expect(try psql("SELECT count(*) FROM settlement_lines") == "0")
    }

    /// A line delivered again with other figures is refused with the earlier file and line and
    /// both amounts; it was skipped as "already known" (issue 35). The same figures again are
    /// still only counted.
    @Test func aReDeliveredLineWithOtherFiguresIsRefused() throws {
        #expect(try importing([try file("first.csv", Self.balanceChange)]).status == 0)
        let changed = try file(
            "second.csv", Self.balanceChange.replacingOccurrences(of: "115.00,3.64,111.36", with: "116.00,3.64,112.36"))
        let r = try importing([changed])
        #expect(r.status == 65, "\(r.stderr)")
        #expect(r.stderr.contains("second.csv:2 (balance_transaction_id)"), "\(r.stderr)")
        #expect(r.stderr.contains("was imported from first.csv line 2"), "\(r.stderr)")
        #expect(r.stderr.contains("USD gross 115.00") && r.stderr.contains("USD gross 116.00"), "\(r.stderr)")
        #expect(try psql("SELECT count(*), sum(gross_minor) FROM settlement_lines") == "4|15000")
        #expect(try psql("SELECT count(*) FROM settlement_files") == "1")
    }

    /// Stripe's rarer reporting categories are imported, not refused (issue 35); a value that is
    /// no category at all still is.
    @Test func everyStripeReportingCategoryIsImported() throws {
        let header = Self.balanceChange.split(separator: "\n")[0]
        let categories = [
            "transfer", "transfer_reversal", "topup", "topup_reversal", "risk_reserved_funds", "connect_reserved_funds",
            "payout_minimum_balance_hold", "payout_minimum_balance_release", "charge_failure", "advance",
            "platform_earning", "tax", "other_adjustment", "network_cost", "partial_capture_reversal",
        ]
        let rows = categories.enumerated().map { i, category in
            "\(category),txn_c\(i),2026-11-20 10:00:00,,usd,-1.00,0.00,-1.00,src_\(i),,,,,,"
        }
        let r = try importing([try file("rare.csv", ([String(header)] + rows).joined(separator: "\n") + "\n")])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try psql("SELECT count(DISTINCT category) FROM settlement_lines") == String(categories.count))
        let typo = try importing([
            try file("typo.csv", "\(header)\ntrasnfer,txn_t,2026-11-20 10:00:00,,usd,-1.00,0.00,-1.00,,,,,,,\n")
        ])
        #expect(typo.status == 65 && typo.stderr.contains("trasnfer"), "\(typo.stderr)")
    }
}
