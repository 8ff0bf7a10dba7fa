import Foundation

/// The last lines this process logged, kept for the dead-man's-switch ping: a failed night's
/// ping carries the lines that say why, so on-call sees them without logging in anywhere.
///
/// Log lines never carry personal data (the handler's rule), so they may leave the host.
public final class LogTail: @unchecked Sendable {
    public static let shared = LogTail(capacity: 40)

    private let lock = NSLock()
    private let capacity: Int
    private var lines: [String] = []

    init(capacity: Int) { self.capacity = capacity }

    func append(_ line: String) {
        lock.withLock {
            lines.append(line)
            if lines.count > capacity { lines.removeFirst(lines.count - capacity) }
        }
    }

    /// The newest `count` lines, oldest first.
    public func last(_ count: Int) -> [String] {
        lock.withLock { Array(lines.suffix(count)) }
    }
}
