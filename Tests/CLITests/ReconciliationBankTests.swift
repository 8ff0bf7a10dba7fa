import Foundation
import TestSupport
import Testing

/// The bank tie-out (issue 35, point 2): statements in the three formats banks deliver, imported
/// exactly and refused whole when wrong, then each payout of the test month matched to its
/// deposit, unmatched deposits and bank fees listed, and every account's balance rolled forward.
extension ReconciliationTests {
    static let bankFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/bank").path

    func bank(_ arguments: [String]) throws -> Shell.Result {
        try CLI.run(["bank", "import"] + arguments, database: config, env: env)
    }

    @Test func statementsInEachFormatTieOutTheMonthsPayouts() throws {
        let files = ["october.camt053.xml", "october.mt940", "october.ofx"].map { Self.bankFixtures + "/" + $0 }
        let imported = try bank(files)
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains("october.camt053.xml: camt.053, 1 statement(s), 2 entr(ies), 2 imported"))
        #expect(imported.stdout.contains("october.mt940: MT940") && imported.stdout.contains("october.ofx: OFX"))
        #expect(
            try psql(
                "SELECT string_agg(entry_key || ' ' || amount_minor || ' ' || is_fee, ', ' ORDER BY entry_key) FROM bank_entries"
            )
                == "BNK-1001 13500 false, BNK-1002 -1000 true, BNK-2001 4400 false, BNK-2002 -250 true, OFX-3001 2417 false, OFX-3002 -100 true"
        )
        // The same files again: nothing new.
        #expect(try bank(files).stdout.components(separatedBy: "already imported").count == 4)

        let zip = dir + "/bank.zip"
        let r = try reconcile(["--settlement"] + (try settlementFiles()) + ["--out", zip])
        #expect(r.status == 0 && r.stdout.contains("21 break(s)"), "\(r.stdout) \(r.stderr)")
        // po_tie reached the SAR account by its reference; Checkout.com's pyt_ck (no payout amount in
        // the reports: the net of its lines, 24.17) the USD account; po_bad's 45.00 never arrived.
        #expect(
            try csv(zip, "bank/tieout.csv").map {
                "\($0["payout_id"]!) \($0["amount"]!) \($0["bank_reference"]!) \($0["status"]!)"
            }
                == [
                    "po_tie 135.00 BNK-1001 matched by reference, amount and date", "po_bad 45.00  not in bank",
                    "pyt_ck 24.17 OFX-3001 matched by reference, amount and date",
                ])
        #expect(try breaks(zip, "payout_not_in_bank") == ["|||||po_bad|||SAR 45.00|"])
        #expect(try breaks(zip, "deposit_without_payout") == ["||||BNK-2001|||SAR 44.00||"])
        #expect(try breaks(zip, "bank_balance_gap").isEmpty)
        #expect(
            try csv(zip, "bank/fees.csv").map { "\($0["account"]!) \($0["fee"]!) \($0["currency"]!)" } == [
                "0123456789 2.50 SAR", "9876543210 1.00 USD", "SA0380000000608010167519 10.00 SAR",
            ])
        // Opening + payouts + other credits − bank fees − other debits = the statements' closing.
        #expect(
            try csv(zip, "bank/rollforward.csv").map {
                [
                    $0["account"]!, $0["opening_balance"]!, $0["payouts_received"]!, $0["other_credits"]!,
                    $0["bank_fees"]!,
                    $0["computed_closing"]!, $0["statement_closing"]!, $0["status"]!,
                ].joined(separator: " ")
            } == [
                "0123456789 0.00 0.00 44.00 2.50 41.50 41.50 ties", "9876543210 0.00 24.17 0.00 1.00 23.17 23.17 ties",
                "SA0380000000608010167519 1000.00 135.00 0.00 10.00 1125.00 1125.00 ties",
            ])
        // The summary shows the roll-forward and the open breaks by age (issue 35, points 2 and 4).
        let markdown = String(decoding: try entry(zip, "summary.md"), as: UTF8.self)
        #expect(
            markdown.contains(
                "| SA0380000000608010167519 | SAR | 1000.00 | 135.00 | 10.00 | 0.00 | 1125.00 | 1125.00 | ties |"),
            "\(markdown)")
        #expect(markdown.contains("| 0123456789 | SAR | 0.00 | 0.00 | 2.50 | 44.00 | 41.50 | 41.50 | ties |"))
        let ageing = try csv(zip, "breaks/ageing.csv")
        #expect(!ageing.isEmpty)
        for row in ageing {
            let line =
                "| \(try labelEnglish("break_" + row["break_type"]!)) | \(row["open"]!) | \(row["age_0_30_days"]!) |"
            #expect(markdown.contains(line), "\(line) in \(markdown)")
        }
        let pdf = dir + "/bank-summary.pdf"
        try Data(try entry(zip, "summary.pdf")).write(to: URL(fileURLWithPath: pdf))
        let text = try Shell.run("/usr/bin/pdftotext", ["-layout", pdf, "-"]).stdout
        for expected in ["Open breaks by age", "Bank accounts", "SA0380000000608010167519", "1125.00", "ties"] {
            #expect(text.contains(expected), "\(expected) in \(text)")
        }
        #expect(text.contains("الحسابات المصرفية"), "the Arabic heading")
        // Allowed 20 days to reach the bank, po_bad (paid out 17 October) may still arrive after the
        // statements' last day (31 October): on its way, not a break.
        let patient = try file("patient.yaml", "tolerances: { bank_days: 20 }\n")
        let later = dir + "/bank-patient.zip"
        #expect(try reconcile(["--out", later], env: ["SAMIA_RECONCILIATION_POLICY": patient]).status == 0)
        #expect(try breaks(later, "payout_not_in_bank").isEmpty)
        #expect(
            try csv(later, "bank/tieout.csv").first { $0["payout_id"] == "po_bad" }?["status"]
                == "on its way: the statements end on 2026-10-31")
    }

    @Test func aBankFileThatIsWrongIsRefusedWholeNamingLineAndField() throws {
        let camt = try String(contentsOfFile: Self.bankFixtures + "/october.camt053.xml", encoding: .utf8)
        let mt940 = try String(contentsOfFile: Self.bankFixtures + "/october.mt940", encoding: .utf8)
        let ofx = try String(contentsOfFile: Self.bankFixtures + "/october.ofx", encoding: .utf8)
        let cases: [(String, String, [String])] = [
            (
                "gap.xml", camt.replacingOccurrences(of: ">1125.00<", with: ">1126.00<"),
                ["gap.xml:9", "closing balance", "entries 12500 = 112500"]
            ),
            (
                "ccy.xml", camt.replacingOccurrences(of: "<Amt Ccy=\"SAR\">135.00", with: "<Amt Ccy=\"USD\">135.00"),
                ["ccy.xml:10", "Ntry/Amt@Ccy"]
            ),
            ("broken.xml", camt.replacingOccurrences(of: "</Stmt>", with: ""), ["broken.xml", "not well-formed XML"]),
            (
                "dates.xml",
                camt.replacingOccurrences(of: "<Dt><Dt>2026-10-01</Dt></Dt>", with: "<Dt><Dt>2026-11-05</Dt></Dt>"),
                ["dates.xml:8", "opening balance date", "2026-11-05 is after the closing balance of 2026-10-31"]
            ),
            (
                "decimals.mt940", mt940.replacingOccurrences(of: "C44,00NTRF", with: "C44,001NTRF"),
                ["decimals.mt940:6", ":61: amount"]
            ),
            (
                "line.mt940", mt940.replacingOccurrences(of: ":61:2610191019C44,00NTRF", with: ":61:26101X"),
                ["line.mt940:6", ":61:"]
            ),
            (
                "open.mt940", mt940.replacingOccurrences(of: ":62F:C261031SAR41,50\n", with: ""),
                ["open.mt940", "no closing balance"]
            ),
            (
                "amount.ofx", ofx.replacingOccurrences(of: "<TRNAMT>24.17", with: "<TRNAMT>24,1.7"),
                ["amount.ofx:17", "TRNAMT"]
            ),
            ("notes.txt", "just some notes\n", ["notes.txt:1", "not a camt.053, MT940 or OFX"]),
        ]
        for (name, text, expected) in cases {
            let r = try bank([try file(name, text)])
            #expect(r.status == 65, "\(name): \(r.status) \(r.stderr)")
            for part in expected { #expect(r.stderr.contains(part), "\(name): \(r.stderr)") }
        }
        #expect(try psql("SELECT count(*) FROM bank_entries") == "0")
        // A dry run checks and keeps nothing; an entry delivered again with other figures is refused.
        let good = Self.bankFixtures + "/october.mt940"
        let dry = try CLI.run(["bank", "import", "--dry-run", good], database: config, env: env)
        #expect(dry.status == 0 && dry.stdout.contains("would be imported"), "\(dry.stdout)")
        #expect(try psql("SELECT count(*) FROM bank_statement_files") == "0")
        #expect(try bank([good]).status == 0)
        let changed = try file(
            "changed.mt940",
            mt940.replacingOccurrences(of: "C44,00NTRF", with: "C45,00NTRF").replacingOccurrences(
                of: "SAR41,50", with: "SAR42,50"))
        let refused = try bank([changed])
        #expect(refused.status == 65, "\(refused.stderr)")
        #expect(
            refused.stderr.contains("BNK-2001 was imported from october.mt940 line 6 as 2026-10-19 4400"),
            "\(refused.stderr)")
        #expect(try psql("SELECT count(*) FROM bank_entries") == "2")
    }

    /// camt.053.001.08 and later give an entry's status as <Sts><Cd>…</Cd></Sts>: a pending
    /// entry was read as booked (its status text empty), so a statement whose booked balance
    /// rightly leaves it out was refused, or a pending credit counted as money in the bank.
    @Test func aPendingEntryInTheNewerCamtLayoutIsNotBooked() throws {
        let camt = try String(contentsOfFile: Self.bankFixtures + "/october.camt053.xml", encoding: .utf8)
            .replacingOccurrences(of: "camt.053.001.02", with: "camt.053.001.08")
            .replacingOccurrences(of: "<Sts>BOOK</Sts>", with: "<Sts><Cd>BOOK</Cd></Sts>")
        let pending = """
                  <Ntry>
                    <Amt Ccy="SAR">500.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>PDNG</Cd></Sts>
                    <BookgDt><Dt>2026-10-31</Dt></BookgDt><AcctSvcrRef>BNK-PEND</AcctSvcrRef>
                  </Ntry>
                </Stmt>
            """
        let text = camt.replacingOccurrences(of: "    </Stmt>", with: pending)
        let r = try bank([try file("v08.xml", text)])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(
            try psql("SELECT string_agg(entry_key, ',' ORDER BY entry_key) FROM bank_entries")
                == "BNK-1001,BNK-1002")
    }
}

extension ReconciliationTests {
    /// A label of the shipped English locale, as the summary prints it.
    func labelEnglish(_ key: String) throws -> String {
        let url = TestCluster.repositoryRoot.appendingPathComponent("templates/locales/en.json")
        let labels = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: String]
        return labels?[key] ?? key
    }
}
