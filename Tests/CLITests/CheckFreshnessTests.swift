import Foundation
import Postgres
import TestSupport
import Testing

/// `samia-batch check-freshness` as monitoring calls it, against a ledger with fresh, stale and
/// never-successful jobs.
@Suite("Freshness check")
struct CheckFreshnessTests {
    let config: ConnectionConfiguration

    init() throws {
        config = try TestCluster.shared().freshDatabase()
        let r = try Shell.run(
            "/usr/bin/psql",
            [
                "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", config.conninfo, "-c",
                """
                INSERT INTO batch_runs (job, status, started_at, finished_at, host, version, dry_run) VALUES
                  ('metrics', 'succeeded', now() - interval '2 hours', now() - interval '2 hours', 'h', 't', false),
                  ('invoices', 'succeeded', now() - interval '30 hours', now() - interval '30 hours', 'h', 't', false),
                  ('invoices', 'succeeded', now() - interval '1 hour', now() - interval '1 hour', 'h', 't', true),
                  ('dsr', 'failed', now() - interval '1 hour', now() - interval '1 hour', 'h', 't', false)
                """,
            ])
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test func staleAndNeverSucceededJobsAreNamed() throws {
        let r = try CLI.run(["check-freshness"], database: config)
        #expect(r.status == 1, "\(r.status) \(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        // A dry run one hour ago does not make invoices fresh.
        #expect(lines.contains { $0.hasPrefix("STALE invoices: last success") }, "\(r.stdout)")
        #expect(lines.contains { $0.hasPrefix("STALE dsr: never succeeded") }, "\(r.stdout)")
        #expect(!r.stdout.contains("metrics"), "\(r.stdout)")

        let wider = try CLI.run(["check-freshness", "--max-age", "2d", "--job", "retention"], database: config)
        #expect(wider.status == 1)
        #expect(!wider.stdout.contains("invoices") && wider.stdout.contains("STALE retention: never succeeded"))

        let bad = try CLI.run(["check-freshness", "--max-age", "soon"], database: config)
        #expect(bad.status == 64, "\(bad.status) \(bad.stderr)")
    }

    @Test func allFreshExitsZero() throws {
        let r = try Shell.run(
            "/usr/bin/psql", ["-X", "-q", "-d", config.conninfo, "-c", "DELETE FROM batch_runs WHERE job <> 'metrics'"])
        #expect(r.status == 0)
        let ok = try CLI.run(["check-freshness"], database: config)
        #expect(ok.status == 0, "\(ok.stdout) \(ok.stderr)")
        #expect(ok.stdout.contains("all jobs succeeded within 26h"))
    }
}
