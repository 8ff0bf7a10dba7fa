import Foundation
import Logging
import Postgres

/// Deletes the storage objects queued in `storage_outbox` after the transaction that removed
/// their rows committed. Each delete is retried with backoff; a missing object counts as
/// deleted, and so does a key no store could hold (an unsafe path). What still fails stays
/// queued, with its error, for the next run: the worst case is an object without a row, never
/// a row without its object.
public struct StorageOutbox {
    let db: Connection
    let store: any ObjectStore
    var attempts = 3
    var backoff: TimeInterval = 0.2

    public init(connection: Connection, store: any ObjectStore) {
        db = connection
        self.store = store
    }

    /// Works through `origin`'s pending objects; returns how many are still pending.
    public func drain(origin: String, logger: Logger) throws -> Int {
        let pending = try db.query(
            "SELECT id, storage_key FROM public.storage_outbox WHERE origin = $1 AND deleted_at IS NULL ORDER BY id",
            [origin])
        var left = 0
        var deleted: [Int64] = []
        // Done entries are marked in bulk: one statement per thousand objects, not per object.
        func markDeleted() throws {
            guard !deleted.isEmpty else { return }
            try db.query(
                """
                UPDATE public.storage_outbox SET deleted_at = now(), attempts = attempts + 1, last_error = NULL
                 WHERE id = ANY($1::text::bigint[])
                """, ["{" + deleted.map(String.init).joined(separator: ",") + "}"])
            deleted.removeAll(keepingCapacity: true)
        }
        defer { try? markDeleted() }
        for row in pending {
            let id: Int64 = try row.decode(0)
            let key: String = try row.decode(1)
            var lastError: String?
            for attempt in 1...attempts {
                do {
                    try store.delete(key)
                    lastError = nil
                    break
                } catch StorageError.unsafeKey {
                    lastError = nil
                    break
                } catch {
                    lastError = "\(error)"
                    if attempt < attempts { Thread.sleep(forTimeInterval: backoff * Double(1 << (attempt - 1))) }
                }
            }
            if let lastError {
                left += 1
                try db.query(
                    "UPDATE public.storage_outbox SET attempts = attempts + \(attempts), last_error = $2 WHERE id = $1",
                    [id, lastError])
                logger.warning(
                    "storage object not deleted yet",
                    metadata: ["event": "outbox_delete_failed", "outbox_id": "\(id)", "origin": "\(origin)"])
            } else {
                deleted.append(id)
                if deleted.count >= 1000 { try markDeleted() }
            }
        }
        try markDeleted()
        return left
    }
}
