import Foundation
import Runner

/// Stops a run whose store keeps failing.
///
/// A full disk or a store that went away fails every write that follows: without a breaker a
/// run would go on numbering and failing thousands of documents, each one logged and recorded,
/// and end hours later as a wall of identical failures. After `limit` storage failures in a
/// row (no success between them) the run stops with `StorageError.failing` (exit 74); what it
/// committed stays committed and the next run carries on where it stopped.
public struct StorageBreaker: Sendable {
    public let limit: Int
    public private(set) var consecutive = 0

    public init(limit: Int = 5) {
        self.limit = limit
    }

    /// `SAMIA_STORAGE_FAILURE_LIMIT` (default 5): a value that is not a positive whole number is
    /// a configuration error, never a breaker that cannot trip.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws
        -> StorageBreaker
    {
        guard let text = env["SAMIA_STORAGE_FAILURE_LIMIT"] else { return StorageBreaker() }
        guard let limit = Int(text), limit > 0 else {
            throw BatchError.configuration("SAMIA_STORAGE_FAILURE_LIMIT=\(text) is not a positive whole number")
        }
        return StorageBreaker(limit: limit)
    }

    public mutating func succeeded() { consecutive = 0 }

    /// Counts `error` if it came from the store; throws `StorageError.failing` once `limit`
    /// store failures have come in a row. Other errors (a document that cannot be rendered)
    /// neither count nor reset the count.
    public mutating func failed(_ error: any Error, store: any ObjectStore) throws {
        guard let storage = error as? StorageError else { return }
        consecutive += 1
        if consecutive >= limit {
            throw StorageError.failing(store: store.displayName, consecutive: consecutive, last: storage.description)
        }
    }
}
