import Foundation
import Runner

/// Object storage as the pipelines need it: whole-object put/get/delete by key. The local
/// filesystem is the default; an S3-compatible store (Supabase Storage, MinIO) plugs in here.
public protocol ObjectStore: Sendable {
    /// Writes the object atomically: readers see the old object or the new one, never half.
    func put(_ key: String, data: [UInt8], contentType: String) throws
    /// The object's bytes, or nil if there is none.
    func get(_ key: String) throws -> [UInt8]?
    func exists(_ key: String) throws -> Bool
    /// Removes the object; a missing object counts as deleted.
    func delete(_ key: String) throws
    /// Where the store is, for logs (no credentials).
    var displayName: String { get }
    /// Stores a local file as the object, atomically, without holding it all in memory where
    /// the store can stream (large artefacts: finance ZIPs, DSR exports).
    func putFile(_ key: String, from path: String, contentType: String) throws
    /// Like `putFile`, but the local file is handed over: the store may take it as it is
    /// (a rename on the same filesystem) and it is gone afterwards.
    func moveFile(_ key: String, from path: String, contentType: String) throws
    /// Writes the object to a local file atomically; false if there is no such object.
    func getFile(_ key: String, to path: String) throws -> Bool
    /// Hands the object's bytes to `body` in chunks, without a local copy (exports copy media
    /// straight into the ZIP); false if there is no such object.
    func read(_ key: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool
    /// Like `read`, but each chunk is an array of its own that `body` may keep or pass to another
    /// thread without copying it (an export hands every media chunk to the ZIP's thread).
    func readChunks(_ key: String, _ body: ([UInt8]) throws -> Void) throws -> Bool
    /// Every object whose key starts with `prefix`, with when it was last written: the
    /// retention sweep compares them with the keys the database still names.
    func list(prefix: String, _ body: (_ key: String, _ modified: Date) throws -> Void) throws
    /// Bytes the store can still take, where it can tell (a filesystem); nil where it cannot
    /// (an S3 bucket has no such limit to check).
    func availableBytes() throws -> Int64?
    /// Removes what killed writers left behind under `prefix`; returns how many. Stores whose
    /// writes are atomic on the server (S3) leave nothing.
    func removeStaleTemporaries(prefix: String) throws -> Int
}

extension ObjectStore {
    public func availableBytes() throws -> Int64? { nil }

    public func removeStaleTemporaries(prefix: String) throws -> Int { 0 }

    public func putFile(_ key: String, from path: String, contentType: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StorageError.io(key: key, message: "cannot read \(path)")
        }
        try put(key, data: [UInt8](data), contentType: contentType)
    }

    public func moveFile(_ key: String, from path: String, contentType: String) throws {
        try putFile(key, from: path, contentType: contentType)
        unlink(path)
    }

    public func read(_ key: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        guard let bytes = try get(key) else { return false }
        try bytes.withUnsafeBytes(body)
        return true
    }

    public func readChunks(_ key: String, _ body: ([UInt8]) throws -> Void) throws -> Bool {
        try read(key) { try body(Array($0)) }
    }

    public func getFile(_ key: String, to path: String) throws -> Bool {
        guard let bytes = try get(key) else { return false }
        try LocalFile.writeAtomically(path, key: key) { write in try bytes.withUnsafeBytes(write) }
        return true
    }
}

public enum StorageError: Error, CustomStringConvertible, Equatable {
    case unsafeKey(String)
    case io(key: String, message: String)
    case notConfigured(String)
    /// A symbolic link below a filesystem store's root, at `at` on the way to `key`: refused,
    /// never followed, since it could lead anywhere on the host.
    case symlink(key: String, at: String)
    /// Less free space than `SAMIA_STORAGE_MIN_FREE_MB` before a job started: nothing was done.
    case lowSpace(store: String, available: Int64, required: Int64)
    /// The storage circuit breaker tripped: `consecutive` writes failed in a row.
    case failing(store: String, consecutive: Int, last: String)

    public var description: String {
        switch self {
        case .lowSpace(let store, let available, let required):
            "storage \(store) has \(available >> 20) MiB free, less than the \(required >> 20) MiB required "
                + "(SAMIA_STORAGE_MIN_FREE_MB); nothing was started: free space, then run again"
        case .failing(let store, let consecutive, let last):
            "storage \(store) failed \(consecutive) times in a row (last: \(last)); the run stopped (what it "
                + "committed stays, the next run carries on): fix the storage (disk full?), then run again"

        case .symlink(let key, let at):
            "storage \(key): \(at) is a symbolic link inside the storage root; refused (links are never followed)"
        case .unsafeKey(let key): "storage key \"\(key)\" is not a safe relative path"
        case .io(let key, let message): "storage \(key): \(message)"
        case .notConfigured(let m): m
        }
    }
}

/// Builds the configured store: an S3-compatible bucket when `SAMIA_S3_BUCKET` is set (with
/// `SAMIA_S3_ENDPOINT`, `SAMIA_S3_REGION` and the key pair), else `SAMIA_STORAGE_DIR` for the
/// local filesystem. Missing configuration is an error: documents are never "stored" nowhere.
public enum ObjectStores {
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws
        -> any ObjectStore
    {
        if let s3 = try S3ObjectStore.fromEnvironment(env) { return s3 }
        if let dir = env["SAMIA_STORAGE_DIR"], !dir.isEmpty { return try FileSystemObjectStore(root: dir) }
        throw StorageError.notConfigured(
            "no object storage configured: set SAMIA_STORAGE_DIR to a directory, or SAMIA_S3_BUCKET and its settings (see docs/operations.md)"
        )
    }

    /// The store a job writes to: any storage error here is a configuration error (exit 78)
    /// that names the setting, since no job can run without its store.
    public static func forJob(_ env: [String: String]) throws -> any ObjectStore {
        do { return try fromEnvironment(env) } catch let error as StorageError {
            throw BatchError.configuration(error.description)
        }
    }
}

extension StorageError: ExitStatusReporting {
    /// No store configured is configuration; a store that is full or keeps failing is an I/O
    /// error someone must mend (74); one object that fails is the job's failure.
    public var exitStatus: ExitStatus {
        switch self {
        case .notConfigured: return .configuration
        case .lowSpace, .failing: return .ioError
        default: return .failure
        }
    }
}
