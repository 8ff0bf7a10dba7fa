@testable import Storage
import Foundation
import Testing

/// The local store's chunked reads, which an export hands to the ZIP's thread without copying:
/// every chunk must be an array of its own (kept chunks stay intact while later ones are read),
/// together exactly the file, and a missing or unsafe key must not look like an empty object.
@Suite("File-system object store")
struct FileSystemObjectStoreTests {
    @Test func chunksAreTheWholeFileAndEachIsItsOwn() throws {
        let root = NSTemporaryDirectory() + "samia-fs-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try FileSystemObjectStore(root: root)
        // 2.5 MiB of bytes that differ from chunk to chunk, so a reused buffer would show.
        let big = (0..<(5 << 19)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 11) }
        try store.put("media/big.bin", data: big, contentType: "application/octet-stream")
        var kept: [[UInt8]] = []
        #expect(try store.readChunks("media/big.bin") { kept.append($0) })
        #expect(kept.count == 3)
        #expect(kept.allSatisfy { $0.count <= 1 << 20 })
        #expect(kept.flatMap { $0 } == big)

        try store.put("media/empty.bin", data: [], contentType: "application/octet-stream")
        var chunks = 0
        #expect(try store.readChunks("media/empty.bin") { _ in chunks += 1 })
        #expect(chunks == 0)

        #expect(try store.readChunks("media/none.bin") { _ in chunks += 1 } == false)
        #expect(chunks == 0)
        #expect(throws: StorageError.unsafeKey("../../etc/passwd")) {
            try store.readChunks("../../etc/passwd") { _ in }
        }
    }

    /// Links planted inside the root lead nowhere: a linked directory on a key's way, a link
    /// in an object's place, for every operation; the files they point at are untouched.
    @Test func symlinksInsideTheRootAreRefusedNeverFollowed() throws {
        let base = NSTemporaryDirectory() + "samia-fs-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: base) }
        let outside = base + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try Data("not ours".utf8).write(to: URL(fileURLWithPath: outside + "/victim.txt"))
        let store = try FileSystemObjectStore(root: base + "/root")
        try store.put("kept/ok.txt", data: Array("ours".utf8), contentType: "text/plain")
        // media → outside (a directory link); kept/link.txt → outside/victim.txt (a file link).
        #expect(symlink(outside, base + "/root/media") == 0)
        #expect(symlink(outside + "/victim.txt", base + "/root/kept/link.txt") == 0)
        for key in ["media/victim.txt", "kept/link.txt"] {
            func refused(_ body: () throws -> Void) {
                do {
                    try body()
                    Issue.record("\(key) was followed")
                } catch let error as StorageError {
                    if case .symlink = error { return }
                    Issue.record("\(key): \(error)")
                } catch { Issue.record("\(key): \(error)") }
            }
            refused { try store.delete(key) }
            refused { _ = try store.get(key) }
            refused { _ = try store.exists(key) }
            refused { _ = try store.readChunks(key) { _ in } }
            refused { _ = try store.getFile(key, to: base + "/copy.txt") }
            if key.hasPrefix("media/") {
                refused { try store.put(key, data: Array("overwritten".utf8), contentType: "text/plain") }
                refused { try store.list(prefix: "media/") { _, _ in } }
            }
        }
        #expect(throws: StorageError.symlink(key: "kept/link.txt", at: "kept/link.txt")) {
            try store.list(prefix: "kept/") { _, _ in }
        }
        // Untouched: the file outside, and nothing was written through the links.
        #expect(try String(contentsOfFile: outside + "/victim.txt", encoding: .utf8) == "not ours")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside) == ["victim.txt"])
        #expect(!FileManager.default.fileExists(atPath: base + "/copy.txt"))
        #expect(try store.get("kept/ok.txt") == Array("ours".utf8))
        // A link in an object's place is replaced by a write, not written through.
        try store.put("kept/link.txt", data: Array("new".utf8), contentType: "text/plain")
        #expect(try String(contentsOfFile: outside + "/victim.txt", encoding: .utf8) == "not ours")
        #expect(try store.get("kept/link.txt") == Array("new".utf8))
    }

    /// A storage directory whose parent does not exist is a typo, refused; a new leaf is made.
    @Test func aMistypedStorageDirectoryIsNotCreated() throws {
        let base = NSTemporaryDirectory() + "samia-fs-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: base) }
        #expect(throws: StorageError.self) { try FileSystemObjectStore(root: base + "/stroage/typo/objects") }
        #expect(!FileManager.default.fileExists(atPath: base))
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        _ = try FileSystemObjectStore(root: base + "/objects")
        #expect(FileManager.default.fileExists(atPath: base + "/objects"))
    }
}
