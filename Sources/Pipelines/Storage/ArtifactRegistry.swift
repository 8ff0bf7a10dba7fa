import Foundation
import Postgres
import Reports

/// One stored version of a signed artefact, as `batch_artifacts` records it.
public struct ArtifactRecord: Sendable, Equatable {
    public let id: Int64
    public let kind: String
    public let partition: String
    public let version: Int
    public let storageKey: String
    public let fileName: String
    public let sha256: String
    public let bytes: Int64
    public let runID: Int64?
    public let createdAt: Date
}

/// Versioned artefacts in object storage with a row each in `batch_artifacts`.
///
/// A new version never replaces an old one: finance may already have filed the earlier ZIP.
/// The object is stored before its row commits, so a row never points at a missing object;
/// a crash in between leaves an unrecorded object that the next attempt's write replaces
/// (same key), never a record a reader could trip on.
public struct ArtifactRegistry {
    public let connection: Connection
    public let store: any ObjectStore

    public init(connection: Connection, store: any ObjectStore) {
        self.connection = connection
        self.store = store
    }

    /// The version the next `record` of (kind, partition) will get, for names and summaries
    /// written before the artefact is stored.
    public func nextVersion(kind: String, partition: String) throws -> Int {
        Int(
            try connection.scalar(
                "SELECT coalesce(max(version), 0)::bigint + 1 FROM public.batch_artifacts WHERE kind = $1 AND partition_key = $2",
                [kind, partition], as: Int64.self)!)
    }

    /// Stores `localPath` as `version` of (kind, partition) and records it. A version already
    /// recorded is refused (unique key), never replaced.
    /// `digest` is the file's SHA-256 and size when the writer already knows them.
    /// With `consume`, the local file is handed to the store (moved when it can be) instead of
    /// copied: for temporary files only, never a file the user asked for with `--out`.
    public func record(
        kind: String, partition: String, version: Int, localPath: String, fileName: String,
        parameters: [String: String], runID: Int64?, consume: Bool = false,
        digest: (sha256: String, bytes: Int64)? = nil
    ) throws -> ArtifactRecord {
        // A digest computed while the file was written (ZipWriter's) spares reading it again.
        var hasher = SHA256Stream()
        var bytes: Int64 = 0
        if digest == nil {
            try LocalFile.stream(localPath, key: fileName) { chunk in
                hasher.update(chunk)
                bytes += Int64(chunk.count)
            }
        }
        let sha = digest?.sha256 ?? hasher.finalize()
        if let digest { bytes = digest.bytes }
        let json = String(
            decoding: try JSONSerialization.data(withJSONObject: parameters, options: [.sortedKeys]), as: UTF8.self)
        return try connection.transaction { tx in
            let key = "artifacts/\(kind)/\(partition)/v\(version)/\(fileName)"
            // The row first: its unique key makes a concurrent writer of the same version wait,
            // then fail, before either touches the object. The object is written before commit.
            let rows = try tx.query(
                """
                INSERT INTO public.batch_artifacts (kind, partition_key, version, storage_key, file_name, sha256, bytes, run_id, parameters)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)
                RETURNING \(Self.columns)
                """, [kind, partition, version, key, fileName, sha, bytes, runID, json])
            if consume {
                try store.moveFile(key, from: localPath, contentType: "application/zip")
            } else {
                try store.putFile(key, from: localPath, contentType: "application/zip")
            }
            return try Self.decode(rows[0])
        }
    }

    /// Every version, newest first, optionally of one kind and partition.
    public func list(kind: String? = nil, partition: String? = nil) throws -> [ArtifactRecord] {
        try connection.query(
            """
            SELECT \(Self.columns) FROM public.batch_artifacts
             WHERE ($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR partition_key = $2)
             ORDER BY kind, partition_key DESC, version DESC
            """, [kind, partition]
        ).map(Self.decode)
    }

    public func find(id: Int64) throws -> ArtifactRecord? {
        let rows = try connection.query("SELECT \(Self.columns) FROM public.batch_artifacts WHERE id = $1", [id])
        return try rows.count == 0 ? nil : Self.decode(rows[0])
    }

    /// The given version, or the latest one when `version` is nil.
    public func find(kind: String, partition: String, version: Int?) throws -> ArtifactRecord? {
        let rows = try connection.query(
            """
            SELECT \(Self.columns) FROM public.batch_artifacts
             WHERE kind = $1 AND partition_key = $2 AND ($3::integer IS NULL OR version = $3)
             ORDER BY version DESC LIMIT 1
            """, [kind, partition, version])
        return try rows.count == 0 ? nil : Self.decode(rows[0])
    }

    /// Copies the artefact to `path` and checks its SHA-256 against the record; a mismatch
    /// removes the copy and is an error, so a damaged object never reaches finance silently.
    /// Copies the artefact to `path`, hashing as it streams: a copy whose SHA-256 differs from
    /// the record is never renamed into place, so `path` holds the checked file or what it held
    /// before.
    public func download(_ record: ArtifactRecord, to path: String) throws {
        let key = record.storageKey
        try LocalFile.writeAtomically(path, key: key) { write in
            var hasher = SHA256Stream()
            let found = try store.read(key) { chunk in
                hasher.update(chunk)
                try write(chunk)
            }
            guard found else { throw StorageError.io(key: key, message: "object is missing from \(store.displayName)") }
            let sha = hasher.finalize()
            guard sha == record.sha256 else {
                throw StorageError.io(key: key, message: "SHA-256 is \(sha), but the record says \(record.sha256)")
            }
        }
    }

    /// `fileName` as a plain name for the local disk: the database's value is data, so a path
    /// (`../../etc/cron.d/x`), a hidden name or control characters in it must not decide where
    /// a file lands. Keeps letters, digits, `.`, `-` and `_`; never empty, never starts with `.`.
    public static func localName(_ fileName: String, id: Int64) -> String {
        let last = fileName.split(separator: "/").last.map(String.init) ?? ""
        let kept = String(
            last.unicodeScalars.map { scalar -> Character in
                scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || "._-".unicodeScalars.contains(scalar))
                    ? Character(scalar) : "_"
            })
        let name = String(kept.drop { $0 == "." }.prefix(200))
        return name.isEmpty ? "artifact-\(id)" : name
    }

    static let columns =
        "id, kind, partition_key, version, storage_key, file_name, sha256, bytes, run_id, created_at"

    static func decode(_ row: Row) throws -> ArtifactRecord {
        ArtifactRecord(
            id: try row.decode("id"), kind: try row.decode("kind"), partition: try row.decode("partition_key"),
            version: Int(try row.decode("version") as Int32), storageKey: try row.decode("storage_key"),
            fileName: try row.decode("file_name"), sha256: try row.decode("sha256"), bytes: try row.decode("bytes"),
            runID: try row.decodeOptional("run_id"), createdAt: try row.decode("created_at"))
    }
}
