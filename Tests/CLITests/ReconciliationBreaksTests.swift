import Foundation
import TestSupport
import Testing

/// Breaks people can work (issue 35, point 4): stable ids, `reconcile breaks list|show|resolve`
/// with an audit row, resolved breaks not raised again, open ones carried with their age.
extension ReconciliationTests {
    func breaksCLI(_ arguments: [String]) throws -> Shell.Result {
        try CLI.run(["reconcile", "breaks"] + arguments, database: config, env: env)
    }

    /// The register's ids of open breaks of one type, from `breaks list`.
    func listed(_ arguments: [String] = []) throws -> [[String]] {
        let r = try breaksCLI(["list"] + arguments)
        #expect(r.status == 0, "\(r.stderr)")
        return r.stdout.split(separator: "\n").dropFirst().map {
            $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        }
    }

    @Test func breaksHaveStableIdsAndAreResolvedOnceWithAReason() throws {
        let first = dir + "/v1.zip"
        #expect(try reconcile(["--settlement"] + (try settlementFiles()) + ["--out", first]).status == 0)
        let mismatch = try csv(first, "breaks/amount_mismatch.csv")
        let id = try #require(mismatch.first?["break_id"])
        #expect(id.range(of: #"^BR-[0-9A-F]{12}$"#, options: .regularExpression) != nil, "\(id)")
        let open = try listed()
        #expect(open.count == 19 && open.contains { $0[0] == id && $0[1] == "amount_mismatch" }, "\(open)")
        // A re-run raises the same breaks under the same ids.
        let second = dir + "/v2.zip"
        #expect(try reconcile(["--out", second]).status == 0)
        #expect(try csv(second, "breaks/amount_mismatch.csv").map { $0["break_id"] } == [id])
        #expect(try listed().map { $0[0] }.sorted() == open.map { $0[0] }.sorted())

        // `reconcile`'s own options after `breaks` would be taken by `reconcile` and ignored: a
        // dry run that resolves for real, a month filter that filters nothing. Refused (64).
        let dry = try breaksCLI(["resolve", id, "--reason", "checking first", "--dry-run"])
        #expect(dry.status == 64 && dry.stderr.contains("--dry-run is not an option"), "\(dry.stderr)")
        let month = try breaksCLI(["list", "--month", "2026-11"])
        #expect(month.status == 64 && month.stderr.contains("use --period"), "\(month.stderr)")
        // Resolving: a reason is required, the audit row says who and why, twice is refused.
        #expect(try breaksCLI(["resolve", id, "--reason", ""]).status == 64)
        let resolved = try breaksCLI([
            "resolve", id, "--reason", "BHD rounding written off, JE-2026-118", "--by", "finance.lead",
        ])
        #expect(resolved.status == 0, "\(resolved.stderr)")
        #expect(
            try psql(
                "SELECT meta->>'resolved_by' || '|' || (meta->>'reason') FROM audit_log WHERE event = 'reconciliation_break_resolved' AND entity_id = '\(id)'"
            ) == "finance.lead|BHD rounding written off, JE-2026-118")
        let again = try breaksCLI(["resolve", id, "--reason", "again", "--by", "someone"])
        #expect(again.status == 65 && again.stderr.contains("already resolved by finance.lead"), "\(again.stderr)")
        let unknown = try breaksCLI(["resolve", "BR-000000000000", "--reason", "no such break"])
        #expect(unknown.status == 65 && unknown.stderr.contains("no break BR-000000000000"), "\(unknown.stderr)")
        let shown = try breaksCLI(["show", id])
        #expect(shown.stdout.contains("resolved") && shown.stdout.contains("by finance.lead"), "\(shown.stdout)")

        // The next close of the month does not raise it again: it is listed as resolved instead.
        let third = dir + "/v3.zip"
        let r = try reconcile(["--out", third])
        #expect(r.status == 0 && r.stdout.contains("18 break(s)"), "\(r.stdout)")
        #expect(try csv(third, "breaks/amount_mismatch.csv").isEmpty)
        let seen = try csv(third, "breaks/resolved.csv")
        #expect(
            seen.map { "\($0["break_id"]!) \($0["resolved_by"]!) \($0["resolution"]!)" } == [
                "\(id) finance.lead BHD rounding written off, JE-2026-118"
            ])
        #expect(try listed().count == 18)
    }

    @Test func openBreaksAreCarriedIntoTheNextCloseWithTheirAge() throws {
        let october = dir + "/october.zip"
        #expect(try reconcile(["--settlement"] + (try settlementFiles()) + ["--out", october]).status == 0)
        let missing = try #require(try csv(october, "breaks/missing_in_provider.csv").first?["break_id"])
        let november = dir + "/november.zip"
        let r = try CLI.run(["reconcile", "--month", "2026-11", "--out", november], database: config, env: env)
        #expect(r.status == 0, "\(r.stderr)")
        // pi_missing (paid 8 October, never settled) is October's break, still open at November's end.
        let carried = try csv(november, "breaks/carried.csv")
        let row = try #require(carried.first { $0["break_id"] == missing }, "\(carried)")
        #expect(row["first_month"] == "2026-10" && row["payment_intent"] == "pi_missing")
        #expect(row["age_days"] == "53", "8 October 10:00 UTC to 1 December: \(row)")
        let ageing = try csv(november, "breaks/ageing.csv").first { $0["break_type"] == "missing_in_provider" }
        #expect(
            ageing?["open"] == "1" && ageing?["carried_not_raised_again"] == "1" && ageing?["age_31_60_days"] == "1")
        #expect(try listed(["--period", "2026-11", "--type", "missing_in_provider"]).map { $0[0] } == [missing])
        // Raised in October: none is a break of September, every one is still open in November.
        #expect(try listed(["--period", "2026-09"]).isEmpty)
        let raised = Set(try listed(["--period", "2026-10"]).map { $0[0] })
        #expect(raised.count == 19)
        #expect(raised.isSubset(of: Set(try listed(["--period", "2026-11"]).map { $0[0] })))
    }

    @Test func aBreakALaterRunNoLongerFindsIsClearedAndDryRunsWriteNoRegister() throws {
        let zip = dir + "/first.zip"
        #expect(try reconcile(["--settlement"] + (try settlementFiles()) + ["--out", zip]).status == 0)
        let missing = try #require(try csv(zip, "breaks/missing_in_provider.csv").first?["break_id"])
        let before = try psql("SELECT count(*) || '/' || max(last_seen_at) FROM reconciliation_breaks")
        // The late charge of pi_missing, first in a dry run (nothing recorded), then for real.
        let header = Self.stripe.split(separator: "\n").first.map(String.init) ?? ""
        let late = try file(
            "late.csv",
            header
                + "\ntxn_p4,2026-10-08 10:00:05,2026-10-10,usd,20.00,0.88,19.12,charge,ch_p4,,20.00,usd,ch_p4,pi_missing\n"
        )
        #expect(try reconcile(["--settlement", late, "--dry-run"]).status == 0)
        #expect(try psql("SELECT count(*) || '/' || max(last_seen_at) FROM reconciliation_breaks") == before)
        #expect(try reconcile(["--settlement", late, "--out", dir + "/second.zip"]).status == 0)
        let cleared = try listed(["--status", "cleared"])
        #expect(cleared.map { $0[0] } == [missing], "\(cleared)")
        #expect(try listed().count == 18)
    }
}
