import Foundation
import Postgres

/// Shared between the runner, its signal handlers and the job's context.
final class RunnerState: @unchecked Sendable {
    private let lock = NSLock()
    let job: String
    let maxDuration: Double?
    private var _signal: Int32?

    init(job: String, maxDuration: Double?) {
        self.job = job
        self.maxDuration = maxDuration
    }

    var signal: Int32? {
        get { lock.withLock { _signal } }
        set { lock.withLock { _signal = newValue } }
    }

    /// Sessions a job opened beside its main connection; SIGTERM and the deadline cancel
    /// whatever they are running too, not only the main connection's statement.
    private var sessions: [ObjectIdentifier: Connection] = [:]

    func register(_ connection: Connection) {
        lock.withLock { sessions[ObjectIdentifier(connection)] = connection }
    }

    func unregister(_ connection: Connection) {
        _ = lock.withLock { sessions.removeValue(forKey: ObjectIdentifier(connection)) }
    }

    func cancelSessions() {
        lock.withLock { Array(sessions.values) }.forEach { $0.cancel() }
    }
}
