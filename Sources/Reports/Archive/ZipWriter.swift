import CArchive
import Crypto
import Foundation

/// Writes a ZIP file with libarchive, atomically: entries go to a temporary file beside the
/// target, which is renamed over it only by `commit()`. A crash or error leaves no partial ZIP.
public final class ZipWriter {
    private var archive: OpaquePointer?
    public let path: String
    private let temporaryPath: String
    private var entryOpen: String?
    private var committed = false
    /// Entry names already written, to refuse duplicates.
    private var names = Set<String>()
    /// The temporary file, written through a callback that hashes every byte on its way, so the
    /// finished ZIP's SHA-256 is known without reading it back.
    private let sink: HashingSink
    /// After `commit()`: the ZIP's SHA-256 (lower-case hex) and size.
    public private(set) var sha256: String?
    public private(set) var bytes: Int64 = 0

    /// - Parameters:
    ///   - passphrase: when set, entries are encrypted with AES-256 (WinZip AE-2), readable by
    ///     7-Zip and bsdtar.
    ///   - compressionLevel: deflate level 1–9; nil keeps libarchive's default (6); 0 stores every
    ///     entry as it is. Level 1 keeps a ZIP of large CSVs streaming at about the speed
    ///     PostgreSQL's `COPY` produces them; 0 suits archives of already-compressed media.
    ///     libarchive takes the option only before the archive opens, so it holds for all entries.
    public init(path: String, passphrase: String? = nil, compressionLevel: Int? = nil) throws {
        self.path = path
        self.temporaryPath = path + ".tmp-\(getpid())"
        let fd = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else {
            throw ArchiveError(path: path, entry: nil, message: "cannot create: \(String(cString: strerror(errno)))")
        }
        sink = HashingSink(fd: fd)
        guard let a = archive_write_new() else {
            sink.close()
            unlink(temporaryPath)
            throw ArchiveError(path: path, entry: nil, message: "out of memory")
        }
        archive = a
        archive_write_set_format_zip(a)
        if let compressionLevel {
            let option = compressionLevel == 0 ? "zip:compression=store" : "zip:compression-level=\(compressionLevel)"
            guard (0...9).contains(compressionLevel), archive_write_set_options(a, option) == ARCHIVE_OK
            else { throw failure(nil) }
        }
        if let passphrase {
            guard archive_write_set_options(a, "zip:encryption=aes256") == ARCHIVE_OK,
                archive_write_set_passphrase(a, passphrase) == ARCHIVE_OK
            else { throw failure(nil) }
        }
        // No blocking: libarchive would pad the last block with zeros after the ZIP's end.
        archive_write_set_bytes_per_block(a, 0)
        guard
            archive_write_open2(
                a, Unmanaged.passUnretained(sink).toOpaque(), nil, zipWriteCallback, zipCloseCallback, nil)
                == ARCHIVE_OK
        else { throw failure(nil) }
    }

    deinit {
        if let archive { archive_write_free(archive) }
        sink.close()
        if !committed { unlink(temporaryPath) }
    }

    /// Adds a whole entry from memory.
    public func add(_ name: String, data: [UInt8], modified: Date = Date(timeIntervalSince1970: 0)) throws {
        try begin(name, size: Int64(data.count), modified: modified)
        try write(data)
        try end()
    }

    /// Adds a file from disk, streaming it in chunks.
    public func addFile(_ name: String, from source: String, modified: Date = Date(timeIntervalSince1970: 0)) throws {
        guard let handle = FileHandle(forReadingAtPath: source) else {
            throw ArchiveError(path: path, entry: name, message: "cannot read \(source)")
        }
        defer { try? handle.close() }
        let size = (try? FileManager.default.attributesOfItem(atPath: source)[.size] as? Int64) ?? nil
        try begin(name, size: size, modified: modified)
        while let chunk = try handle.read(upToCount: 1 << 16), !chunk.isEmpty {
            try write([UInt8](chunk))
        }
        try end()
    }

