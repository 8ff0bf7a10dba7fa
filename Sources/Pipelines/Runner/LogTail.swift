import Foundation
import Threads

/// The last lines this process logged, kept for the dead-man's-switch ping: a failed night's
/// ping carries the lines that say why, so on-call sees them without logging in anywhere.
///
/// Log lines never carry personal data (the handler's rule), so they may leave the host.
public final class LogTail: Sendable {
    public static let shared = LogTail(capacity: 40)

    private let capacity: Int
    private let lines = Locked<[String]>([])

    init(capacity: Int) { self.capacity = capacity }

    func append(_ line: String) {
        lines.withLock { lines in
            lines.append(line)
            if lines.count > capacity { lines.removeFirst(lines.count - capacity) }
        }
    }

    /// The newest `count` lines, oldest first.
    public func last(_ count: Int) -> [String] {
        lines.withLock { Array($0.suffix(count)) }
    }
}
