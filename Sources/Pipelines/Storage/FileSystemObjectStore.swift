import Foundation
import Reports

/// Objects as files under a root directory; keys are relative paths with `/` separators.
/// Writes go to a temporary file, are fsynced, then renamed into place.
public struct FileSystemObjectStore: ObjectStore {
    public let root: String

    public init(root: String) throws {
        self.root = root.hasSuffix("/") ? String(root.dropLast()) : root
        do {
            try FileManager.default.createDirectory(atPath: self.root, withIntermediateDirectories: true)
        } catch {
            throw StorageError.notConfigured(
                "storage directory \(root) cannot be created: \(error.localizedDescription)")
        }
    }

    public var displayName: String { "file://\(root)" }

    func path(_ key: String) throws -> String {
        guard EntryName.isSafe(key), !key.hasSuffix("/") else { throw StorageError.unsafeKey(key) }
        return root + "/" + key
    }

    public func put(_ key: String, data: [UInt8], contentType: String) throws {
        try LocalFile.writeAtomically(try path(key), key: key) { write in try data.withUnsafeBytes(write) }
    }

    public func putFile(_ key: String, from source: String, contentType: String) throws {
        try LocalFile.writeAtomically(try path(key), key: key) { write in
            try LocalFile.stream(source, key: key, write)
        }
    }

    /// On the same filesystem a rename: no second copy of a large export is written (the file
    /// was fsynced by whoever wrote it). Across filesystems, a copy, then the source is removed.
    public func moveFile(_ key: String, from source: String, contentType: String) throws {
        let target = try path(key)
        try? FileManager.default.createDirectory(
            atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        if rename(source, target) == 0 { return }
        guard errno == EXDEV else { throw StorageError.io(key: key, message: String(cString: strerror(errno))) }
        try putFile(key, from: source, contentType: contentType)
        unlink(source)
    }

    public func getFile(_ key: String, to target: String) throws -> Bool {
        let p = try path(key)
        guard FileManager.default.fileExists(atPath: p) else { return false }
        try LocalFile.writeAtomically(target, key: key) { write in try LocalFile.stream(p, key: key, write) }
        return true
    }

    public func read(_ key: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        let p = try path(key)
        guard FileManager.default.fileExists(atPath: p) else { return false }
        try LocalFile.stream(p, key: key, body)
        return true
    }

    public func readChunks(_ key: String, _ body: ([UInt8]) throws -> Void) throws -> Bool {
        let p = try path(key)
        guard FileManager.default.fileExists(atPath: p) else { return false }
        try LocalFile.chunks(p, key: key, body)
        return true
    }

    public func get(_ key: String) throws -> [UInt8]? {
        let p = try path(key)
        guard FileManager.default.fileExists(atPath: p) else { return nil }
        guard let data = FileManager.default.contents(atPath: p) else {
            throw StorageError.io(key: key, message: "cannot read")
        }
        return [UInt8](data)
    }

    public func exists(_ key: String) throws -> Bool { FileManager.default.fileExists(atPath: try path(key)) }

    public func delete(_ key: String) throws {
        let p = try path(key)
        if unlink(p) != 0 && errno != ENOENT {
            throw StorageError.io(key: key, message: String(cString: strerror(errno)))
        }
    }

    /// Walks the folder under `prefix`; files still being written (`*.tmp-*`) are skipped.
    public func list(prefix: String, _ body: (_ key: String, _ modified: Date) throws -> Void) throws {
        guard EntryName.isSafe(prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix) else {
            throw StorageError.unsafeKey(prefix)
        }
        let folder = prefix.hasSuffix("/") ? prefix : (prefix as NSString).deletingLastPathComponent + "/"
        let base = root + "/" + (folder == "/" ? "" : folder)
        guard FileManager.default.fileExists(atPath: base), let walker = FileManager.default.enumerator(atPath: base)
        else { return }
        while let relative = walker.nextObject() as? String {
            var info = stat()
            guard lstat(base + relative, &info) == 0, info.st_mode & S_IFMT == S_IFREG,
                !relative.contains(".tmp-")
            else { continue }
            let key = (folder == "/" ? "" : folder) + relative
            guard key.hasPrefix(prefix) else { continue }
            try body(key, Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec)))
        }
    }
}
