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
        let target = try path(key)
        let dir = (target as NSString).deletingLastPathComponent
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw StorageError.io(key: key, message: "cannot create directory: \(error.localizedDescription)")
        }
        let tmp = target + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o640)
        guard fd >= 0 else { throw StorageError.io(key: key, message: String(cString: strerror(errno))) }
        var offset = 0
        while offset < data.count {
            let n = data.withUnsafeBytes { write(fd, $0.baseAddress! + offset, data.count - offset) }
            if n < 0 {
                let message = String(cString: strerror(errno))
                close(fd)
                unlink(tmp)
                throw StorageError.io(key: key, message: message)
            }
            offset += n
        }
        fsync(fd)
        close(fd)
        guard rename(tmp, target) == 0 else {
            let message = String(cString: strerror(errno))
            unlink(tmp)
            throw StorageError.io(key: key, message: message)
        }
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
}
