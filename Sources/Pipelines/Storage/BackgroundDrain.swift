import Foundation
import Logging
import Postgres

/// Works through one origin of `storage_outbox` on its own thread and connection, so storage
/// deletes of one batch overlap the next batch's transaction instead of following it.
///
/// Safe because the outbox is: entries are claimed with `FOR UPDATE SKIP LOCKED`, and anything
/// this thread does not finish stays queued for the caller's final drain or the next run.
public final class BackgroundDrain: @unchecked Sendable {
    private let condition = NSCondition()
    private var requested = false
    private var finishing = false
    private var finished = false
    private var failure: (any Error)?
    private var left = 0
    private var busyMilliseconds: Int64 = 0

    /// Takes over `connection` and hands it to `release` when the thread ends.
    public init(
        connection: Connection, release: @escaping @Sendable (Connection) -> Void, store: any ObjectStore,
        origin: String, logger: Logger
    ) {
        Thread.detachNewThread { [self] in
            let outbox = StorageOutbox(connection: connection, store: store)
            defer {
                release(connection)
                condition.withLock {
                    finished = true
                    condition.broadcast()
                }
            }
            while true {
                let stop = condition.withLock { () -> Bool in
                    while !requested && !finishing { condition.wait() }
                    let stop = !requested && finishing
                    requested = false
                    return stop
                }
                if stop { return }
                let started = Date()
                do {
                    let remaining = try outbox.drain(origin: origin, logger: logger, removeDone: true)
                    condition.withLock {
                        left = remaining
                        busyMilliseconds += Int64(Date().timeIntervalSince(started) * 1000)
                    }
                } catch {
                    condition.withLock { failure = error }
                    return
                }
            }
        }
    }

    /// Asks for another pass: a batch has committed more entries.
    public func kick() {
        condition.withLock {
            requested = true
            condition.signal()
        }
    }

    /// Waits for the last pass; returns how many entries it left queued and the time spent
    /// deleting. An error of the thread (its connection lost) is thrown here; the entries it
    /// did not finish are still queued.
    public func finish() throws -> (left: Int, milliseconds: Int64) {
        try condition.withLock {
            finishing = true
            condition.broadcast()
            while !finished { condition.wait() }
            if let failure { throw failure }
            return (left, busyMilliseconds)
        }
    }
}
