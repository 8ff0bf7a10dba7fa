import Foundation
import Logging
import Postgres
import Runner
import Storage

/// Finds storage objects no row names any more and deletes them: the net under every crash
/// window (an object written before its row's transaction failed, an outbox lost with a
/// restored backup). Only under a rule's declared prefixes, only objects older than the grace
/// period (an upload whose row is not committed yet is not an orphan), and only when none of
/// the database's storage-key columns names them.
struct OrphanSweep {
    let db: Connection
    let store: any ObjectStore
    let references: [(table: String, column: String)]
    let grace: TimeInterval
    let clock: any BatchClock
    let logger: Logger

    /// The orphans under `prefix`, by comparing the store's listing with the database in
    /// PostgreSQL (the listing goes in through `COPY`; the join uses the key columns' indexes).
    func orphans(prefix: String) throws -> [String] {
        let cutoff = clock.now().addingTimeInterval(-grace)
        var listed: [String] = []
        try store.list(prefix: prefix) { key, modified in
            if modified < cutoff { listed.append(key) }
        }
        if try db.scalar("SELECT to_regclass('pg_temp.retention_listed') IS NULL", as: Bool.self) ?? true {
            try db.execute("CREATE TEMP TABLE retention_listed (storage_key text NOT NULL)")
        } else {
            try db.execute("TRUNCATE retention_listed")
        }
        var index = 0
        _ = try db.copyIn("COPY retention_listed (storage_key) FROM STDIN") {
            guard index < listed.count else { return nil }
            var chunk: [UInt8] = []
            while index < listed.count && chunk.count < 1 << 16 {
                chunk += Self.copyText(listed[index]).utf8
                chunk.append(0x0A)
                index += 1
            }
            return chunk
        }
        let unused = references.map {
            "NOT EXISTS (SELECT 1 FROM public.\(SQLIdentifier.quote($0.table)) u WHERE u.\(SQLIdentifier.quote($0.column)) = l.storage_key)"
        }
        return try db.query(
            """
            SELECT l.storage_key FROM retention_listed l
             WHERE \((unused + ["NOT EXISTS (SELECT 1 FROM public.storage_outbox o WHERE o.storage_key = l.storage_key AND o.deleted_at IS NULL)"]).joined(separator: " AND "))
             ORDER BY l.storage_key
            """
        ).map { try $0.decode(0, as: String.self) }
    }

    /// Queues the orphans in the outbox with an audit row, then deletes them; returns how many
    /// were deleted.
    func sweep(prefix: String, rule: String, runID: Int64, outbox: StorageOutbox) throws -> Int64 {
        let found = try orphans(prefix: prefix)
        guard !found.isEmpty else { return 0 }
        let origin = "retention-orphans:\(rule)"
        try db.transaction { tx in
            try tx.query(
                "INSERT INTO public.storage_outbox (storage_key, origin) SELECT unnest($1::text[]), $2",
                [PostgresArray(found), origin])
            try tx.query(
                """
                INSERT INTO public.audit_log (actor_role, event, entity, entity_id, meta)
                VALUES ('system', 'retention_orphans_deleted', 'storage', $1,
                        jsonb_build_object('rule', $2::text, 'objects', $3::bigint, 'grace_hours', $4::float8,
                                           'run_id', $5::bigint))
                """, [prefix, rule, Int64(found.count), grace / 3600, runID])
        }
        let left = try outbox.drain(origin: origin, logger: logger, removeDone: true)
        return Int64(found.count - left)
    }

    /// A value in COPY's text format: backslash, tab, newline and carriage return escaped.
    static func copyText(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\t", with: "\\t")
            .replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\r", with: "\\r")
    }
}
