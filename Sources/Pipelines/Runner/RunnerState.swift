import Foundation
import Postgres
import Threads

/// Shared between the runner, its signal handlers and the job's context.
final class RunnerState: Sendable {
    private struct State {
        var signal: Int32?
        /// Sessions a job opened beside its main connection; SIGTERM and the deadline cancel
        /// whatever they are running too, not only the main connection's statement.
        var sessions: [ObjectIdentifier: Connection] = [:]
    }

    let job: String
    let maxDuration: Double?
    private let state = Locked(State())

    init(job: String, maxDuration: Double?) {
        self.job = job
        self.maxDuration = maxDuration
    }

    var signal: Int32? {
        get { state.withLock { $0.signal } }
        set { state.withLock { $0.signal = newValue } }
    }

    func register(_ connection: Connection) {
        state.withLock { $0.sessions[ObjectIdentifier(connection)] = connection }
    }

    func unregister(_ connection: Connection) {
        _ = state.withLock { $0.sessions.removeValue(forKey: ObjectIdentifier(connection)) }
    }

    func cancelSessions() {
        state.withLock { Array($0.sessions.values) }.forEach { $0.cancel() }
    }
}
