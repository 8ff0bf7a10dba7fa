import Dispatch
import Foundation
import Threads

/// SIGTERM and SIGINT for the whole process, remembered from the moment they arrive.
///
/// A handler installed only while a run is in progress loses a signal that arrives between the
/// runs of `nightly` or `backfill` (systemd stopping the unit, Kubernetes evicting the pod): the
/// next run would start as if nothing happened and be killed mid-work after the grace period.
/// Installed once, this keeps the signal; a run in progress is cancelled by its observer, and a
/// run not yet started (and every loop between runs) sees `received` and does not start.
public final class Shutdown: Sendable {
    /// The process's own: commands call `listenToProcessSignals()` on it before any work.
    public static let process = Shutdown()

    private struct State {
        var received: Int32?
        var observers: [Int: @Sendable (Int32) -> Void] = [:]
        var nextID = 0
    }
    private let state = Locked(State())
    private let sources = Locked<[any DispatchSourceSignal]>([])

    public init() {}

    /// Routes SIGTERM and SIGINT here for the rest of the process's life; safe to call often.
    public func listenToProcessSignals() {
        sources.withLock { sources in
            guard sources.isEmpty else { return }
            sources = [SIGTERM, SIGINT].map { sig in
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                source.setEventHandler { [weak self] in self?.deliver(sig) }
                source.resume()
                return source
            }
        }
    }

    /// Records `sig` (the first one counts) and tells every observer.
    public func deliver(_ sig: Int32) {
        let observers = state.withLock { state -> [@Sendable (Int32) -> Void] in
            if state.received == nil { state.received = sig }
            return Array(state.observers.values)
        }
        observers.forEach { $0(sig) }
    }

    /// The signal that asked the process to stop, if one has.
    public var received: Int32? { state.withLock { $0.received } }

    /// Calls `body` for every signal from now until `stopObserving` with the returned token.
    func observe(_ body: @escaping @Sendable (Int32) -> Void) -> Int {
        state.withLock { state in
            state.nextID += 1
            state.observers[state.nextID] = body
            return state.nextID
        }
    }

    func stopObserving(_ token: Int) {
        _ = state.withLock { $0.observers.removeValue(forKey: token) }
    }
}
