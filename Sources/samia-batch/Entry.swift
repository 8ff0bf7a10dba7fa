import Foundation
import Logging
import Runner

/// Bootstraps logging (the only process-global setup) and hands over to argument parsing.
@main
enum Entry {
    static func main() {
        let env = ProcessInfo.processInfo.environment
        let json = env["SAMIA_LOG_FORMAT"].map { $0 == "json" } ?? (isatty(STDERR_FILENO) == 0)
        let level = env["SAMIA_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { BatchLogHandler(label: $0, json: json, level: level) }
        SamiaBatch.main()
    }
}
