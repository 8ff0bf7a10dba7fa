import Foundation

/// State that threads wait on: the state and its condition variable in one place, so no code
/// can read or change the state without the lock, nor wait without re-checking it.
///
/// `Locked` is the lock for state nobody waits on; it has no condition variable, so the handful
/// of hand-offs between threads (a pipe's queue, a background call's result, a flusher's
/// requests) build on this instead.
public final class Monitor<State: Sendable>: @unchecked Sendable {
    // Unchecked: every access to `state` goes through `condition`, which Swift cannot see.
    private let condition = NSCondition()
    private var state: State

    public init(_ state: State) { self.state = state }

    /// Reads or changes the state under the lock, then wakes every waiter, since a change may
    /// be what one of them waits for.
    public func withLock<T>(_ body: (inout State) throws -> T) rethrows -> T {
        condition.lock()
        defer {
            condition.broadcast()
            condition.unlock()
        }
        return try body(&state)
    }

    /// Waits until `ready` holds for the state, then runs `body` under the same lock (and
    /// wakes every waiter).
    public func wait<T>(until ready: (State) -> Bool, then body: (inout State) throws -> T) rethrows -> T {
        condition.lock()
        defer {
            condition.broadcast()
            condition.unlock()
        }
        while !ready(state) { condition.wait() }
        return try body(&state)
    }
}