    /// Starts an entry whose bytes follow through `write`; `size` nil streams with a data descriptor.
    public func begin(_ name: String, size: Int64?, modified: Date = Date(timeIntervalSince1970: 0)) throws {
        precondition(entryOpen == nil, "previous entry not ended")
        guard EntryName.isSafe(name) else {
            throw ArchiveError(path: path, entry: name, message: "unsafe entry name")
        }
        guard names.insert(name).inserted else {
            throw ArchiveError(path: path, entry: name, message: "duplicate entry name")
        }
        let entry = archive_entry_new()
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname_utf8(entry, name)
        archive_entry_set_filetype(entry, samia_ae_ifreg())
        archive_entry_set_perm(entry, 0o644)
        archive_entry_set_mtime(entry, time_t(modified.timeIntervalSince1970), 0)
        if let size { archive_entry_set_size(entry, size) } else { archive_entry_unset_size(entry) }
        guard archive_write_header(archive, entry) == ARCHIVE_OK else { throw failure(name) }
        entryOpen = name
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !bytes.isEmpty else { return }
        let written = archive_write_data(archive, bytes.baseAddress, bytes.count)
        guard written == bytes.count else { throw failure(entryOpen) }
    }

    public func end() throws {
        guard archive_write_finish_entry(archive) == ARCHIVE_OK else { throw failure(entryOpen) }
        entryOpen = nil
    }

    /// Finishes the archive, flushes it to disk and renames it into place.
    public func commit() throws {
        guard archive_write_close(archive) == ARCHIVE_OK else { throw failure(nil) }
        archive_write_free(archive)
        archive = nil
        if let code = sink.stopFlushing() {
            throw ArchiveError(
                path: path, entry: nil, message: "flushing to disk failed: \(String(cString: strerror(code)))")
        }
        guard fsync(sink.fd) == 0 else {
            throw ArchiveError(path: path, entry: nil, message: "fsync failed: \(String(cString: strerror(errno)))")
        }
        sink.close()
        sha256 = sink.hasher.finalize().map { String(format: "%02x", $0) }.joined()
        bytes = sink.bytes
        guard rename(temporaryPath, path) == 0 else {
            throw ArchiveError(path: path, entry: nil, message: "rename failed: \(String(cString: strerror(errno)))")
        }
        committed = true
    }

    private func failure(_ entry: String?) -> ArchiveError {
        let text = archive.flatMap { archive_error_string($0) }.map { String(cString: $0) } ?? "libarchive error"
        return ArchiveError(path: path, entry: entry, message: text)
    }
}

/// The ZIP's bytes on their way to the temporary file.
final class HashingSink {
    let fd: Int32
    var hasher = SHA256()
    var bytes: Int64 = 0
    private var closed = false
    /// Where the writeback already asked for ends.
    private var writebackStart: Int64 = 0
    /// How many written bytes are handed to the disk at a time. Without it the kernel keeps a big
    /// ZIP's pages dirty until `commit()`'s fsync, which then writes them all while nothing else
    /// happens: a third of a 200 MB export's time on a disk of 450 MB/s.
    static let writebackWindow: Int64 = 8 << 20
    /// Started with the first full window, so a small ZIP gets no thread.
    private var flusher: DiskFlusher?

    init(fd: Int32) { self.fd = fd }

    /// Counts and hashes `length` bytes just written, and starts writing the last window out.
    func wrote(_ buffer: UnsafeRawPointer, _ length: Int) {
        hasher.update(bufferPointer: UnsafeRawBufferPointer(start: buffer, count: length))
        bytes += Int64(length)
        if bytes - writebackStart >= Self.writebackWindow {
            _ = samia_start_writeback(fd, writebackStart, bytes - writebackStart)
            writebackStart = bytes
            if flusher == nil { flusher = DiskFlusher(fd: fd) }
            flusher?.flushSoon()
        }
    }

    /// Waits for the flusher's last flush; the `errno` of a failed one, which the final `fsync`
    /// would no longer report.
    func stopFlushing() -> Int32? {
        flusher?.stop()
    }

    func close() {
        guard !closed else { return }
        closed = true
        _ = stopFlushing()
        Glibc.close(fd)
    }
}

private let zipWriteCallback: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafeRawPointer?, Int) -> Int =
    {
        _, context, buffer, length in
        guard let context, let buffer else { return -1 }
        let sink = Unmanaged<HashingSink>.fromOpaque(context).takeUnretainedValue()
        var offset = 0
        while offset < length {
            let n = Glibc.write(sink.fd, buffer + offset, length - offset)
            if n < 0 {
                if errno == EINTR { continue }
                return -1
            }
            offset += n
        }
        sink.wrote(buffer, length)
        return length
    }

private let zipCloseCallback: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?) -> Int32 = { _, _ in ARCHIVE_OK
}
