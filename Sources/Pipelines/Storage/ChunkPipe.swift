import Foundation

/// Hands byte chunks from the thread that reads them (a `COPY … TO STDOUT` stream) to a thread
/// that consumes them (deflate into a ZIP entry, hashing), so reading and compressing overlap on
/// two cores instead of taking turns. The queue is bounded: memory stays at `capacity` chunks
/// whatever the row count, and a slow consumer slows the reader down (the time it waits is
/// `waitNanoseconds`, which says how far the consumer is from keeping up with `COPY`).
///
/// `perform` queues other work for the consumer thread between chunks, in order: an export
/// begins and ends each media entry there, so one pipe carries every object of the export and
/// the reader goes on to the next object while the last one is still being written.
///
/// The consumer's first error stops it; the next `send`, `perform` or `finish` rethrows that error.
public final class ChunkPipe: @unchecked Sendable {
    private enum Item {
        case bytes([UInt8])
        case action(() throws -> Void)
    }

    private let condition = NSCondition()
    private var queue: [Item] = []
    private var closed = false
    private var stopped = false
    private var failure: (any Error)?
    private let capacity: Int
    private let consume: (UnsafeRawBufferPointer) throws -> Void
    /// Time `send` spent waiting for room in the queue.
    public private(set) var waitNanoseconds: UInt64 = 0

    /// Starts the consumer thread. Every pipe must be finished (`finish()`), also after an error,
    /// or its thread waits forever.
    public init(capacity: Int = 8, consume: @escaping (UnsafeRawBufferPointer) throws -> Void) {
        self.capacity = capacity
        self.consume = consume
        let thread = Thread { [self] in drain() }
        thread.name = "samia-batch chunk pipe"
        thread.start()
    }

    /// Queues a copy of `bytes`, waiting while the queue is full.
    public func send(_ bytes: UnsafeRawBufferPointer) throws {
        try enqueue(.bytes(Array(bytes)))
    }

    /// Queues `chunk` itself, without copying it; the sender must not change it afterwards.
    public func send(_ chunk: [UInt8]) throws {
        try enqueue(.bytes(chunk))
    }

    /// Queues `action` to run on the consumer thread after every chunk sent before it.
    public func perform(_ action: @escaping () throws -> Void) throws {
        try enqueue(.action(action))
    }

    private func enqueue(_ item: Item) throws {
        condition.lock()
        defer { condition.unlock() }
        if queue.count >= capacity, failure == nil, !stopped {
            let started = DispatchTime.now().uptimeNanoseconds
            while queue.count >= capacity, failure == nil, !stopped { condition.wait() }
            waitNanoseconds += DispatchTime.now().uptimeNanoseconds - started
        }
        if let failure { throw failure }
        queue.append(item)
        condition.broadcast()
    }

    /// Waits until the consumer has taken every queued chunk and stopped; rethrows its error.
    /// Calling it again is harmless.
    public func finish() throws {
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
            let item = queue.removeFirst()
            condition.broadcast()
            condition.unlock()
            do {
                switch item {
                case .bytes(let chunk): try chunk.withUnsafeBytes(consume)
                case .action(let action): try action()
                }
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
