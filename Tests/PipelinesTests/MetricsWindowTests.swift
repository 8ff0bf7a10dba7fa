@testable import Runner
@testable import Metrics
import Foundation
import Postgres
import Testing

/// The day arithmetic behind the metrics job: which days a run recomputes and which it refuses.
@Suite("Metrics windows")
struct MetricsWindowTests {
    let now = ISO8601DateFormatter().date(from: "2026-11-21T00:10:00Z")!

    @Test func nightlyWindowsAreClippedAtTheRawHorizon() {
        let job = MetricsJob(settings: MetricsSettings(timeZone: "Asia/Beirut", lookbackDays: 3, rawRetentionDays: 90))
        let day = LocalDate(year: 2026, month: 11, day: 20)
        #expect(job.window(endingAt: day, now: now) == LocalDate(year: 2026, month: 11, day: 18)...day)
        // 90 days kept, counted in Beirut (02:10 on the 21st): the horizon is 2026-08-24.
        let horizon = LocalDate(year: 2026, month: 8, day: 24)
        #expect(job.settings.horizon(now: now) == horizon)
        #expect(job.window(endingAt: horizon.adding(days: 1), now: now) == horizon...horizon.adding(days: 1))
        #expect(job.window(endingAt: horizon.adding(days: -1), now: now) == nil)
    }

    @Test func rangePartitionsRoundTripAndRejectNonsense() {
        let a = LocalDate(year: 2026, month: 10, day: 24)
        let b = LocalDate(year: 2026, month: 11, day: 2)
        let partition = Partition.range(a...b)
        #expect(partition.key == "2026-10-24..2026-11-02")
        #expect(partition.dayRange == a...b)
        #expect(Partition.day(a).dayRange == a...a)
        #expect(Partition(kind: .range, key: "2026-11-02..2026-10-24").dayRange == nil)
        #expect(Partition(kind: .range, key: "2026-10-24").dayRange == nil)
        #expect(Partition(kind: .month, key: "2026-10").dayRange == nil)
        #expect(b.daysSince(a) == 9 && a.daysSince(b) == -9)
    }

    /// Every statement covers every day of the window exactly once, and the work is handed out
    /// longest first: the events statement's slices, then the smaller statements', longer slices first.
    @Test func aWindowsUnitsCoverEachStatementsDaysOnceLongestFirst() {
        let first = LocalDate(year: 2026, month: 10, day: 23)
        let window = first...first.adding(days: 28)
        for sessions in [1, 2, 3, 8] {
            let units = MetricsJob.units(of: window, sessions: sessions)
            #expect(
                units.map(\.step.name)
                    == MetricsStep.all.flatMap { step in Array(repeating: step.name, count: sessions) })
            for step in MetricsStep.all {
                let slices = units.filter { $0.step.name == step.name }.map(\.days)
                #expect(slices.first?.lowerBound == window.lowerBound && slices.last?.upperBound == window.upperBound)
                #expect(zip(slices, slices.dropFirst()).allSatisfy { $0.upperBound.adding(days: 1) == $1.lowerBound })
                let lengths = slices.map { $0.upperBound.daysSince($0.lowerBound) + 1 }
                #expect(lengths == lengths.sorted(by: >) && lengths.max()! - lengths.min()! <= 1, "\(lengths)")
            }
        }
        // Every KPI table is written by exactly one statement, and every read total checked by one.
        let tables = MetricsStep.all.flatMap(\.tables)
        #expect(tables.sorted() == MetricsSQL.tables.sorted())
        #expect(MetricsStep.all.flatMap(\.readTotals).sorted() == MetricsQualityCheck.readTotalNames.sorted())
        let day = MetricsJob.units(of: first...first, sessions: 8)
        #expect(day.count == MetricsStep.all.count && day.allSatisfy { $0.days == first...first })
    }

    @Test func settingsComeFromTheEnvironmentOrFailLoudly() throws {
        let s = try MetricsSettings.fromEnvironment([
            "SAMIA_TIMEZONE": "Asia/Beirut", "METRICS_LOOKBACK_DAYS": "5", "METRICS_RAW_RETENTION_DAYS": "30",
            "METRICS_WORK_MEM": "128MB",
        ])
        #expect(s == MetricsSettings(timeZone: "Asia/Beirut", lookbackDays: 5, rawRetentionDays: 30, workMem: "128MB"))
        #expect(try MetricsSettings.fromEnvironment([:], timeZone: "UTC").timeZone == "UTC")
        for bad in [
            ["SAMIA_TIMEZONE": "Nowhere/City"], ["METRICS_LOOKBACK_DAYS": "0"], ["METRICS_RAW_RETENTION_DAYS": "x"],
            ["METRICS_WORK_MEM": "64MB; DROP TABLE x"],
        ] {
            #expect(throws: BatchError.self) { try MetricsSettings.fromEnvironment(bad) }
        }
    }
}
