import Foundation
import Postgres

/// How the metrics job cuts and limits its days.
public struct MetricsSettings: Sendable, Equatable {
    /// IANA name of the business time zone; days are cut at its midnights.
    public var timeZone: String
    /// The nightly run recomputes this many days ending at its day, for late-arriving events.
    public var lookbackDays: Int
    /// Raw events older than this many days are purged by retention; days before that horizon
    /// are never recomputed (their raw data is gone, their history is not).
    public var rawRetentionDays: Int
    /// `work_mem` for the job's transaction (PostgreSQL units, e.g. `64MB`).
    public var workMem: String

    public init(timeZone: String = "UTC", lookbackDays: Int = 3, rawRetentionDays: Int = 90, workMem: String = "64MB") {
        self.timeZone = timeZone
        self.lookbackDays = lookbackDays
        self.rawRetentionDays = rawRetentionDays
        self.workMem = workMem
    }

    /// From `SAMIA_TIMEZONE`, `METRICS_LOOKBACK_DAYS`, `METRICS_RAW_RETENTION_DAYS` and
    /// `METRICS_WORK_MEM`; a value
    /// that is set but unusable is a configuration error, never a silent default.
    public static func fromEnvironment(
        _ env: [String: String] = ProcessInfo.processInfo.environment, timeZone override: String? = nil
    ) throws -> MetricsSettings {
        var settings = MetricsSettings()
        settings.timeZone = override ?? env["SAMIA_TIMEZONE"] ?? "UTC"
        guard TimeZone(identifier: settings.timeZone) != nil else {
            throw BatchError.configuration("time zone \"\(settings.timeZone)\" is not a known IANA time zone")
        }
        func positive(_ name: String, _ fallback: Int, max: Int) throws -> Int {
            guard let text = env[name] else { return fallback }
            guard let value = Int(text), (1...max).contains(value) else {
                throw BatchError.configuration("\(name)=\(text) must be a whole number of days from 1 to \(max)")
            }
            return value
        }
        settings.lookbackDays = try positive("METRICS_LOOKBACK_DAYS", 3, max: 60)
        settings.rawRetentionDays = try positive("METRICS_RAW_RETENTION_DAYS", 90, max: 36_500)
        if let workMem = env["METRICS_WORK_MEM"] {
            guard workMem.range(of: #"^[0-9]{1,7}(kB|MB|GB)$"#, options: .regularExpression) != nil else {
                throw BatchError.configuration("METRICS_WORK_MEM=\(workMem) must look like 64MB (kB, MB or GB)")
            }
            settings.workMem = workMem
        }
        return settings
    }

    /// The first day whose raw events are still kept, as of `now`.
    public func horizon(now: Date) -> LocalDate {
        LocalDate(now, in: TimeZone(identifier: timeZone)!).adding(days: -(rawRetentionDays - 1))
    }
}
