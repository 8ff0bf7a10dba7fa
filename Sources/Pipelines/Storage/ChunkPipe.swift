import Foundation

/// Hands byte chunks from the thread that reads them (a `COPY … TO STDOUT` stream) to a thread
/// that consumes them (deflate into a ZIP entry, hashing), so reading and compressing overlap on
/// two cores instead of taking turns. The queue is bounded: memory stays at `capacity` chunks
/// whatever the row count, and a slow consumer slows the reader down (the time it waits is
/// `waitNanoseconds`, which says how far the consumer is from keeping up with `COPY`).
///
/// The consumer's first error stops it; the next `send` or `finish` rethrows that error.
final class ChunkPipe: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [[UInt8]] = []
    private var closed = false
    private var stopped = false
    private var failure: (any Error)?
    private let capacity: Int
    private let consume: (UnsafeRawBufferPointer) throws -> Void
    /// Time `send` spent waiting for room in the queue.
    private(set) var waitNanoseconds: UInt64 = 0

    /// Starts the consumer thread. Every pipe must be finished (`finish()`), also after an error,
    /// or its thread waits forever.
    init(capacity: Int = 8, consume: @escaping (UnsafeRawBufferPointer) throws -> Void) {
        self.capacity = capacity
        self.consume = consume
        let thread = Thread { [self] in drain() }
        thread.name = "samia-batch chunk pipe"
        thread.start()
    }

    /// Queues a copy of `bytes`, waiting while the queue is full.
    func send(_ bytes: UnsafeRawBufferPointer) throws {
        condition.lock()
        defer { condition.unlock() }
        if queue.count >= capacity, failure == nil, !stopped {
            let started = DispatchTime.now().uptimeNanoseconds
            while queue.count >= capacity, failure == nil, !stopped { condition.wait() }
            waitNanoseconds += DispatchTime.now().uptimeNanoseconds - started
        }
        if let failure { throw failure }
        queue.append(Array(bytes))
        condition.broadcast()
    }

    /// Waits until the consumer has taken every queued chunk and stopped; rethrows its error.
    /// Calling it again is harmless.
    func finish() throws {
        condition.lock()
        closed = true
        condition.broadcast()
        while !stopped { condition.wait() }
        let failure = failure
        condition.unlock()
        if let failure { throw failure }
    }

    private func drain() {
        while true {
            condition.lock()
            while queue.isEmpty, !closed { condition.wait() }
            if queue.isEmpty {
                stopped = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let chunk = queue.removeFirst()
            condition.broadcast()
            condition.unlock()
            do {
                try chunk.withUnsafeBytes(consume)
            } catch {
                condition.lock()
                failure = error
                queue.removeAll()
                stopped = true
                condition.broadcast()
                condition.unlock()
                return
            }
        }
    }
}
