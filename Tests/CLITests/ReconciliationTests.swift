import Foundation
import Postgres
import TestSupport
import Testing

/// `samia-batch reconcile` on a hand-built October 2026 (Fixtures/reconciliation.sql) and
/// settlement files written here: every break type lands in its own CSV with the exact rows
/// worked out in the fixture's comments, read back out of the ZIP with bsdtar; the manifest
/// verifies and any altered byte is refused; a re-run keeps the old version.
@Suite("Reconciliation", .serialized)
struct ReconciliationTests {
    let config: ConnectionConfiguration
    let dir = NSTemporaryDirectory() + "samia-reconcile-\(UUID().uuidString)"
    var env: [String: String] = [:]

    init() throws { try self.init(fixture: true) }

    /// A fresh database with October's fixture, or empty (for the demo month's data).
    init(fixture: Bool) throws {
        config = try TestCluster.shared().freshDatabase()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        if fixture {
            let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
                "Fixtures/reconciliation.sql"
            ).path
            let r = try Shell.run(
                "/usr/bin/psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", config.conninfo, "-f", path])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let key = try CLI.run(["keygen", "--out", dir + "/signing.key"])
        #expect(key.status == 0, "\(key.stderr)")
        env = [
            "SAMIA_SIGNING_KEY_FILE": dir + "/signing.key", "SAMIA_STORAGE_DIR": dir + "/storage",
            "SAMIA_SIGNING_PUBLIC_KEY_FILE": dir + "/signing.key.pub",
        ]
    }

    func psql(_ sql: String) throws -> String { try SQL.psql(config.conninfo, sql) }

    func file(_ name: String, _ text: String) throws -> String {
        let path = dir + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func reconcile(_ extra: [String], env more: [String: String] = [:]) throws -> Shell.Result {
        try CLI.run(["reconcile", "--month", "2026-10"] + extra, database: config, env: env.merging(more) { $1 })
    }

    /// October's Stripe activity: amounts in major units, as the itemized report writes them.
    static let stripe = """
        balance_transaction_id,created_utc,available_on_utc,currency,gross,fee,net,reporting_category,source_id,description,customer_facing_amount,customer_facing_currency,charge_id,payment_intent_id
        txn_p11,2026-09-30 22:00:05,2026-10-02,sar,60.00,0.00,60.00,charge,ch_p11,,60.00,sar,ch_p11,pi_sepedge
        txn_fa,2026-10-05 09:58:30,2026-10-07,sar,115.00,0.00,115.00,charge,ch_fa,,115.00,sar,ch_fa,pi_failed_attempt
        txn_p1,2026-10-05 10:00:05,2026-10-07,sar,115.00,0.00,115.00,charge,ch_p1,,115.00,sar,ch_p1,pi_ok_sar
        txn_p2,2026-10-06 10:00:05,2026-10-08,kwd,3.750,0.000,3.750,charge,ch_p2,,3.750,kwd,ch_p2,pi_kwd
        txn_p3,2026-10-07 10:00:05,2026-10-09,bhd,10.990,0.000,10.990,charge,ch_p3,,10.990,bhd,ch_p3,pi_bhd
        txn_p5,2026-10-09 10:00:05,2026-10-11,usd,100.00,3.50,96.50,charge,ch_p5,,100.00,usd,ch_p5,pi_fee
        txn_r1,2026-10-10 09:00:05,2026-10-10,kwd,-1.250,0.000,-1.250,refund,re_kwd,,-1.250,kwd,ch_p2,pi_kwd
        txn_p6,2026-10-10 10:00:05,2026-10-12,usd,50.00,1.75,48.25,charge,ch_p6,,50.00,usd,ch_p6,pi_usd_ok
        txn_p7,2026-10-11 10:00:05,2026-10-13,usd,32.00,1.23,30.77,charge,ch_p7,,32.00,usd,ch_p7,pi_cur
        txn_p8a,2026-10-12 10:00:05,2026-10-14,sar,50.00,0.00,50.00,charge,ch_p8a,,50.00,sar,ch_p8a,pi_dup
        txn_p8b,2026-10-12 10:00:09,2026-10-14,sar,50.00,0.00,50.00,charge,ch_p8b,,50.00,sar,ch_p8b,pi_dup
        txn_p9,2026-10-13 10:00:05,2026-10-15,sar,20.00,0.00,20.00,charge,ch_p9,,20.00,sar,ch_p9,pi_noinv
        txn_p14,2026-10-14 10:00:05,2026-10-16,usd,43.00,1.55,41.45,charge,ch_p14,,40.00,eur,ch_p14,pi_eur_fx
        txn_ml,2026-10-14 12:00:00,2026-10-16,sar,99.00,0.00,99.00,charge,ch_ml,,99.00,sar,ch_ml,pi_unknown
        txn_r2,2026-10-15 09:00:05,2026-10-15,sar,-10.00,0.00,-10.00,refund,re_nocn,,-10.00,sar,ch_p1,pi_ok_sar
        txn_po1,2026-10-16 00:00:00,2026-10-16,sar,-135.00,0.00,-135.00,payout,po_tie,STRIPE PAYOUT,,,,
        txn_po2,2026-10-17 00:00:00,2026-10-17,sar,-45.00,0.00,-45.00,payout,po_bad,STRIPE PAYOUT,,,,
        txn_d2a,2026-10-18 08:00:00,2026-10-18,usd,-43.00,0.00,-43.00,dispute,du_won,,-40.00,eur,ch_p14,pi_eur_fx
        txn_p16,2026-10-20 10:00:05,2026-10-22,sar,23.01,0.00,23.01,charge,ch_p16,,23.01,sar,ch_p16,pi_arith
        txn_d1,2026-10-20 08:00:00,2026-10-20,usd,-50.00,15.00,-65.00,dispute,du_open,,-50.00,usd,ch_p6,pi_usd_ok
        txn_p17,2026-10-21 10:00:05,2026-10-23,sar,11.50,0.00,11.50,charge,ch_p17,,11.50,sar,ch_p17,pi_rate
        txn_d3,2026-10-22 08:00:00,2026-10-22,kwd,-3.750,0.000,-3.750,dispute,du_lost,,-3.750,kwd,ch_p2,pi_kwd
        txn_d2b,2026-10-25 08:00:00,2026-10-25,usd,42.50,0.00,42.50,dispute_reversal,du_won,,40.00,eur,ch_p14,pi_eur_fx
        txn_p10,2026-11-01 00:10:00,2026-11-03,sar,30.00,0.00,30.00,charge,ch_p10,,30.00,sar,ch_p10,pi_transit

        """

    /// The payouts' lines: repeats of known balance transactions that only add their payout id.
    /// po_tie: 115.00 + 20.00 = 135.00 (ties); po_bad: 50.00 - 10.00 = 40.00, paid out 45.00.
    static let payouts = """
        automatic_payout_id,automatic_payout_effective_at,balance_transaction_id,created_utc,available_on_utc,currency,gross,fee,net,reporting_category,source_id,description,customer_facing_amount,customer_facing_currency,charge_id,payment_intent_id
        po_tie,2026-10-16,txn_p1,2026-10-05 10:00:05,2026-10-07,sar,115.00,0.00,115.00,charge,ch_p1,,115.00,sar,ch_p1,pi_ok_sar
        po_tie,2026-10-16,txn_p9,2026-10-13 10:00:05,2026-10-15,sar,20.00,0.00,20.00,charge,ch_p9,,20.00,sar,ch_p9,pi_noinv
        po_bad,2026-10-17,txn_p8a,2026-10-12 10:00:05,2026-10-14,sar,50.00,0.00,50.00,charge,ch_p8a,,50.00,sar,ch_p8a,pi_dup
        po_bad,2026-10-17,txn_r2,2026-10-15 09:00:05,2026-10-15,sar,-10.00,0.00,-10.00,refund,re_nocn,,-10.00,sar,ch_p1,pi_ok_sar

        """

    /// One Checkout.com capture: gross 25.00 and a fee of 0.83 (2.5 % of 25.00 rounded, + 0.20).
    static let checkout = """
        Payout ID,Payment ID,Action ID,Action Type,Processed On,Breakdown Type,Processing Currency,Processing Currency Amount,Holding Currency,Holding Currency Amount
        pyt_ck,pay_ck1,act_ck1,Capture,2026-10-19 10:00:05,Gross,USD,25.00,USD,25.00
        pyt_ck,pay_ck1,act_ck1,Capture,2026-10-19 10:00:05,Processing Fee,USD,-0.83,USD,-0.83

        """

    func settlementFiles() throws -> [String] {
        [
            try file("balance_change_from_activity.itemized.csv", Self.stripe),
            try file("payout_reconciliation.itemized.csv", Self.payouts),
            try file("checkout_financial_actions.csv", Self.checkout),
        ]
    }

    /// One file out of the ZIP, as bsdtar reads it.
    func entry(_ zip: String, _ name: String) throws -> [UInt8] {
        let out = dir + "/x-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try Shell.run("/usr/bin/bsdtar", ["-xf", zip, "-C", out, name])
        #expect(r.status == 0, "\(name): \(r.stderr)")
        return [UInt8]((try? Data(contentsOf: URL(fileURLWithPath: out + "/" + name))) ?? Data())
    }

    /// A CSV entry's rows as dictionaries, after checking the byte-order mark.
    func csv(_ zip: String, _ name: String) throws -> [[String: String]] {
        let bytes = try entry(zip, name)
        #expect(Array(bytes.prefix(3)) == [0xEF, 0xBB, 0xBF], "\(name) starts without a UTF-8 byte-order mark")
        let rows = CSVText.parse(String(decoding: bytes.dropFirst(3), as: UTF8.self))
        guard let header = rows.first else { return [] }
        return rows.dropFirst().map { Dictionary(uniqueKeysWithValues: Swift.zip(header, $0)) }
    }

    /// The drill-down keys and amounts of each break row, in file order.
    func breaks(_ zip: String, _ type: String) throws -> [String] {
        try csv(zip, "breaks/\(type).csv").map { r in
            let ledger = [r["ledger_currency", default: "?"], r["ledger_amount", default: "?"]].filter { !$0.isEmpty }
                .joined(separator: " ")
            let settled = [r["settlement_currency", default: "?"], r["settlement_amount", default: "?"]].filter {
                !$0.isEmpty
            }.joined(
                separator: " ")
            let keys = [
                "payment_intent", "refund", "invoice_number", "credit_note_number", "balance_transaction", "payout_id",
                "dispute_id",
            ].map { r[$0, default: "?"] }
            return (keys + [ledger, settled, r["difference", default: "?"]]).joined(separator: "|")
        }
    }

    @Test func everyBreakTypeLandsInItsOwnCSVWithTheExactRows() throws {
        let zip = dir + "/october.zip"
        let r = try reconcile(["--settlement"] + (try settlementFiles()) + ["--out", zip])
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("reconciliation 2026-10 v1: 19 break(s), 12 matched, 2 in transit"), "\(r.stdout)")

        let expected: [String: [String]] = [
            "missing_in_provider": ["pi_missing||SAMIA-2026-000004|||||USD 20.00||"],
            "missing_in_ledger": [
                "pi_failed_attempt||||txn_fa||||SAR 115.00|", "pi_unknown||||txn_ml||||SAR 99.00|",
            ],
            "amount_mismatch": ["pi_bhd||SAMIA-2026-000003||txn_p3|||BHD 11.000|BHD 10.990|-0.010"],
            "currency_mismatch": ["pi_cur||SAMIA-2026-000007||txn_p7|||EUR 29.99|USD 32.00|"],
            "duplicate": ["pi_dup||SAMIA-2026-000008||txn_p8b|||SAR 50.00|SAR 50.00|"],
            "refund_without_credit_note": ["pi_ok_sar|re_nocn|SAMIA-2026-000001|||||SAR 10.00||"],
            "credit_note_without_refund": ["pi_dup|re_failed|SAMIA-2026-000008|SAMIA-CN-2026-000002||||SAR 10.00||"],
            "dispute_open": ["pi_usd_ok||SAMIA-2026-000006||txn_d1||du_open|USD 50.00|USD -50.00|"],
            "dispute_lost": ["pi_kwd||SAMIA-2026-000002||txn_d3||du_lost|KWD 3.750|KWD -3.750|"],
            "dispute_won": ["pi_eur_fx||SAMIA-2026-000010||txn_d2a||du_won|EUR 40.00|USD -0.50|"],
            "fee_variance": ["pi_fee||SAMIA-2026-000005||txn_p5|||USD 100.00|USD 3.50|0.30"],
            "fx_difference": ["pi_eur_fx||SAMIA-2026-000010||txn_d2a||du_won|EUR 40.00|USD -0.50|-0.50"],
            "timing": ["pi_sep_open|||||||SAR 10.00||"],
            "payout_mismatch": ["|||||po_bad|||SAR 45.00|5.00"],
            "payment_without_invoice": ["pi_noinv|||||||SAR 20.00||"],
            "invoice_arithmetic": ["pi_arith||SAMIA-2026-000013|||||SAR 23.01||-0.01"],
            "vat_rate": ["pi_rate||SAMIA-2026-000014|||||SAR 0.55||"],
            "invoice_sequence": ["|||||||||"],
        ]
        for (type, rows) in expected.sorted(by: { $0.key < $1.key }) {
            #expect(try breaks(zip, type) == rows, "breaks/\(type).csv")
        }
        #expect(
            try csv(zip, "breaks/vat_rate.csv").first?["detail"]
                == "invoice uses 5%, in force for SA on 2026-10-21: 15%")
        #expect(
            try csv(zip, "breaks/invoice_sequence.csv").map { $0["detail", default: "?"] } == [
                "invoice numbers of 2026 missing: 15"
            ])
        #expect(try csv(zip, "breaks/dispute_lost.csv").first?["detail"]?.contains("provider status lost") == true)

        // Matched: 10 payments (one through Checkout.com) and 2 refunds, a partial KWD one among them.
        let matched = try csv(zip, "matched.csv")
        #expect(
            matched.map { $0["balance_transaction", default: "?"] }
                == [
                    "txn_p1", "txn_p2", "txn_p5", "txn_r1", "txn_p6", "txn_p8a", "txn_p9", "txn_p14", "txn_r2",
                    "act_ck1",
                    "txn_p16", "txn_p17",
                ])
        let refund = matched.first { $0["refund"] == "re_kwd" }
        #expect(
            refund?["ledger_amount"] == "1.250" && refund?["settled_gross"] == "-1.250", "\(String(describing: refund))"
        )
        let ck = matched.first { $0["provider"] == "checkout" }
        #expect(
            ck?["fee"] == "0.83" && ck?["net"] == "24.17" && ck?["payout_id"] == "pyt_ck", "\(String(describing: ck))")
        #expect(matched.first { $0["payment_intent"] == "pi_eur_fx" }?["note"] == "settled in USD")

        // In transit (listed, not breaks): no line yet in the last three days; settled after the end.
        #expect(
            try csv(zip, "in_transit.csv").map {
                "\($0["payment_intent", default: "?"]) \($0["amount", default: "?"]) \($0["reason", default: "?"])"
            }
                == ["pi_late 40.00 no settlement line yet", "pi_transit 30.00 settled after the month end"])

        #expect(
            try csv(zip, "payouts.csv").map {
                "\($0["payout_id", default: "?"]) \($0["lines_net", default: "?"]) \($0["payout_amount", default: "?"]) \($0["difference", default: "?"]) \($0["status", default: "?"])"
            }
                == [
                    "po_tie 135.00 135.00 0.00 ties", "po_bad 40.00 45.00 5.00 does not tie",
                    "pyt_ck 24.17   no payout amount in the reports",
                ])

        // VAT figures: invoices minus credit notes issued in October (fixture comments).
        #expect(
            try csv(zip, "vat_summary.csv").map { row in
                ["country", "vat_rate_percent", "currency", "invoices", "credit_notes", "taxable_base", "vat", "gross"]
                    .map {
                        row[$0, default: "?"]
                    }.joined(separator: " ")
            } == [
                "AE 5 USD 4 0 185.72 9.28 195.00", "BH 10 BHD 1 0 10.000 1.000 11.000",
                "DE 19 EUR 2 0 58.81 11.18 69.99",
                "KW 0 KWD 1 1 2.500 0.000 2.500", "SA 15 SAR 5 1 215.65 32.35 248.01", "SA 5 SAR 1 0 10.95 0.55 11.50",
            ])

        // The summary in both languages, and the manifest: verified, tolerances declared.
        let md = String(decoding: try entry(zip, "summary.md"), as: UTF8.self)
        #expect(md.contains("| Fee variance | breaks/fee_variance.csv | 1 | فرق الرسوم |"), "\(md)")
        let pdf = dir + "/summary.pdf"
        try Data(try entry(zip, "summary.pdf")).write(to: URL(fileURLWithPath: pdf))
        let qpdf = try Shell.run("/usr/bin/qpdf", ["--check", pdf])
        #expect(qpdf.status == 0, "\(qpdf.stdout)")
        let text = try PDFText.extract(pdf)
        #expect(text.contains("Monthly reconciliation 2026-10") && text.contains("Payout does not tie"), "\(text)")
        #expect(text.contains("التسوية الشهرية"), "\(text)")
        // The month is isolated left-to-right inside the Arabic title: after Arabic letters the
        // digits are Arabic numbers (UAX #9 W2) and "2026-10" would otherwise show as "10-2026".
        #expect(text.contains("2026-10 التسوية الشهرية") && !text.contains("10-2026"), "\(text)")
        let manifest = try JSONSerialization.jsonObject(with: Data(try entry(zip, "manifest.json"))) as! [String: Any]
        let parameters = manifest["parameters"] as! [String: String]
        #expect(parameters["tolerance.amount_minor_units"] == "0" && parameters["tolerance.in_transit_days"] == "3")
        #expect(parameters["time_zone"] == "UTC" && parameters["window_start"] == "2026-10-01 00:00:00+00")
        // Every source file is named with its SHA-256, the payout report too (it only added payout ids).
        #expect(
            [1, 2, 3].map {
                parameters[String(format: "settlement_file.%03d", $0)]?.split(separator: " ").dropFirst().joined(
                    separator: " ")
            }
                == [
                    "balance_change_from_activity.itemized.csv (stripe.balance_change_from_activity.itemized)",
                    "payout_reconciliation.itemized.csv (stripe.payout_reconciliation.itemized)",
                    "checkout_financial_actions.csv (checkout.financial_actions_by_payout_id)",
                ], "\(parameters)")
        let stripeSHA = try Shell.run("/usr/bin/sha256sum", [dir + "/balance_change_from_activity.itemized.csv"]).stdout
            .prefix(64)
        #expect(parameters["settlement_file.001"]?.hasPrefix(String(stripeSHA)) == true)
        let verify = try CLI.run(["verify", zip], env: env)
        #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")

        // One altered byte anywhere is refused: in a CSV, and in the ZIP itself.
        let unpacked = dir + "/unpacked"
        try FileManager.default.createDirectory(atPath: unpacked, withIntermediateDirectories: true)
        #expect(try Shell.run("/usr/bin/bsdtar", ["-xf", zip, "-C", unpacked]).status == 0)
        let target = unpacked + "/breaks/fee_variance.csv"
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: target)))
        bytes[bytes.count - 3] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: target))
        let tampered = try CLI.run(["verify", unpacked], env: env)
        #expect(tampered.status == 1 && tampered.stdout.contains("breaks/fee_variance.csv"), "\(tampered.stdout)")
        var zipBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: zip)))
        zipBytes[zipBytes.count / 2] ^= 0x01
        let broken = dir + "/broken.zip"
        try Data(zipBytes).write(to: URL(fileURLWithPath: broken))
        #expect(try CLI.run(["verify", broken], env: env).status != 0)

        #expect(try psql("SELECT kind, partition_key, version FROM batch_artifacts") == "reconciliation|2026-10|1")
        #expect(
            try psql("SELECT meta->>'version', meta->>'breaks' FROM audit_log WHERE event = 'reconciliation_ready'")
                == "1|19")
    }

    @Test func aReRunAfterANewSettlementFileIsANewVersionAndTheOldOneIsKept() throws {
        let first = try reconcile(["--settlement"] + (try settlementFiles()))
        #expect(first.status == 0, "\(first.stderr)")
        // The missing payment's charge arrives in a later report.
        let late = try file(
            "balance_change_from_activity.itemized.late.csv",
            Self.stripe.split(separator: "\n")[0]
                + "\ntxn_p4,2026-10-08 10:00:05,2026-10-10,usd,20.00,0.88,19.12,charge,ch_p4,,20.00,usd,ch_p4,pi_missing\n"
        )
        let second = try reconcile(["--settlement", late])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("reconciliation 2026-10 v2: 18 break(s), 13 matched"), "\(second.stdout)")

        let list = try CLI.run(["artifacts", "list", "--kind", "reconciliation"], database: config, env: env)
        #expect(list.status == 0, "\(list.stderr)")
        let lines = list.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: "\t").map(String.init) }
        #expect(
            lines.map { "\($0[2]) v\($0[3]) \($0[7])" } == [
                "2026-10 v2 reconciliation-2026-10-v2.zip", "2026-10 v1 reconciliation-2026-10-v1.zip",
            ])

        let v1 = dir + "/v1.zip"
        let get = try CLI.run(
            ["artifacts", "get", "--kind", "reconciliation", "--partition", "2026-10", "--version", "1", "--out", v1],
            database: config, env: env)
        #expect(get.status == 0, "\(get.stderr)")
        #expect(try breaks(v1, "missing_in_provider") == ["pi_missing||SAMIA-2026-000004|||||USD 20.00||"])
        #expect(try CLI.run(["verify", v1], env: env).status == 0)
        let v2 = dir + "/v2.zip"
        #expect(try CLI.run(["artifacts", "get", lines[0][0], "--out", v2], database: config, env: env).status == 0)
        #expect(try breaks(v2, "missing_in_provider").isEmpty)
        #expect(try csv(v2, "breaks/missing_in_provider.csv").isEmpty)

        // A damaged stored object is refused on the way out, and no copy is left behind.
        let key = try psql("SELECT storage_key FROM batch_artifacts WHERE version = 1")
        let stored = dir + "/storage/" + key
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: stored)))
        bytes[10] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: stored))
        let damaged = try CLI.run(
            ["artifacts", "get", lines[1][0], "--out", dir + "/bad.zip"], database: config, env: env)
        #expect(damaged.status != 0 && damaged.stderr.contains("SHA-256"), "\(damaged.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/bad.zip"))
    }

    @Test func theMonthIsCutInTheReportingTimeZone() throws {
        let zip = dir + "/riyadh.zip"
        let r = try reconcile(["--settlement"] + (try settlementFiles()) + ["--timezone", "Asia/Riyadh", "--out", zip])
        #expect(r.status == 0, "\(r.stderr)")
        // 22:30 UTC on 31 October is 1 November in Riyadh; 22:00 UTC on 30 September is October.
        #expect(try csv(zip, "in_transit.csv").map { $0["payment_intent", default: "?"] } == ["pi_late"])
        let matched = try csv(zip, "matched.csv").map { $0["payment_intent", default: "?"] }
        #expect(matched.first == "pi_sepedge" && matched.count == 13, "\(matched)")
        #expect(
            try csv(zip, "vat_summary.csv").first { $0["country"] == "SA" && $0["vat_rate_percent"] == "15" }?[
                "invoices"]
                == "5")  // 000009 joins, 000016 leaves
        let manifest = try JSONSerialization.jsonObject(with: Data(try entry(zip, "manifest.json"))) as! [String: Any]
        let parameters = manifest["parameters"] as! [String: String]
        #expect(parameters["time_zone"] == "Asia/Riyadh" && parameters["window_start"] == "2026-10-01 00:00:00+03")
        #expect(try csv(zip, "matched.csv").first?["settled_at"] == "2026-10-01 01:00:05+03")
    }

    /// A month with nothing in it: every empty section of the summary says why it is empty, in
    /// the Markdown and in the PDF's text layer, instead of an empty table that reads as "no VAT".
    @Test func emptySectionsSayWhyTheyAreEmpty() throws {
        let zip = dir + "/empty.zip"
        let r = try CLI.run(["reconcile", "--month", "2026-03", "--out", zip], database: config, env: env)
        #expect(r.status == 0, "\(r.stderr)")
        let markdown = String(decoding: try entry(zip, "summary.md"), as: UTF8.self)
        for reason in [
            "no payment, refund or settlement line falls in this month", "No breaks:",
            "no invoice or credit note was issued in this month",
        ] {
            #expect(markdown.contains(reason), "\(markdown)")
        }
        let pdf = dir + "/empty-summary.pdf"
        try Data(try entry(zip, "summary.pdf")).write(to: URL(fileURLWithPath: pdf))
        let text = try Shell.run("/usr/bin/pdftotext", ["-layout", pdf, "-"]).stdout
        #expect(text.contains("no invoice or credit note was issued"), "\(text)")
        #expect(text.contains("فاتورة أو إشعار دائن"), "\(text)")
        // October has invoices, breaks and payments: none of the reasons appear.
        let october = dir + "/october.zip"
        #expect(try reconcile(["--settlement"] + (try settlementFiles()) + ["--out", october]).status == 0)
        let full = String(decoding: try entry(october, "summary.md"), as: UTF8.self)
        // No bank statement was imported here: only the bank section says so.
        let empties = full.components(separatedBy: "\n").filter { $0.contains("Empty:") }
        #expect(
            empties == ["Empty: no bank statement covering this month was imported (samia-batch bank import)."],
            "\(full)")
        #expect(!full.contains("No breaks:"), "\(full)")
    }

    /// The series check sorts numbers once per series and year: a padding variant of an issued
    /// number is a copy, a jump is a range of missing numbers, other formats are not this series.
    @Test func theNumberSeriesNamesCopiesAndMissingRanges() throws {
        _ = try psql(
            """
            INSERT INTO public.invoices (order_id, number, subtotal_cents, vat_cents, total_cents, currency, billing_country,
                                         meta, created_at)
            SELECT o.id, n.number, 1000, 150, 1150, 'SAR', 'SA',
                   jsonb_build_object('document', jsonb_build_object('prices_include_vat', false, 'lines', n.lines)),
                   '2026-10-20 12:00Z'
              FROM (SELECT id FROM public.orders ORDER BY id LIMIT 1) o,
                   (VALUES ('SAMIA-2026-16', '[{"quantity": 1, "vat_rate": "15", "unit_price": "10.00"}]'::jsonb),
                           ('SAMIA-2026-000020', '[{"quantity": 1, "vat_rate": "15", "unit_price": "5.00"},
                                                   {"quantity": 1, "vat_rate": "5", "unit_price": "5.00"}]'),
                           ('INV-2026-000003', '[{"quantity": 1, "vat_rate": "15", "unit_price": "10.00"}]'),
                           ('SAMIA-2025-000001', '[{"quantity": 1, "vat_rate": "15", "unit_price": "10.00"}]')) n(number, lines)
            """)
        let zip = dir + "/series.zip"
        let r = try reconcile(["--settlement"] + (try settlementFiles()) + ["--out", zip])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(
            try csv(zip, "breaks/invoice_sequence.csv").map {
                "\($0["invoice_number", default: "?"]) \($0["detail", default: "?"])"
            }.sorted() == [
                " invoice numbers of 2026 missing: 15",
                " invoice numbers of 2026 missing: 17-19",
                "SAMIA-2026-000016 invoice number 16 of 2026 used 2 times",
            ])
        // Two rates on one invoice: a rate break naming both, and in the VAT summary each rate
        // in its own row (the 5 % line's 5.00 + 0.25; the stored totals' extra 0.50 of VAT, which
        // the arithmetic break names, on its largest rate), no "mixed" row (issue 35).
        let rate = try csv(zip, "breaks/vat_rate.csv").first { $0["invoice_number"] == "SAMIA-2026-000020" }
        #expect(
            rate?["detail"] == "invoice uses 5%, 15%, in force for SA on 2026-10-20: 15%", "\(String(describing: rate))"
        )
        let summary = try csv(zip, "vat_summary.csv")
        #expect(!summary.contains { $0["vat_rate_percent"] == "mixed" })
        let five = summary.first { $0["vat_rate_percent"] == "5" && $0["country"] == "SA" }
        // With the fixture's other SA invoice at 5 % (10.95 + 0.55): 15.95 and 0.80.
        #expect(five?["invoices"] == "2" && five?["taxable_base"] == "15.95" && five?["vat"] == "0.80", "\(summary)")
    }

    @Test func vatFiguresAreConvertedOnlyWithARateSource() throws {
        let rates = try file("rates.csv", "currency,rate\nUSD,1\nBHD,2.65\nEUR,1.08\nkwd,3.25\nSAR,0.2666\n")
        let zip = dir + "/usd.zip"
        let r = try reconcile(
            ["--settlement"] + (try settlementFiles()) + [
                "--reporting-currency", "USD", "--fx-rates", rates, "--out", zip,
            ])
        #expect(r.status == 0, "\(r.stderr)")
        let sa = try csv(zip, "vat_summary.csv").first { $0["country"] == "SA" && $0["vat_rate_percent"] == "15" }
        // 215.65 × 0.2666 = 57.49229; 32.35 × 0.2666 = 8.62451; 248.01 × 0.2666 = 66.120466.
        #expect(
            ["reporting_currency", "fx_rate", "taxable_base_reporting", "vat_reporting", "gross_reporting"].map {
                sa?[$0] ?? "?"
            } == ["USD", "0.2666", "57.49", "8.62", "66.12"])
        let kw = try csv(zip, "vat_summary.csv").first { $0["country"] == "KW" }
        #expect(kw?["gross_reporting"] == "8.13", "2.500 KWD × 3.25 = 8.125, half up")
        let manifest = try JSONSerialization.jsonObject(with: Data(try entry(zip, "manifest.json"))) as! [String: Any]
        #expect((manifest["parameters"] as! [String: String])["reporting_currency"] == "USD")

        // A currency of the month without a rate is refused before any ZIP or artefact.
        let partial = try file("partial.csv", "currency,rate\nUSD,1\nSAR,0.2666\n")
        let refused = try reconcile(["--reporting-currency", "USD", "--fx-rates", partial, "--out", dir + "/no.zip"])
        #expect(
            refused.status == 65 && refused.stderr.contains("partial.csv (currency): no rate for BHD, EUR, KWD"),
            "\(refused.stderr)")
        let badRate = try file("bad.csv", "currency,rate\nUSD,one\n")
        let bad = try reconcile(["--reporting-currency", "USD", "--fx-rates", badRate])
        #expect(bad.status == 65 && bad.stderr.contains("bad.csv:2 (rate)"), "\(bad.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/no.zip"))
        #expect(try psql("SELECT count(*) FROM batch_artifacts") == "1")
    }

    @Test func missingConfigurationAndBadInputChangeNothing() throws {
        var noKey = env
        noKey["SAMIA_SIGNING_KEY_FILE"] = nil
        let r = try CLI.run(["reconcile", "--month", "2026-10"], database: config, env: noKey)
        #expect(r.status == 78 && r.stderr.contains("SAMIA_SIGNING_KEY_FILE"), "\(r.stderr)")
        #expect(try CLI.run(["reconcile", "--month", "2026-13"], database: config, env: env).status == 64)
        let bad = try file(
            "balance_change_from_activity.itemized.bad.csv",
            Self.stripe.split(separator: "\n")[0]
                + "\ntxn_x,2026-10-08 10:00:05,,usd,12.345,0,12.345,charge,ch_x,,,,ch_x,pi_x\n")
        let out = dir + "/never.zip"
        let refused = try reconcile(["--settlement", bad, "--out", out])
        #expect(
            refused.status == 65 && refused.stderr.contains("balance_change_from_activity.itemized.bad.csv:2 (gross)"),
            "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
        #expect(try psql("SELECT count(*) FROM batch_artifacts") == "0")
        #expect(try psql("SELECT count(*) FROM settlement_lines") == "0")
    }
}

