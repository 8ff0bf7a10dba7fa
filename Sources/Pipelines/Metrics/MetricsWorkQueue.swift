import Foundation
import Postgres
import Threads

/// The units of a metrics run (a step over a run of days), handed out one at a time to the
/// sessions that ask, so a session that finishes early takes more instead of waiting for the
/// others. Once any unit fails, no more are handed out.
final class MetricsWorkQueue: Sendable {
    struct Unit: Sendable {
        let step: MetricsStep
        let days: ClosedRange<LocalDate>
        /// For the cohorts unit: every day the run recomputes (its weeks are recomputed whole).
        var allDays: [LocalDate] = []
    }

    let units: [Unit]
    private let state = Locked((next: 0, finished: 0, stopped: false))

    init(_ units: [Unit]) { self.units = units }

    /// The next unit to run, or nil when there is none left or the run is failing.
    func take() -> Unit? {
        state.withLock { s in
            guard !s.stopped, s.next < units.count else { return nil }
            defer { s.next += 1 }
            return units[s.next]
        }
    }

    /// Counts a unit done; returns how many are.
    func done() -> Int {
        state.withLock { s in
            s.finished += 1
            return s.finished
        }
    }

    /// Hands out nothing more: a failed unit dooms the run.
    func stop() { state.withLock { $0.stopped = true } }
}
