import ArgumentParser
import Foundation
import Postgres
import Runner

struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs", abstract: "The run ledger (batch_runs): list runs, or stop one as an operator.",
        subcommands: [RunsListCommand.self, RunsStopCommand.Kill.self, RunsStopCommand.Clear.self],
        defaultSubcommand: RunsListCommand.self)
}

struct RunsListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "Show the run history from the run ledger (batch_runs), newest first.")

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Only this job.") var job: String?
    @Option(help: "How many runs.") var limit: Int = 20
    @Flag(help: "One JSON object per line instead of a table.") var json = false

    func run() throws {
        try execute {
            let connection = try database.connect(cliLogger(), applicationName: "samia-batch/runs")
            defer { connection.close() }
            let ledger = RunLedger(connection: connection)
            // Runs whose process died (kill -9, a host lost, a server restart) are shown as what
            // they are, not as running.
            let reaped = try ledger.reapDead(lockKey: Runner.lockKey(for:))
            if reaped > 0 {
                FileHandle.standardError.write(
                    Data("samia-batch: marked \(reaped) run(s) aborted whose process is gone\n".utf8))
            }
            let runs = try ledger.recent(job: job, limit: limit)
            let iso = ISO8601DateFormatter()
            if json {
                for r in runs {
                    var o: [String: Any] = [
                        "id": r.id, "job": r.job, "partition": r.partitionKey, "status": r.status, "dry_run": r.dryRun,
                        "attempts": r.attempts, "started_at": iso.string(from: r.startedAt), "host": r.host,
                        "version": r.version,
                        "stats": (try? JSONSerialization.jsonObject(with: Data(r.stats.utf8))) ?? [:],
                    ]
                    if let f = r.finishedAt { o["finished_at"] = iso.string(from: f) }
                    if let e = r.error { o["error"] = e }
                    let data = try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys])
                    print(String(decoding: data, as: UTF8.self))
                }
                return
            }
            func pad(_ s: String, _ n: Int) -> String {
                s.padding(toLength: max(n, s.count), withPad: " ", startingAt: 0)
            }
            print(
                pad("ID", 7) + pad("JOB", 22) + pad("PARTITION", 12) + pad("STATUS", 11) + pad("STARTED (UTC)", 22)
                    + pad("SECONDS", 9) + pad("TRIES", 6) + "ERROR")
            for r in runs {
                let seconds = r.finishedAt.map { String(format: "%.1f", $0.timeIntervalSince(r.startedAt)) } ?? "-"
                print(
                    pad(String(r.id), 7) + pad(r.job, 22) + pad(r.partitionKey.isEmpty ? "-" : r.partitionKey, 12)
                        + pad(r.status + (r.dryRun ? "*" : ""), 11)
                        + pad(String(iso.string(from: r.startedAt).prefix(19)), 22)
                        + pad(seconds, 9) + pad(String(r.attempts), 6) + (r.error ?? ""))
            }
            if runs.contains(where: \.dryRun) { print("* dry run") }
        }
    }
}
