import Foundation

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
}
