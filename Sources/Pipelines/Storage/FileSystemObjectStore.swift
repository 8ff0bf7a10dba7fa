import Foundation
import Reports

/// Objects as files under a root directory; keys are relative paths with `/` separators.
/// Writes go to a temporary file, are fsynced, then renamed into place. Every path is opened
/// relative to the root without following symbolic links (`StorageRoot`), so no key reaches
/// outside it.
public struct FileSystemObjectStore: ObjectStore {
    public let root: String

    /// Opens the store at `root`. The directory itself is made if its parent exists (a fresh
    /// install); a missing parent is far more likely a mistyped path than a wish for a new
    /// tree, so it is refused rather than silently created.
    public init(root: String) throws {
        self.root = root.hasSuffix("/") ? String(root.dropLast()) : root
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: self.root, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw StorageError.notConfigured("storage directory \(root) is not a directory")
            }
            return
        }
        let parent = (self.root as NSString).deletingLastPathComponent
        guard FileManager.default.fileExists(atPath: parent.isEmpty ? "." : parent) else {
            throw StorageError.notConfigured(
                "storage directory \(root) does not exist, nor does its parent \(parent): check the path (it is not created)"
            )
        }
        guard mkdir(self.root, 0o750) == 0 || errno == EEXIST else {
            throw StorageError.notConfigured(
                "storage directory \(root) cannot be created: \(String(cString: strerror(errno)))")
        }
    }

    public var displayName: String { "file://\(root)" }

    /// What an unprivileged writer may still use (`f_bavail`): the root's reserved blocks are
    /// not ours to count on.
    public func availableBytes() throws -> Int64? {
        var info = statvfs()
        guard statvfs(root, &info) == 0 else {
            throw StorageError.io(key: "", message: "statvfs \(root): \(String(cString: strerror(errno)))")
        }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }

    var tree: StorageRoot { StorageRoot(path: root) }

    func checked(_ key: String) throws -> String {
        guard EntryName.isSafe(key), !key.hasSuffix("/") else { throw StorageError.unsafeKey(key) }
        return key
    }

    public func put(_ key: String, data: [UInt8], contentType: String) throws {
        _ = try tree.withParent(of: try checked(key), create: true) { directory, name in
            try LocalFile.writeAtomically(in: directory, name: name, key: key) { write in
                try data.withUnsafeBytes(write)
            }
        }
    }

    public func putFile(_ key: String, from source: String, contentType: String) throws {
        _ = try tree.withParent(of: try checked(key), create: true) { directory, name in
            try LocalFile.writeAtomically(in: directory, name: name, key: key) { write in
                try LocalFile.stream(source, key: key, write)
            }
        }
    }

    /// On the same filesystem a rename: no second copy of a large export is written (the file
    /// was fsynced by whoever wrote it). Across filesystems, a copy, then the source is removed.
    public func moveFile(_ key: String, from source: String, contentType: String) throws {
        let renamed = try tree.withParent(of: try checked(key), create: true) { directory, name -> Bool in
            if renameat(AT_FDCWD, source, directory, name) == 0 { return true }
            guard errno == EXDEV else { throw StorageError.io(key: key, message: String(cString: strerror(errno))) }
            return false
        }
        if renamed == true { return }
        try putFile(key, from: source, contentType: contentType)
        unlink(source)
    }

    public func getFile(_ key: String, to target: String) throws -> Bool {
        guard let fd = try tree.openObject(try checked(key)) else { return false }
        defer { close(fd) }
        try LocalFile.writeAtomically(target, key: key) { write in
            try LocalFile.chunks(fd: fd, name: key, key: key) { chunk in try chunk.withUnsafeBytes(write) }
        }
        return true
    }

    public func read(_ key: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        try readChunks(key) { chunk in try chunk.withUnsafeBytes(body) }
    }

    public func readChunks(_ key: String, _ body: ([UInt8]) throws -> Void) throws -> Bool {
        guard let fd = try tree.openObject(try checked(key)) else { return false }
        defer { close(fd) }
        try LocalFile.chunks(fd: fd, name: key, key: key, body)
        return true
    }

    public func get(_ key: String) throws -> [UInt8]? {
        var bytes: [UInt8] = []
        return try readChunks(key) { bytes += $0 } ? bytes : nil
    }

    public func exists(_ key: String) throws -> Bool {
        switch try tree.entryType(try checked(key)) {
        case nil: return false
        case S_IFLNK: throw StorageError.symlink(key: key, at: key)
        default: return true
        }
    }

    /// Removes the object; a link of its name is refused (and reported), not removed, so an
    /// operator sees what was planted.
    public func delete(_ key: String) throws {
        _ = try tree.withParent(of: try checked(key), create: false) { directory, name in
            if StorageRoot.isSymlink(directory, name) { throw StorageError.symlink(key: key, at: key) }
            if unlinkat(directory, name, 0) != 0 && errno != ENOENT {
                throw StorageError.io(key: key, message: String(cString: strerror(errno)))
            }
        }
    }

    /// Walks the folder under `prefix`; files still being written (`*.tmp-*`) are skipped, and
    /// a symbolic link anywhere below it is refused (the sweep must not judge what it points at).
    public func list(prefix: String, _ body: (_ key: String, _ modified: Date) throws -> Void) throws {
        guard EntryName.isSafe(prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix) else {
            throw StorageError.unsafeKey(prefix)
        }
        let folder = prefix.hasSuffix("/") ? prefix : (prefix as NSString).deletingLastPathComponent + "/"
        let components = folder.split(separator: "/").map(String.init)
        guard let directory = try tree.openDirectory(components, key: prefix, create: false) else { return }
        close(directory)
        let base = root + "/" + (folder == "/" ? "" : folder)
        guard let walker = FileManager.default.enumerator(atPath: base) else { return }
        while let relative = walker.nextObject() as? String {
            var info = stat()
            guard lstat(base + relative, &info) == 0 else { continue }
            let key = (folder == "/" ? "" : folder) + relative
            if info.st_mode & S_IFMT == S_IFLNK { throw StorageError.symlink(key: key, at: key) }
            guard info.st_mode & S_IFMT == S_IFREG, !relative.contains(".tmp-"), key.hasPrefix(prefix) else { continue }
            try body(key, Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec)))
        }
    }

    /// Removes the temporary files a killed writer left under `prefix` (`NAME.tmp-PID-RANDOM`):
    /// those whose process is gone from this host, or that are older than a day (a writer on
    /// another host sharing the store). Returns how many were removed.
    public func removeStaleTemporaries(prefix: String) throws -> Int {
        let base = root + "/" + prefix
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: base, isDirectory: &isDirectory), isDirectory.boolValue,
            let walker = FileManager.default.enumerator(atPath: base)
        else { return 0 }
        var removed = 0
        let dayAgo = Date().timeIntervalSince1970 - 86_400
        while let relative = walker.nextObject() as? String {
            let name = (relative as NSString).lastPathComponent
            guard let marker = name.range(of: ".tmp-", options: .backwards) else { continue }
            var info = stat()
            guard lstat(base + "/" + relative, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
            let pid = name[marker.upperBound...].split(separator: "-").first.flatMap { Int32($0) } ?? 0
            let gone = pid <= 0 || (kill(pid, 0) == -1 && errno == ESRCH)
            guard gone || TimeInterval(info.st_mtim.tv_sec) < dayAgo, !Self.crossesLink(base, relative) else {
                continue
            }
            if unlink(base + "/" + relative) == 0 { removed += 1 }
        }
        return removed
    }

    /// True when a directory on the way from `base` to `relative` is a symbolic link: nothing is
    /// ever removed through one (it could lead outside the root).
    static func crossesLink(_ base: String, _ relative: String) -> Bool {
        var path = base
        for component in relative.split(separator: "/").dropLast() {
            path += "/" + component
            var info = stat()
            if lstat(path, &info) != 0 || info.st_mode & S_IFMT == S_IFLNK { return true }
        }
        return false
    }
}
