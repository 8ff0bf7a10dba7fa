import Foundation
import Postgres
import TestSupport
import Testing

/// A full disk as on-call meets it (issue 38): the invoice run must not number thousands of
/// documents it cannot store, must stop once storage keeps failing, and its ledger row must
/// count what it committed. The disk is a real one: a small tmpfs mounted over the storage
/// directory in a mount namespace of the run's own.
@Suite("Storage failures", .serialized)
struct StorageFailureTests {
    let config: ConnectionConfiguration
    let storage = NSTemporaryDirectory() + "samia-full-\(UUID().uuidString)"

    init() throws {
        config = try TestCluster.shared().freshDatabase()
        try FileManager.default.createDirectory(atPath: storage, withIntermediateDirectories: true)
    }

    var env: [String: String] {
        SellerEnvironment.all.merging(["SAMIA_STORAGE_DIR": storage, "DATABASE_URL": config.conninfo]) { $1 }
    }

    func psql(_ sql: String) throws -> String { try SQL.psql(config.conninfo, sql) }

    func load(orders: Int) throws { try InvoicingTests.loadFixture(orders: orders, into: config) }

    /// Runs `samia-batch invoices` with a tmpfs of `kib` KiB over the storage directory, then
    /// lists what the run left in it; the tmpfs goes with the namespace.
    func invoicesOnASmallDisk(kib: Int, extra: [String: String]) throws -> Shell.Result {
        let script = """
            mount -t tmpfs -o size=\(kib)k tmpfs "$SAMIA_STORAGE_DIR" || exit 99
            "$0" invoices; status=$?
            find "$SAMIA_STORAGE_DIR" -name '*.tmp-*' | sed 's/^/LEFTOVER /'
            exit $status
            """
        let sudo = getuid() == 0 ? [] : ["/usr/bin/sudo", "-n", "-E"]
        let command =
            sudo + ["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script, CLI.binary]
        return try Shell.run(
            command[0], Array(command.dropFirst()), environment: CLI.environment(env.merging(extra) { $1 }))
    }

    /// Less free space than the floor: refused with 74 before a single number is taken.
    @Test func aDiskBelowTheFloorStopsTheRunBeforeAnyNumber() throws {
        try load(orders: 3)
        let refused = try CLI.run(["invoices"], env: env.merging(["SAMIA_STORAGE_MIN_FREE_MB": "100000000"]) { $1 })
        #expect(refused.status == 74, "\(refused.stderr)")
        #expect(refused.stderr.contains("MiB free") && refused.stderr.contains("SAMIA_STORAGE_MIN_FREE_MB"))
        #expect(try psql("SELECT count(*) FROM invoices") == "0")
        #expect(try psql("SELECT last_value FROM document_sequences WHERE series = 'invoice'") == "")
        let typo = try CLI.run(["invoices"], env: env.merging(["SAMIA_STORAGE_MIN_FREE_MB": "25O"]) { $1 })
        #expect(typo.status == 78 && typo.stderr.contains("SAMIA_STORAGE_MIN_FREE_MB=25O"), "\(typo.stderr)")
        let limit = try CLI.run(["invoices"], env: env.merging(["SAMIA_STORAGE_FAILURE_LIMIT": "zero"]) { $1 })
        #expect(limit.status == 78 && limit.stderr.contains("SAMIA_STORAGE_FAILURE_LIMIT=zero"), "\(limit.stderr)")
        #expect(try psql("SELECT count(*) FROM invoices") == "0", "a typo in the limit takes no number")
        #expect(try CLI.run(["invoices"], env: env).status == 0)
        #expect(try psql("SELECT count(*) FROM invoices WHERE pdf_media_id IS NOT NULL") == "3")
        // The other jobs that write to the store refuse the same way: a finance ZIP, a DSR export.
        let key = storage + ".key"
        #expect(try CLI.run(["keygen", "--out", key]).status == 0)
        try Data("salt".utf8).write(to: URL(fileURLWithPath: storage + ".salt"))
        let low = env.merging([
            "SAMIA_STORAGE_MIN_FREE_MB": "100000000", "SAMIA_SIGNING_KEY_FILE": key,
            "SAMIA_DPO_CONTACT": "dpo@samia.example", "SAMIA_ACTOR_SALT_FILE": storage + ".salt",
        ]) { $1 }
        let reconcile = try CLI.run(["reconcile", "--month", "2026-11"], env: low)
        #expect(reconcile.status == 74 && reconcile.stderr.contains("MiB free"), "\(reconcile.stderr)")
        let dsr = try CLI.run(["dsr", "process"], env: low)
        #expect(dsr.status == 74 && dsr.stderr.contains("MiB free"), "\(dsr.stderr)")
        #expect(try psql("SELECT count(*) FROM batch_artifacts") == "0")
    }

    /// The disk fills half-way: the breaker stops the run after 3 failures in a row with 74,
    /// the ledger counts exactly what committed, no temporary file stays, and the next run on a
    /// disk with room stores the rest and renders again what the lost disk held.
    @Test func aDiskThatFillsTripsTheBreakerAndTheLedgerCountsWhatCommitted() throws {
        try load(orders: 24)
        let run = try invoicesOnASmallDisk(
            kib: 400, extra: ["SAMIA_STORAGE_MIN_FREE_MB": "0", "SAMIA_STORAGE_FAILURE_LIMIT": "3"])
        #expect(run.status == 74, "\(run.stderr)")
        #expect(run.stderr.contains("failed 3 times in a row"), "\(run.stderr)")
        #expect(!run.stdout.contains("LEFTOVER"), "\(run.stdout)")
        let issued = try psql("SELECT count(*) FROM invoices")
        let stored = try psql("SELECT count(*) FROM invoices WHERE pdf_media_id IS NOT NULL")
        #expect(issued == "24" && Int(stored)! > 0 && Int(stored)! < 24, "issued \(issued), stored \(stored)")
        let ledger = try psql(
            """
            SELECT status || ' ' || (stats->>'invoices_issued') || ' ' || (stats->>'pdfs_stored') || ' ' || (stats->>'failed')
              FROM batch_runs WHERE job = 'invoices'
            """)
        #expect(ledger == "failed 24 \(stored) 3", "\(ledger)")
        #expect(try psql("SELECT count(*) FROM document_failures") == "3")

        let after = try CLI.run(["invoices"], env: env)
        #expect(after.status == 0, "\(after.stderr)")
        #expect(try psql("SELECT count(*) FROM invoices WHERE pdf_media_id IS NULL") == "0")
        #expect(
            try psql(
                "SELECT (stats->>'pdfs_restored')::int FROM batch_runs WHERE job = 'invoices' ORDER BY id DESC LIMIT 1")
                == "\(2 * Int(stored)!)")
    }
}
