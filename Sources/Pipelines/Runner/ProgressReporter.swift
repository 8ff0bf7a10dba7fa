import Foundation
import Logging
import Threads

/// Progress for long work: a live line on a terminal, a periodic log event otherwise
/// (so a CronJob's log shows the job is alive without a line per item).
public final class ProgressReporter: Sendable {
    private struct State {
        var lastReport = Date.distantPast
        var drewLine = false
    }

    private let interactive: Bool
    private let logger: Logger
    private let interval: Double
    private let state = Locked(State())

    public init(interactive: Bool, logger: Logger, interval: Double = 10) {
        self.interactive = interactive
        self.logger = logger
        self.interval = interactive ? 0.2 : interval
    }

    /// Reports `done` of `total` (total nil when unknown) for a phase such as "rows deleted".
    public func update(_ phase: String, done: Int64, total: Int64? = nil) {
        state.withLock { state in
            let now = Date()
            guard now.timeIntervalSince(state.lastReport) >= interval || (total != nil && done == total) else { return }
            state.lastReport = now
            if interactive {
                let pct = total.map { $0 > 0 ? String(format: " %5.1f%%", Double(done) * 100 / Double($0)) : "" } ?? ""
                let line = "\r\u{1B}[2K  \(phase): \(done)" + (total.map { "/\($0)" } ?? "") + pct
                FileHandle.standardError.write(Data(line.utf8))
                state.drewLine = true
            } else {
                var meta: Logger.Metadata = ["event": "progress", "phase": .string(phase), "done": "\(done)"]
                if let total { meta["total"] = "\(total)" }
                logger.info("progress", metadata: meta)
            }
        }
    }

    /// Clears the live line before other output.
    public func finish() {
        state.withLock { state in
            if interactive && state.drewLine {
                FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
                state.drewLine = false
            }
        }
    }
}
