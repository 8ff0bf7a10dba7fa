import Foundation
import Parity
import Postgres
import TestSupport
import Testing

/// The prober against a live database: a row the API changes after the probe's snapshot makes
/// PostgreSQL refuse the probe's write with 40001 (REPEATABLE READ); that proves nothing about
/// access, so the row is left out and said so, never an error that fails the report.
@Suite("Parity prober")
struct ParityProberTests {
    @Test func aRowTheAPIChangesDuringTheProbesIsLeftOutNotAnError() throws {
        let config = try TestCluster.shared().freshDatabase()
        let db = try Connection(config)
        let api = try Connection(config)
        _ = try db.query(
            """
            WITH p AS (
              INSERT INTO public.profiles (id, email, first_name, role_id)
              SELECT 'eeeeeeee-0000-4000-8000-000000000001'::uuid, 'm@samia.example', 'Monitor', r.id
                FROM public.roles r WHERE r.code = 'monitor' RETURNING id),
            s AS (INSERT INTO public.services (code, name, is_active) VALUES ('tarot', 'Tarot', true) RETURNING id)
            INSERT INTO public.orders (user_id, service_id, status)
            SELECT p.id, s.id, 'new' FROM p, s, generate_series(1, 5)
            """)
        let matrix = try AccessMatrix.load(
            path: TestCluster.repositoryRoot.appendingPathComponent("policy/access-matrix.yaml").path,
            exceptionsPath: nil)
        let snapshot = try CatalogSnapshot.read(db, schemas: ["public"], databaseRoles: ["anon", "authenticated"])
        let prober = ParityProber(db: db, matrix: matrix, snapshot: snapshot, writes: true, sampleRows: 1000)
        try prober.begin()
        defer { prober.end() }
        // The API updates one order after the probe's snapshot was taken.
        _ = try api.query("UPDATE public.orders SET updated_at = now() WHERE id = (SELECT min(id) FROM public.orders)")
        let monitor = try #require(matrix.role("monitor"))
        let orders = try #require(snapshot.relation("orders"))
        let probed = try prober.probe(role: monitor, relation: orders, command: .update, declared: "all")
        let side = try #require(probed)
        #expect(side.outcome == "rows", "\(side)")
        #expect(side.missing == 0 && side.excess == 0, "\(side)")
        #expect(side.visible == 4, "the four orders nobody touched were reached: \(side)")
        #expect(side.message?.contains("1 sampled row(s) changed by a concurrent writer were left out") == true)
    }
}
