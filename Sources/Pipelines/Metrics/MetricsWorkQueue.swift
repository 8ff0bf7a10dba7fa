import Foundation
import Postgres

/// The units of a metrics run (a step over a run of days), handed out one at a time to the
/// sessions that ask, so a session that finishes early takes more instead of waiting for the
/// others. Once any unit fails, no more are handed out.
final class MetricsWorkQueue: @unchecked Sendable {
    struct Unit: Sendable {
        let step: MetricsStep
        let days: ClosedRange<LocalDate>
    }

    let units: [Unit]
    private let lock = NSLock()
    private var next = 0
    private var finished = 0
    private var stopped = false

    init(_ units: [Unit]) { self.units = units }

    /// The next unit to run, or nil when there is none left or the run is failing.
    func take() -> Unit? {
        lock.withLock {
            guard !stopped, next < units.count else { return nil }
            defer { next += 1 }
            return units[next]
        }
    }

    /// Counts a unit done; returns how many are.
    func done() -> Int {
        lock.withLock {
            finished += 1; return finished
        }
    }

    /// Hands out nothing more: a failed unit dooms the run.
    func stop() { lock.withLock { stopped = true } }
}
