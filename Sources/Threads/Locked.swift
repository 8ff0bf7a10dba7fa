import Foundation

/// State behind a lock, reachable only through `withLock`: the shape of `Mutex` from the
/// Synchronization module, on a pthread mutex.
///
/// Why not `Mutex` itself: on Linux it locks with futex calls inside the Swift runtime, which
/// Thread Sanitizer cannot see, so every access under it is reported as a race (a four-thread
/// counter under `Mutex` is reported on every run with Swift 6.3; the same under a pthread mutex
/// never is). `make test` runs the suite under Thread Sanitizer and fails on a report, so the
/// locks it relies on must be ones it understands.
public final class Locked<State>: @unchecked Sendable {
    // Unchecked: `state` is only touched under `lock`, which Swift cannot see.
    private let lock = NSLock()
    private var state: State

    public init(_ state: State) { self.state = state }

    /// Reads or changes the state under the lock.
    public func withLock<T>(_ body: (inout State) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&state)
    }
}
