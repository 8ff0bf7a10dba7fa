/// A libarchive failure, naming the archive file and, where known, the entry.
public struct ArchiveError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let entry: String?
    public let message: String

    public var description: String {
        "archive \(path)" + (entry.map { " entry \($0)" } ?? "") + ": " + message
    }
}
