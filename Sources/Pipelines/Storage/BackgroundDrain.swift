import Foundation
import Logging
import Postgres
import Threads

/// Works through one origin of `storage_outbox` on its own thread and connection, so storage
/// deletes of one batch overlap the next batch's transaction instead of following it.
///
/// Safe because the outbox is: entries are claimed with `FOR UPDATE SKIP LOCKED`, and anything
/// this thread does not finish stays queued for the caller's final drain or the next run.
public final class BackgroundDrain: Sendable {
    private struct State: Sendable {
        var requested = false
        var finishing = false
        var finished = false
        var failure: (any Error)?
        var left = 0
        var busyMilliseconds: Int64 = 0
    }

    private let state = Monitor(State())

    /// Takes over `connection` and hands it to `release` when the thread ends.
    public init(
        connection: Connection, release: @escaping @Sendable (Connection) -> Void, store: any ObjectStore,
        origin: String, logger: Logger
    ) {
        Thread.detachNewThread { [state] in
            let outbox = StorageOutbox(connection: connection, store: store)
            defer {
                release(connection)
                state.withLock { $0.finished = true }
            }
            while true {
                let stop = state.wait(until: { $0.requested || $0.finishing }) { s in
                    defer { s.requested = false }
                    return !s.requested && s.finishing
                }
                if stop { return }
                let started = Date()
                do {
                    let remaining = try outbox.drain(origin: origin, logger: logger, removeDone: true)
                    state.withLock { s in
                        s.left = remaining
                        s.busyMilliseconds += Int64(Date().timeIntervalSince(started) * 1000)
                    }
                } catch {
                    state.withLock { $0.failure = error }
                    return
                }
            }
        }
    }

    /// Asks for another pass: a batch has committed more entries.
    public func kick() {
        state.withLock { $0.requested = true }
    }

    /// Waits for the last pass; returns how many entries it left queued and the time spent
    /// deleting. An error of the thread (its connection lost) is thrown here; the entries it
    /// did not finish are still queued.
    public func finish() throws -> (left: Int, milliseconds: Int64) {
        state.withLock { $0.finishing = true }
        return try state.wait(until: { $0.finished }) { s in
            if let failure = s.failure { throw failure }
            return (s.left, s.busyMilliseconds)
        }
    }
}
