import Foundation
import Threads

/// Makes a growing file's written bytes durable on its own thread, while the writer goes on.
///
/// Starting writeback (`sync_file_range`) hands dirty pages to the disk, but on a virtual disk
/// they may then sit in the host's cache, and the final `fsync` waits for all of them at once:
/// 0.1–0.35 s for a 208 MB ZIP written at 300 MB/s on the 2-core VM of docs/performance.md,
/// with nothing else to do meanwhile. An `fdatasync` now and then on this thread has the disk
/// flush as the file grows, so the final `fsync` finds almost nothing left (0.01–0.04 s in the
/// same test).
/// Durability is still decided by the writer's own `fsync` at the end; these calls only move
/// the waiting earlier, where it overlaps the work.
///
/// A failed flush is kept and returned by `stop()`: Linux reports a writeback error to one
/// `fsync` of an open file only, so once this thread has seen it, the writer's own `fsync`
/// would succeed on a file that is not whole.
final class DiskFlusher: Sendable {
    private struct State: Sendable {
        /// Bytes were written since the last flush began.
        var pending = false
        var stopping = false
        var running = true
        /// The first failed flush's `errno`.
        var failure: Int32?
    }

    private let fd: Int32
    private let state = Monitor(State())

    init(fd: Int32) {
        self.fd = fd
        let thread = Thread { [fd, state] in Self.run(fd: fd, state: state) }
        thread.name = "samia-batch disk flusher"
        thread.start()
    }

    /// Asks for a flush of what is written so far; several asks while one flush runs make one.
    func flushSoon() {
        state.withLock { $0.pending = true }
    }

    /// Returns once the thread has made the flushes asked for and stopped, with the `errno` of the
    /// first flush that failed, if one did; the file descriptor may then be closed. Safe to call
    /// more than once.
    func stop() -> Int32? {
        state.withLock { $0.stopping = true }
        return state.wait(until: { !$0.running }, then: { $0.failure })
    }

    private static func run(fd: Int32, state: Monitor<State>) {
        while true {
            // An ask made before `stop()` is still honoured, so a stop never hides its error.
            let flush = state.wait(until: { $0.pending || $0.stopping }) { s in
                defer { s.pending = false }
                return s.pending
            }
            guard flush else { break }
            if fdatasync(fd) != 0 {
                let code = errno
                state.withLock { $0.failure = $0.failure ?? code }
            }
        }
        state.withLock { $0.running = false }
    }
}
