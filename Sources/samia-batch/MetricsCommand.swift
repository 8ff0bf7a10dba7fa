import ArgumentParser
import Foundation
import Metrics
import Postgres
import Runner

struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Recompute the daily KPI tables (metrics_daily_*) from events_raw and the operational tables.",
        discussion: """
            Without --backfill: recomputes the METRICS_LOOKBACK_DAYS (default 3) days ending at --date (default:
            yesterday in the time zone), so late events are counted, and every older day whose source rows changed since the
            last run (a late event, a payment that succeeded later), up to METRICS_LATE_HORIZON_DAYS (default 90) before
            --date; an older change fails the night, naming the day, until --force. With --backfill FROM TO: chunks of --chunk-days
            days (default 31), each its own run committed on its own; chunks that already succeeded are skipped, so
            running the same command again after an interruption resumes where it stopped (--force recomputes them). Days before the raw-data horizon (METRICS_RAW_RETENTION_DAYS,
            default 90) are refused. A day whose figures drop by more than METRICS_DROP_SHARE (default 0.5) against
            the median of the 7 days before it is not committed (the run fails naming the day, table and figures)
            unless --accept-drop. Events with an unreadable value are set aside in metrics_quarantine and the run goes
            on. KPI definitions: docs/metrics.md.
            """)

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var flags: RunFlags

    @Option(help: "The last business day to compute, YYYY-MM-DD (default: yesterday).")
    var date: LocalDate?

    @Option(parsing: .upToNextOption, help: "Recompute every day from FROM to TO (YYYY-MM-DD YYYY-MM-DD).")
    var backfill: [LocalDate] = []

    @Option(help: "Days per committed run of a backfill; a rerun resumes at the first chunk not done.")
    var chunkDays = 31

    @Option(help: "Business time zone for cutting days (default: SAMIA_TIMEZONE, else UTC).")
    var timezone: String?

    @Flag(help: "Commit days whose figures dropped against their trailing median (each drop is logged).")
    var acceptDrop = false

    func validate() throws {
        if !backfill.isEmpty {
            guard backfill.count == 2 else { throw ValidationError("--backfill takes two dates: FROM TO") }
            guard backfill[0] <= backfill[1] else { throw ValidationError("--backfill FROM must not be after TO") }
            guard date == nil else { throw ValidationError("use either --date or --backfill") }
            guard (1...366).contains(chunkDays) else { throw ValidationError("--chunk-days must be 1 to 366") }
        }
    }

    func run() throws {
        try execute {
            var settings = try MetricsSettings.fromEnvironment(timeZone: timezone)
            settings.acceptDrop = acceptDrop
            settings.lateBeyondHorizon = flags.force
            let runner = Runner(
                configuration: try database.configuration(), logger: cliLogger(), version: SamiaVersion.version)
            var options = flags.options(database)
            options.parameters["time_zone"] = settings.timeZone
            // A day is a day in a zone: a success in another zone is not this day done.
            options.sameParameters = ["time_zone"]
            if acceptDrop { options.parameters["accept_drop"] = "true" }
            if backfill.isEmpty {
                let day = date ?? LocalDate(Date(), in: TimeZone(identifier: settings.timeZone)!).adding(days: -1)
                let report = runner.run(MetricsJob(settings: settings), partition: .day(day), options: options)
                print(summary(day.description, report))
                try finish(report)
                return
            }
            let job = MetricsJob(settings: settings)
            let (from, to) = (backfill[0], backfill[1])
            var chunks: [ClosedRange<LocalDate>] = []
            var first = from
            while first <= to {
                let last = min(first.adding(days: chunkDays - 1), to)
                chunks.append(first...last)
                first = last.adding(days: 1)
            }
            for (index, chunk) in chunks.enumerated() {
                let report = runner.run(job, partition: .range(chunk), options: options)
                print("[\(index + 1)/\(chunks.count)] " + summary("\(chunk.lowerBound)..\(chunk.upperBound)", report))
                guard report.status == .success else {
                    print("backfill stopped at \(chunk.lowerBound); run the same command again to resume from there")
                    try finish(report)
                    return
                }
            }
        }
    }

    private func summary(_ day: String, _ report: RunReport) -> String {
        if let run = report.skippedBecauseOf {
            return "metrics \(day): skipped (already succeeded; up to date: no source row changed since run \(run))"
        }
        if let error = report.error { return "metrics \(day): \(error)" }
        let stats = report.outcome?.stats.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" } ?? []
        return "metrics \(day): ok " + stats.joined(separator: " ")
    }
}
