import CArchive
import Foundation

/// Reads the entries of an archive (ZIP, tar, any format libarchive knows).
public enum ArchiveReader {
    /// Calls `body` with each regular entry's name and contents, in archive order.
    public static func forEachEntry(
        in path: String, passphrase: String? = nil, _ body: (String, [UInt8]) throws -> Void
    ) throws {
        guard let a = archive_read_new() else { throw ArchiveError(path: path, entry: nil, message: "out of memory") }
        defer { archive_read_free(a) }
        archive_read_support_format_all(a)
        archive_read_support_filter_all(a)
        if let passphrase { archive_read_add_passphrase(a, passphrase) }
        guard archive_read_open_filename(a, path, 1 << 16) == ARCHIVE_OK else {
            throw ArchiveError(path: path, entry: nil, message: String(cString: archive_error_string(a)))
        }
        var entry: OpaquePointer?
        while true {
            let status = archive_read_next_header(a, &entry)
            if status == ARCHIVE_EOF { break }
            guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry else {
                throw ArchiveError(path: path, entry: nil, message: String(cString: archive_error_string(a)))
            }
            let name = archive_entry_pathname_utf8(entry).map { String(cString: $0) } ?? ""
            guard archive_entry_filetype(entry) == samia_ae_ifreg() else { continue }
            var data = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = buffer.withUnsafeMutableBytes { archive_read_data(a, $0.baseAddress, $0.count) }
                if n == 0 { break }
                guard n > 0 else {
                    throw ArchiveError(path: path, entry: name, message: String(cString: archive_error_string(a)))
                }
                data.append(contentsOf: buffer[0..<n])
            }
            try body(name, data)
        }
    }
}
