import Foundation
import Postgres
import TestSupport
import Testing

/// The tamper-evident audit trail (issue 36, point 6): the data map called `audit_log`
/// tamper-evident while nothing chained or verified it. Rows are now hash-chained by a trigger,
/// append-only, and `samia-batch audit verify` names the first row that does not hold.
@Suite("Audit chain")
struct AuditChainTests {
    let config: ConnectionConfiguration

    init() throws { config = try TestCluster.shared().freshDatabase() }

    func psql(_ sql: String) throws -> String { try SQL.psql(config.conninfo, sql) }

    func verify() throws -> Shell.Result { try CLI.run(["audit", "verify"], database: config) }

    /// Runs `sql` as a superuser who switched the append-only rule off: what an attacker with
    /// direct database access could do, and what verify must notice.
    func tamper(_ sql: String) throws {
        _ = try psql(
            """
            ALTER TABLE public.audit_log DISABLE TRIGGER audit_log_append_only;
            \(sql);
            ALTER TABLE public.audit_log ENABLE TRIGGER audit_log_append_only;
            """)
    }

    @Test func concurrentWritersFormOneIntactChain() throws {
        // Four sessions at once, each committing 150 rows one by one, and one that rolls back.
        let writers = try (0..<4).map { n in
            try Shell.start(
                "/usr/bin/psql",
                [
                    "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", config.conninfo, "-c",
                    """
                    DO $$ BEGIN FOR i IN 1..150 LOOP
                      INSERT INTO public.audit_log (actor_role, event, entity_id, meta)
                      VALUES ('system', 'writer_\(n)', i::text, jsonb_build_object('i', i, 'text', 'ä "quoted" \\ x'));
                      COMMIT;
                    END LOOP; END $$
                    """,
                ])
        }
        _ = try psql(
            "BEGIN; INSERT INTO public.audit_log (actor_role, event) VALUES ('system', 'rolled_back'); ROLLBACK")
        for writer in writers { #expect(writer.wait().status == 0) }
        #expect(try psql("SELECT count(*), min(chain_seq), max(chain_seq) FROM public.audit_log") == "600|1|600")
        #expect(try psql("SELECT seq FROM private.audit_chain_head") == "600")
        let ok = try verify()
        #expect(ok.status == 0 && ok.stdout.contains("600 row(s), chain intact to position 600"), "\(ok.stderr)")
    }

    @Test func changedDeletedAndTruncatedRowsAreNamed() throws {
        _ = try psql(
            """
            INSERT INTO public.audit_log (actor, actor_role, event, entity, entity_id)
            SELECT NULL, 'system', 'event_' || g, 'refund', g::text FROM generate_series(1, 10) g
            """)
        #expect(try verify().status == 0)
        // The append-only rule refuses changes outright.
        let update = try Shell.run(
            "/usr/bin/psql", ["-X", "-q", "-d", config.conninfo, "-c", "UPDATE public.audit_log SET event = 'x'"])
        #expect(update.status != 0 && update.stderr.contains("audit_log is append-only: UPDATE refused"))
        let truncate = try Shell.run(
            "/usr/bin/psql", ["-X", "-q", "-d", config.conninfo, "-c", "TRUNCATE public.audit_log"])
        #expect(truncate.status != 0 && truncate.stderr.contains("append-only"))
        let id4 = try psql("SELECT id FROM public.audit_log WHERE chain_seq = 4")

        // Around the rule: a changed field, even a NULL made empty, breaks its row's hash.
        try tamper("UPDATE public.audit_log SET actor_role = 'admin' WHERE chain_seq = 4")
        let changed = try verify()
        #expect(changed.status == 1, "\(changed.stdout)")
        #expect(
            changed.stderr.contains("broken at row id \(id4) (position 4): its content or hash was changed"),
            "\(changed.stderr)")
        // Its hash recomputed by the attacker: the next row's link gives it away.
        try tamper(
            """
            UPDATE public.audit_log a SET row_hash = private.audit_row_hash(prev_hash, chain_seq, id, actor, actor_role,
              event, entity, entity_id, meta, created_at) WHERE chain_seq = 4
            """)
        let relinked = try verify()
        #expect(
            relinked.status == 1 && relinked.stderr.contains("(position 5): its previous hash"), "\(relinked.stderr)")
        try tamper("DELETE FROM public.audit_log WHERE chain_seq IN (4, 5, 6)")
        let gap = try verify()
        #expect(gap.stderr.contains("(position 7): rows 4 to 6 of the chain, before it, are missing"), "\(gap.stderr)")
        try tamper("DELETE FROM public.audit_log WHERE chain_seq < 7")
        try tamper("DELETE FROM public.audit_log WHERE chain_seq = 10")
        let ends = try verify()
        #expect(ends.stderr.contains("rows 1 to 6 of the chain, before it, are missing"), "\(ends.stderr)")
        try tamper("DELETE FROM public.audit_log")
        let empty = try verify()
        #expect(empty.status == 1 && empty.stderr.contains("rows 1 to 10 at the end of the chain are missing"))
    }
}
