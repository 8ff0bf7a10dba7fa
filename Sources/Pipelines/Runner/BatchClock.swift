import Foundation
import Threads

/// The clock the runner and jobs read, injectable so "yesterday in Asia/Beirut", retention
/// cutoffs and backoff can be tested without waiting or depending on the real date.
public protocol BatchClock: Sendable {
    func now() -> Date
    func sleep(seconds: Double)
}

/// Wall-clock time.
public struct SystemClock: BatchClock {
    public init() {}
    public func now() -> Date { Date() }
    public func sleep(seconds: Double) {
        guard seconds > 0 else { return }
        Thread.sleep(forTimeInterval: seconds)
    }
}

/// A fixed instant (from `SAMIA_NOW` or a test); sleeping only records the request and moves
/// the instant on. Threads may sleep and read at once (a retry beside a ping).
public final class FixedClock: BatchClock {
    private struct State {
        var instant: Date
        var slept: [Double] = []
    }

    private let state: Locked<State>

    public init(_ instant: Date) { state = Locked(State(instant: instant)) }

    /// Every sleep asked for so far, in order.
    public var slept: [Double] { state.withLock { $0.slept } }

    public func now() -> Date { state.withLock { $0.instant } }

    public func sleep(seconds: Double) {
        state.withLock { s in
            s.slept.append(seconds)
            s.instant = s.instant.addingTimeInterval(seconds)
        }
    }
}
