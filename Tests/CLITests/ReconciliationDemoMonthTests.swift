import Foundation
import Postgres
import TestSupport
import Testing

/// The ledger export on the demo's month (issue 35, point 3): the demo's seeded ledger, invoiced
/// by the real `invoices` job and settled by the demo's settlement generator
/// (scripts/demo-settlement/), closed in Beirut as `make demo` does. Every journal balances, in
/// both layouts, and books exactly the VAT summary's VAT and gross.
@Suite("Reconciliation journal on the demo month")
struct ReconciliationDemoMonthTests {
    @Test func theDemoMonthsJournalBalancesInBothLayouts() throws {
        let base = try ReconciliationTests(fixture: false)
        let db = base.config
        let seeded = try CLI.run(
            ["dev", "seed", "--scale", "1", "--seed", "42", "--as-of", "2026-11-03T00:00:00Z"], database: db)
        #expect(seeded.status == 0, "\(seeded.stderr)")
        // Only what October's close reads (and its carried-in days): invoicing four months of
        // the seed would take minutes and add nothing the journal reads.
        _ = try base.psql(
            """
            DELETE FROM refunds r USING payment_intents pi
             WHERE pi.id = r.payment_intent_id AND pi.updated_at < '2026-09-25';
            DELETE FROM payment_intents WHERE updated_at < '2026-09-25';
            """)
        let env = base.env.merging(SellerEnvironment.all) { $1 }.merging([
            "SAMIA_TIMEZONE": "Asia/Beirut", "SAMIA_NOW": "2026-11-01T00:30:00+02:00",
        ]) { $1 }
        // Two nights, so that credit notes are issued in the month as well as after it.
        for night in ["2026-10-20T00:30:00+03:00", "2026-11-01T00:30:00+02:00"] {
            let invoiced = try CLI.run(["invoices"], database: db, env: env.merging(["SAMIA_NOW": night]) { $1 })
            #expect(invoiced.status == 0, "\(invoiced.stderr.suffix(2000))")
        }
        var files: [String] = []
        for report in ["stripe", "checkout"] {
            let script = TestCluster.repositoryRoot.appendingPathComponent("scripts/demo-settlement/\(report).sql").path
            let r = try Shell.run(
                "/usr/bin/psql",
                ["-X", "-q", "-v", "from=2026-09-01", "-v", "to=2026-11-04", "-f", script, "-d", db.conninfo])
            #expect(r.status == 0, "\(r.stderr)")
            files.append(try base.file("demo-\(report).csv", r.stdout))
        }
        let zip = base.dir + "/demo-month.zip"
        let closed = try CLI.run(
            ["reconcile", "--month", "2026-10", "--timezone", "Asia/Beirut", "--settlement"] + files + ["--out", zip],
            database: db, env: env)
        #expect(closed.status == 0, "\(closed.stderr.suffix(2000))")
        let (balance, lines) = try base.journal(zip)
        #expect(balance.count >= 31, "a journal per day and currency: \(balance.count)")
        #expect(balance.filter { $0.value != 0 }.isEmpty, "\(balance.filter { $0.value != 0 })")
        #expect(lines.values.contains { $0.contains { $0.hasPrefix("6100 stripe fees Dr") } })
        #expect(lines.values.contains { $0.contains { $0.hasPrefix("4010 refunds at") } })
        try base.expectJournalAgreesWithTheVATSummary(zip)
        try base.expectXeroFilesHoldTheJournal(zip, lines: lines, names: nil)
    }
}
