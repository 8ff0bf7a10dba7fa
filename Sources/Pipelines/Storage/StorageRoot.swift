import Foundation

/// The directory a filesystem store keeps its objects in, walked one component at a time with
/// `openat(…, O_NOFOLLOW)` so that no key ever reaches outside it.
///
/// A key is already a safe relative path (`EntryName.isSafe`), but a symlink planted inside
/// the root (`media → /etc`) would still carry a plain path elsewhere: retention would delete
/// and an export would copy files that are not ours. Every directory of a key and the object
/// itself are therefore opened relative to their parent without following links; a symlink
/// anywhere below the root is refused and named (`StorageError.symlink`), never followed. The
/// root itself may be a link (an operator's mount point): it is configuration, not data.
struct StorageRoot {
    let path: String

    /// Runs `body` with the open directory that holds `key`'s last component and that
    /// component's name. Missing directories are made when `create` is set; otherwise the
    /// result is nil (no such object).
    func withParent<T>(of key: String, create: Bool, _ body: (_ directory: Int32, _ name: String) throws -> T)
        throws -> T?
    {
        var components = key.split(separator: "/").map(String.init)
        guard let name = components.popLast() else { throw StorageError.unsafeKey(key) }
        guard let directory = try openDirectory(components, key: key, create: create) else { return nil }
        defer { close(directory) }
        return try body(directory, name)
    }

    /// Opens the directory `components` below the root, each without following a link.
    func openDirectory(_ components: [String], key: String, create: Bool) throws -> Int32? {
        var current = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard current >= 0 else { throw StorageError.io(key: key, message: "\(path): \(Self.errorText())") }
        for (index, component) in components.enumerated() {
            var next = openat(current, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if next < 0 && errno == ENOENT && create {
                if mkdirat(current, component, 0o750) != 0 && errno != EEXIST {
                    let message = Self.errorText()
                    close(current)
                    throw StorageError.io(key: key, message: message)
                }
                next = openat(current, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            }
            let failure = errno
            if next < 0 {
                let isLink = Self.isSymlink(current, component)
                close(current)
                if isLink { throw StorageError.symlink(key: key, at: components[...index].joined(separator: "/")) }
                if failure == ENOENT { return nil }
                throw StorageError.io(key: key, message: String(cString: strerror(failure)))
            }
            close(current)
            current = next
        }
        return current
    }

    /// Opens the object itself for reading, refusing a link; nil when there is none.
    func openObject(_ key: String) throws -> Int32? {
        let fd: Int32?? = try withParent(of: key, create: false) { directory, name in
            let fd = openat(directory, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            if fd >= 0 { return fd }
            let failure = errno
            if Self.isSymlink(directory, name) { throw StorageError.symlink(key: key, at: key) }
            if failure == ENOENT { return nil }
            throw StorageError.io(key: key, message: String(cString: strerror(failure)))
        }
        return fd.flatMap { $0 }
    }

    /// The kind of entry `key` is (`S_IFREG`, …) without following a link; nil when absent.
    func entryType(_ key: String) throws -> mode_t? {
        let type: mode_t?? = try withParent(of: key, create: false) { directory, name in
            var info = stat()
            guard fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
                if errno == ENOENT { return nil }
                throw StorageError.io(key: key, message: Self.errorText())
            }
            return info.st_mode & S_IFMT
        }
        return type.flatMap { $0 }
    }

    static func isSymlink(_ directory: Int32, _ name: String) -> Bool {
        var info = stat()
        return fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0 && info.st_mode & S_IFMT == S_IFLNK
    }

    static func errorText() -> String { String(cString: strerror(errno)) }
}
