import ArgumentParser
import Foundation
import Postgres
import Runner

struct CheckFreshnessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-freshness",
        abstract: "Exit 1 and name every job whose last success is older than --max-age (for monitoring).",
        discussion: """
            Reads the run ledger (batch_runs). Every job that has ever run is checked, plus the ones named with
            --job (so a job that never succeeded is reported too). Prints one line per stale job; exit 0 when all
            are fresh. Dry runs do not count as successes.
            """)

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Oldest acceptable last success: a number with s, m, h or d (default 26h).")
    var maxAge: String = "26h"

    @Option(help: "A job that must have succeeded recently, even if it never ran (repeatable).")
    var job: [String] = []

    func validate() throws {
        guard Self.seconds(maxAge) != nil else {
            throw ValidationError("--max-age must be a positive number followed by s, m, h or d, e.g. 26h")
        }
    }

    static func seconds(_ text: String) -> Double? {
        guard let unit = text.last, let value = Double(text.dropLast()), value > 0 else { return nil }
        switch unit {
        case "s": return value
        case "m": return value * 60
        case "h": return value * 3600
        case "d": return value * 86_400
        default: return nil
        }
    }

    func run() throws {
        try execute {
            let connection = try database.connect(cliLogger(), applicationName: "samia-batch/check-freshness")
            defer { connection.close() }
            let limit = Self.seconds(maxAge)!
            let now = Date()
            let iso = ISO8601DateFormatter()
            var stale = 0
            for f in try RunLedger(connection: connection).freshness(expected: job) {
                guard let success = f.lastSuccess else {
                    stale += 1
                    print(
                        "STALE \(f.job): never succeeded"
                            + (f.lastRun.map { " (last run \(iso.string(from: $0)))" } ?? ""))
                    continue
                }
                let age = now.timeIntervalSince(success)
                if age > limit {
                    stale += 1
                    print(
                        "STALE \(f.job): last success \(iso.string(from: success)), \(String(format: "%.1f", age / 3600)) h ago"
                    )
                }
            }
            if stale > 0 { throw ExitCode(ExitStatus.failure.rawValue) }
            print("all jobs succeeded within \(maxAge)")
        }
    }
}
