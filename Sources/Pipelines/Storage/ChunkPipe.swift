import Foundation
import Threads

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
public final class ChunkPipe: Sendable {
    private enum Item: Sendable {
        case bytes([UInt8])
        /// Runs on the consumer thread, which alone touches what it captures from then on.
        case action(Handoff<() throws -> Void>)
    }

    private struct State: Sendable {
        var queue: [Item] = []
        var closed = false
        var stopped = false
        var failure: (any Error)?
        var waitNanoseconds: UInt64 = 0
    }

    private let state = Monitor(State())
    private let capacity: Int

    /// Time `send` spent waiting for room in the queue.
    public var waitNanoseconds: UInt64 { state.withLock { $0.waitNanoseconds } }

    /// Starts the consumer thread. Every pipe must be finished (`finish()`), also after an error,
    /// or its thread waits forever. `consume` runs on that thread only.
    public init(capacity: Int = 8, consume: @escaping (UnsafeRawBufferPointer) throws -> Void) {
        self.capacity = capacity
        let consumer = Handoff(consume)
        let thread = Thread { [state] in Self.drain(state, consumer.value) }
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
        try enqueue(.action(Handoff(action)))
    }

    private func enqueue(_ item: Item) throws {
        let started = DispatchTime.now().uptimeNanoseconds
        let capacity = capacity
        var waited = false
        let ready = { (s: State) in
            let ready = s.queue.count < capacity || s.failure != nil || s.stopped
            if !ready { waited = true }
            return ready
        }
        try state.wait(until: ready) { s in
            if waited { s.waitNanoseconds += DispatchTime.now().uptimeNanoseconds - started }
            if let failure = s.failure { throw failure }
            s.queue.append(item)
        }
    }

    /// Waits until the consumer has taken every queued chunk and stopped; rethrows its error.
    /// Calling it again is harmless.
    public func finish() throws {
        state.withLock { $0.closed = true }
        if let failure = state.wait(until: { $0.stopped }, then: { $0.failure }) { throw failure }
    }

    private static func drain(_ state: Monitor<State>, _ consume: (UnsafeRawBufferPointer) throws -> Void) {
        while true {
            let next: Item? = state.wait(until: { !$0.queue.isEmpty || $0.closed }) { s in
                if s.queue.isEmpty {
                    s.stopped = true
                    return nil
                }
                return s.queue.removeFirst()
            }
            guard let item = next else { return }
            do {
                switch item {
                case .bytes(let chunk): try chunk.withUnsafeBytes(consume)
                case .action(let action): try action.value()
                }
            } catch {
                state.withLock { s in
                    s.failure = error
                    s.queue.removeAll()
                    s.stopped = true
                }
                return
            }
        }
    }
}
