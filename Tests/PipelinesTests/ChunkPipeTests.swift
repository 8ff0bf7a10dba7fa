@testable import Storage
import Foundation
import Testing

/// The pipe that carries a whole export's media to the ZIP-writing thread: entries are begun and
/// ended by actions queued between the chunks, so an action run out of order would put one
/// object's bytes into another's entry, and an error that did not stop the pipe would let a
/// half-written ZIP be stored.
@Suite("Chunk pipe")
struct ChunkPipeTests {
    /// What the consumer thread saw, in order (only that thread writes it until `finish`).
    final class Log: @unchecked Sendable {
        var items: [String] = []
    }

    struct Refused: Error, Equatable {}

    @Test func actionsRunBetweenTheChunksInTheOrderTheyWereQueued() throws {
        let log = Log()
        let pipe = ChunkPipe(capacity: 2) { log.items.append(String(decoding: $0, as: UTF8.self)) }
        for object in 1...50 {
            try pipe.perform { log.items.append("begin \(object)") }
            for part in ["a", "b", "c"] {
                try Array("\(object)\(part)".utf8).withUnsafeBytes { try pipe.send($0) }
            }
            try pipe.perform { log.items.append("end \(object)") }
        }
        try pipe.finish()
        let expected = (1...50).flatMap { ["begin \($0)", "\($0)a", "\($0)b", "\($0)c", "end \($0)"] }
        #expect(log.items == expected)
    }

    @Test func aFailedActionStopsThePipeAndEveryLaterCallRethrows() throws {
        let log = Log()
        let pipe = ChunkPipe(capacity: 1) { log.items.append(String(decoding: $0, as: UTF8.self)) }
        try pipe.perform { throw Refused() }
        // With room for one item, the sender waits for the consumer at the second call at the
        // latest, and then finds the failure; nothing queued after the failed action runs.
        var rethrown = false
        for _ in 0..<3 {
            do {
                try Array("late".utf8).withUnsafeBytes { try pipe.send($0) }
                try pipe.perform { log.items.append("late action") }
            } catch is Refused {
                rethrown = true
                break
            }
        }
        #expect(rethrown)
        #expect(throws: Refused.self) { try pipe.finish() }
        #expect(log.items.isEmpty)
        // Finishing again is harmless and still reports the failure.
        #expect(throws: Refused.self) { try pipe.finish() }
    }
}
