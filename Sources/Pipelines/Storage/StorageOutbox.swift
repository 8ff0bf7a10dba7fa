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

    /// Works through `origin`'s pending objects; returns how many this call left pending.
    ///
    /// Entries are claimed a chunk at a time with `FOR UPDATE SKIP LOCKED` in a short
    /// transaction that also marks them done, so several workers draining the same origin
    /// never delete one object twice, and a worker that dies mid-chunk leaves its chunk queued.
    ///
    /// With `removeDone`, a done entry is deleted instead of marked: retention queues a million
    /// objects on a big night and counts them in its ledger and audit rows, while an erasure's
    /// done entries are its proof and stay.
    public func drain(origin: String, logger: Logger, chunk: Int = 500, removeDone: Bool = false) throws -> Int {
        var left = 0
        var after: Int64 = 0
        while true {
            if removeDone, let fast = try removeChunk(origin: origin, after: after, chunk: chunk) {
                after = fast.last
                if fast.taken < chunk { return left }
                continue
            }
            let claimed = try db.transaction { tx -> Int in
                let pending = try tx.query(Self.claim("id, storage_key"), [origin, after, chunk])
                var deleted: [Int64] = []
                for row in pending {
                    let id: Int64 = try row.decode(0)
                    let key: String = try row.decode(1)
                    after = id
                    if let error = deleteWithRetries(key) {
                        left += 1
                        try tx.query(
                            "UPDATE public.storage_outbox SET attempts = attempts + \(attempts), last_error = $2 WHERE id = $1",
                            [id, error])
                        logger.warning(
                            "storage object not deleted yet",
                            metadata: ["event": "outbox_delete_failed", "outbox_id": "\(id)", "origin": "\(origin)"])
                    } else {
                        deleted.append(id)
                    }
                }
                // Done entries are marked (or removed) in bulk: one statement per chunk.
                if !deleted.isEmpty && removeDone {
                    try tx.query(
                        "DELETE FROM public.storage_outbox WHERE id = ANY($1::bigint[])", [PostgresArray(deleted)])
                } else if !deleted.isEmpty {
                    try tx.query(
                        """
                        UPDATE public.storage_outbox SET deleted_at = now(), attempts = attempts + 1, last_error = NULL
                         WHERE id = ANY($1::bigint[])
                        """, [PostgresArray(deleted)])
                }
                return pending.count
            }
            if claimed < chunk { return left }
        }
    }

    /// Takes the next chunk and removes it in one statement, then deletes its objects, and
    /// commits only when every one is gone: the usual night, where nothing fails, costs one
    /// statement per chunk instead of a read and an update. Nil when an object could not be
    /// deleted: the chunk is given back whole (its deleted objects count as deleted when it is
    /// taken again) for the path that retries and records the error.
    private func removeChunk(origin: String, after: Int64, chunk: Int) throws -> (taken: Int, last: Int64)? {
        final class Refused: Error {}
        do {
            return try db.transaction { tx in
                // By ctid, so the delete cannot be planned as a scan of the whole outbox.
                let taken = try tx.query(
                    """
                    DELETE FROM public.storage_outbox WHERE ctid = ANY(ARRAY(\(Self.claim("ctid"))))
                    RETURNING id, storage_key
                    """, [origin, after, chunk])
                var last = after
                for row in taken {
                    last = max(last, try row.decode(0, as: Int64.self))
                    if deleteWithRetries(try row.decode(1, as: String.self), attempts: 1) != nil { throw Refused() }
                }
                return (taken.count, last)
            }
        } catch is Refused {
            return nil
        }
    }

    /// The next `chunk` pending entries of origin `$1` after id `$2`, locked for this
    /// transaction and skipped by other workers: the one claim both drain paths make, so they
    /// cannot come to take different entries.
    /// $1 origin, $2 the last id taken, $3 how many.
    private static func claim(_ columns: String) -> String {
        """
        SELECT \(columns) FROM public.storage_outbox
         WHERE origin = $1 AND deleted_at IS NULL AND id > $2
         ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED
        """
    }

    /// Nil when the object is gone (or was never there, or its key could not name one).
    private func deleteWithRetries(_ key: String, attempts: Int? = nil) -> String? {
        let attempts = attempts ?? self.attempts
        var lastError: String?
        for attempt in 1...attempts {
            do {
                try store.delete(key)
                return nil
            } catch StorageError.unsafeKey {
                return nil
            } catch {
                lastError = "\(error)"
                if attempt < attempts { Thread.sleep(forTimeInterval: backoff * Double(1 << (attempt - 1))) }
            }
        }
        return lastError
    }
}