/// RFC 4180 CSV as PostgreSQL's COPY writes it (quotes doubled inside quoted fields).
enum CSVText {
    static func parse(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var chars = Array(text).makeIterator()
        var pending: Character? = nil
        while let c = pending ?? chars.next() {
            pending = nil
            if quoted {
                if c == "\"" {
                    if let next = chars.next() {
                        if next == "\"" { field.append("\"") } else { quoted = false; pending = next }
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                row.append(field)
                field = ""
            } else if c == "\n" || c == "\r\n" {
                row.append(field)
                rows.append(row)
                row = []
                field = ""
            } else {
                field.append(c)
            }
        }
        if !field.isEmpty || !row.isEmpty {
            row.append(field)
            rows.append(row)
        }
        return rows
    }
}

extension ReconciliationTests {
    /// A month that has not ended is not closed as if final (issue 35): the current month is
    /// refused with 65 unless asked for as provisional, which the signed manifest then says; a
    /// month that has not begun is refused outright.
    @Test func anUnfinishedMonthIsProvisionalOrRefused() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let now = Date()
        let month = { (d: Date) in
            String(format: "%04d-%02d", calendar.component(.year, from: d), calendar.component(.month, from: d))
        }
        let current = month(now)
        let next = month(calendar.date(byAdding: .month, value: 1, to: now)!)
        let refused = try CLI.run(["reconcile", "--month", current], database: config, env: env)
        #expect(refused.status == 65 && refused.stderr.contains("has not ended"), "\(refused.stderr)")
        let zip = dir + "/interim.zip"
        let interim = try CLI.run(
            ["reconcile", "--month", current, "--provisional", "--out", zip], database: config, env: env)
        #expect(interim.status == 0, "\(interim.stderr)")
        let manifest = try JSONSerialization.jsonObject(with: Data(try entry(zip, "manifest.json"))) as! [String: Any]
        #expect(((manifest["parameters"] as! [String: String])["provisional"] ?? "").hasPrefix("true"))
        // A provisional journal is marked like every CSV, and no Xero file invites posting it.
        let files = try Shell.run("/usr/bin/bsdtar", ["-tf", zip]).stdout.split(separator: "\n")
        #expect(files.contains("ledger/journal.csv") && !files.contains { $0.hasPrefix("ledger/xero") }, "\(files)")
        let future = try CLI.run(["reconcile", "--month", next, "--provisional"], database: config, env: env)
        #expect(future.status == 65 && future.stderr.contains("has not begun"), "\(future.stderr)")
    }
}

extension ReconciliationTests {
    /// CSV formula injection (issue 35): a settlement file's text reaches the break CSVs, and a
    /// value that a spreadsheet would run as a formula is neutralised with a leading `'`.
    @Test func formulasFromSettlementFilesAreNeutralised() throws {
        let header = Self.stripe.split(separator: "\n").first.map(String.init) ?? ""
        let evil = try file(
            "evil.csv",
            header + "\n"
                + "txn_evil,2026-10-15 10:00:05,2026-10-17,sar,10.00,0.00,10.00,charge,ch_evil,,10.00,sar,ch_evil,"
                + "\"=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\"\n")
        let zip = dir + "/evil.zip"
        let r = try reconcile(["--settlement", evil, "--out", zip])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try csv(zip, "breaks/missing_in_ledger.csv")
        let refs = rows.map { $0["payment_intent", default: "?"] }
        #expect(refs.contains("'=HYPERLINK(\"http://evil.example\",\"x\")"), "\(refs)")
        #expect(!refs.contains { $0.hasPrefix("=") })
        // Amounts stay numbers: a negative refund is not prefixed.
        let amounts = try csv(zip, "matched.csv").compactMap { $0["ledger_amount"] }
        #expect(amounts.allSatisfy { !$0.hasPrefix("'") }, "\(amounts)")
    }
}
