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
}
