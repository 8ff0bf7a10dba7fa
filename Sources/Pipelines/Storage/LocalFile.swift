import Foundation

/// Atomic local writes shared by the filesystem store and artefact downloads: a temporary file
/// beside the target, fsynced, then renamed, so a reader sees the old file or the new one.
public enum LocalFile {
    /// A fresh private directory under the system's temporary directory (or a fresh path for a
    /// file, with `create: false`), for work files that are removed when the work is done.
    public static func temporaryDirectory(_ prefix: String, create: Bool = true) throws -> String {
        let path = NSTemporaryDirectory() + "samia-\(prefix)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        if create { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        return path
    }

    /// Runs `body` with a writer that appends bytes to the temporary file, then renames it over
    /// `path`. `key` names the object in errors. `durable` false skips the fsync, for scratch
    /// files that a crash may lose.
    public static func writeAtomically(
        _ path: String, key: String, durable: Bool = true,
        _ body: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws {
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty {
            do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
                throw StorageError.io(key: key, message: "cannot create directory: \(error.localizedDescription)")
            }
        }
        let directory = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0 else { throw StorageError.io(key: key, message: String(cString: strerror(errno))) }
        defer { close(directory) }
        try writeAtomically(in: directory, name: (path as NSString).lastPathComponent, key: key, durable: durable, body)
    }

    /// The same inside an open `directory`: the temporary file is created there exclusively and
    /// without following a link, and renamed over `name` (a link of that name is replaced, never
    /// written through). A crash leaves at most a `NAME.tmp-*` file, which listings skip.
    static func writeAtomically(
        in directory: Int32, name: String, key: String, durable: Bool = true,
        _ body: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws {
        let tmp = name + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = openat(directory, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StorageError.io(key: key, message: String(cString: strerror(errno))) }
        do {
            try body { bytes in
                var offset = 0
                while offset < bytes.count {
                    let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                    if n < 0 { throw StorageError.io(key: key, message: String(cString: strerror(errno))) }
                    offset += n
                }
            }
            guard !durable || fsync(fd) == 0 else {
                throw StorageError.io(key: key, message: String(cString: strerror(errno)))
            }
        } catch {
            close(fd)
            unlinkat(directory, tmp, 0)
            throw error
        }
        close(fd)
        guard renameat(directory, tmp, directory, name) == 0 else {
            let message = String(cString: strerror(errno))
            unlinkat(directory, tmp, 0)
            throw StorageError.io(key: key, message: message)
        }
    }

    /// Streams a local file in chunks of up to 1 MiB.
    public static func stream(_ path: String, key: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        try chunks(path, key: key) { try $0.withUnsafeBytes(body) }
    }

    /// Streams a local file in chunks of up to 1 MiB, each read into a fresh array that is never
    /// zeroed first, so `body` owns it: an export's media chunks go to another thread as they are.
    static func chunks(_ path: String, key: String, _ body: ([UInt8]) throws -> Void) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StorageError.io(key: key, message: "\(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        try chunks(fd: fd, name: path, key: key, body)
    }

    /// The same from an open file, which stays open.
    static func chunks(fd: Int32, name: String, key: String, _ body: ([UInt8]) throws -> Void) throws {
        let path = name
        // No bigger than the file (at least a page): an export streams a thousand objects of a
        // few hundred kilobytes, and a megabyte for each would be mostly unused.
        var info = stat()
        let size = fstat(fd, &info) == 0 ? Int(info.st_size) : 0
        let capacity = min(1 << 20, max(4096, size))
        while true {
            var failed: Int32 = 0
            let chunk = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
                let n = Glibc.read(fd, buffer.baseAddress!, capacity)
                if n < 0 { failed = errno }
                count = max(n, 0)
            }
            if failed != 0 {
                throw StorageError.io(key: key, message: "\(path): \(String(cString: strerror(failed)))")
            }
            if chunk.isEmpty { return }
            try body(chunk)
        }
    }
}
