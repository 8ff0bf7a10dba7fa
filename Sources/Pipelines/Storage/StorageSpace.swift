import Foundation
import Runner

/// The free space a job needs before it writes to a filesystem store.
///
/// Checked before any work, so that a run does not number documents it cannot store. The
/// floor is `SAMIA_STORAGE_MIN_FREE_MB` (default 256 MiB, 0 turns the check off); a store
/// without a notion of free space (S3) always passes.
public enum StorageSpace {
    public static let defaultMinimumMiB: Int64 = 256

    /// The configured floor in bytes; a value that is not a whole number of MiB is a
    /// configuration error.
    public static func minimumBytes(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> Int64 {
        guard let text = env["SAMIA_STORAGE_MIN_FREE_MB"] else { return defaultMinimumMiB << 20 }
        guard let mib = Int64(text), mib >= 0, mib < (1 << 40) else {
            throw BatchError.configuration("SAMIA_STORAGE_MIN_FREE_MB=\(text) is not a whole number of MiB")
        }
        return mib << 20
    }

    /// Throws `StorageError.lowSpace` (exit 74) when `store` has less than the floor free.
    public static func require(_ store: any ObjectStore, _ env: [String: String] = ProcessInfo.processInfo.environment)
        throws
    {
        let minimum = try minimumBytes(env)
        guard minimum > 0, let available = try store.availableBytes(), available < minimum else { return }
        throw StorageError.lowSpace(store: store.displayName, available: available, required: minimum)
    }
}
