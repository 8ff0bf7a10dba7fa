import Foundation
import Logging
import Threads

/// A swift-log handler writing one JSON object per line to stderr (for journald, Kubernetes
/// and log shippers), or readable lines when stderr is a terminal.
///
/// Only the executable bootstraps it; libraries take a `Logger`. What goes into metadata is
/// ids, counts, durations and outcomes: call sites never log personal data.
public struct BatchLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String
    private let json: Bool
    /// One line at a time on stderr, whichever thread logs.
    private static let stderr = Locked(FileHandle.standardError)

    public init(label: String, json: Bool, level: Logger.Level = .info) {
        self.label = label
        self.json = json
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let now = Date()
        let line: String
        if json {
            var object: [String: Any] = [
                "ts": BatchLogHandler.iso(now), "level": event.level.rawValue, "msg": "\(event.message)",
                "logger": label,
            ]
            for (k, v) in merged { object[k] = BatchLogHandler.plain(v) }
            let data =
                (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
                ?? Data()
            line = String(decoding: data, as: UTF8.self) + "\n"
        } else {
            let time = BatchLogHandler.iso(now).dropFirst(11).prefix(8)
            let pairs = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            let level = event.level.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)
            line = "\(time) \(level) \(event.message)" + (pairs.isEmpty ? "" : "  \(pairs)") + "\n"
        }
        BatchLogHandler.stderr.withLock { $0.write(Data(line.utf8)) }
        LogTail.shared.append(String(line.dropLast()))
    }

    static func iso(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    static func plain(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let s):
            // Numbers stay numbers; codes with leading zeros (SQLSTATE 08006) stay strings.
            if let n = Int64(s), String(n) == s { return n }
            return s
        case .stringConvertible(let c): return "\(c)"
        case .array(let a): return a.map(plain)
        case .dictionary(let d): return d.mapValues(plain)
        }
    }
}
