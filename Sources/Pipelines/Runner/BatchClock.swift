import Foundation

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

/// A fixed instant (from `SAMIA_NOW` or a test); sleeping only records the request.
public final class FixedClock: BatchClock, @unchecked Sendable {
    private let lock = NSLock()
    private var instant: Date
    public private(set) var slept: [Double] = []

    public init(_ instant: Date) { self.instant = instant }

    public func now() -> Date { lock.withLock { instant } }
    public func sleep(seconds: Double) {
        lock.withLock {
            slept.append(seconds)
            instant = instant.addingTimeInterval(seconds)
        }
    }
}
