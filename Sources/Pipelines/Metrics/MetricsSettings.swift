import Foundation
import Postgres
import Reports
import Runner

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
    /// Database sessions that recompute a window side by side, taking its units of work (a
    /// statement over a slice of days) as each becomes free. PostgreSQL runs one statement on one
    /// core (an `INSERT … SELECT` gets no parallel workers), so a second session is what puts a
    /// second core to work.
    public var sessions: Int
    /// The drop gate (`MetricsVolumeGate`): a day's figure may fall this share below its
    /// trailing median (`METRICS_DROP_SHARE`, default 0.5) from a median of at least
    /// `dropMinimumVolume` (`METRICS_DROP_MIN_VOLUME`, default 20) before the day is refused.
    public var dropShare: Double = 0.5
    public var dropMinimumVolume: Int = 20
    /// `--accept-drop`: drops are reported and committed.
    public var acceptDrop = false
    /// How far back a night recomputes a day whose source rows changed since the last run
    /// (`METRICS_LATE_HORIZON_DAYS`, default 90), counted back from the night's day. Older
    /// changes are reported and fail the night until a run with `lateBeyondHorizon` takes them.
    public var lateHorizonDays = 90
    /// `--force` on a night: changed days beyond the late-data horizon are recomputed too.
    public var lateBeyondHorizon = false
    /// How long a booking holds its reader (`METRICS_BOOKING_MINUTES`, default 30): two
    /// bookings of one reader that start closer than this are double-booked.
    public var bookingMinutes = 30
    /// A reader's working day (`METRICS_READER_SHIFT_HOURS`, default 8), the denominator of call
    /// utilisation.
    public var readerShiftHours = 8
    /// The currency revenue is also given in (`METRICS_REPORTING_CURRENCY`); nil converts nothing.
    public var reportingCurrency: String?
    /// How old the newest rate on or before a day may be (`METRICS_FX_MAX_AGE_DAYS`, default 7):
    /// rates are published on working days, and a rate older than this is no rate for the day.
    public var fxMaxAgeDays = 7

    public init(
        timeZone: String = "UTC", lookbackDays: Int = 3, rawRetentionDays: Int = 90, workMem: String = "64MB",
        sessions: Int = 2
    ) {
        self.timeZone = timeZone
        self.lookbackDays = lookbackDays
        self.rawRetentionDays = rawRetentionDays
        self.workMem = workMem
        self.sessions = sessions
    }

    /// From `SAMIA_TIMEZONE`, `METRICS_LOOKBACK_DAYS`, `METRICS_RAW_RETENTION_DAYS`,
    /// `METRICS_WORK_MEM` and `METRICS_SESSIONS`; a value that is set but unusable is a
    /// configuration error, never a silent default.
    public static func fromEnvironment(
        _ env: [String: String] = ProcessInfo.processInfo.environment, timeZone override: String? = nil
    ) throws -> MetricsSettings {
        var settings = MetricsSettings()
        settings.timeZone = override ?? env["SAMIA_TIMEZONE"] ?? "UTC"
        guard TimeZone(identifier: settings.timeZone) != nil else {
            throw BatchError.configuration("time zone \"\(settings.timeZone)\" is not a known IANA time zone")
        }
        func positive(_ name: String, _ fallback: Int, max: Int, unit: String = "days") throws -> Int {
            guard let text = env[name] else { return fallback }
            guard let value = Int(text), (1...max).contains(value) else {
                throw BatchError.configuration("\(name)=\(text) must be a whole number of \(unit) from 1 to \(max)")
            }
            return value
        }
        settings.lookbackDays = try positive("METRICS_LOOKBACK_DAYS", 3, max: 60)
        settings.rawRetentionDays = try positive("METRICS_RAW_RETENTION_DAYS", 90, max: 36_500)
        settings.sessions = try positive("METRICS_SESSIONS", 2, max: 8, unit: "sessions")
        settings.lateHorizonDays = try positive("METRICS_LATE_HORIZON_DAYS", 90, max: 36_500)
        settings.bookingMinutes = try positive("METRICS_BOOKING_MINUTES", 30, max: 1440, unit: "minutes")
        settings.readerShiftHours = try positive("METRICS_READER_SHIFT_HOURS", 8, max: 24, unit: "hours")
        settings.fxMaxAgeDays = try positive("METRICS_FX_MAX_AGE_DAYS", 7, max: 366)
        if let code = env["METRICS_REPORTING_CURRENCY"] {
            guard Currency.exponent(code) != nil else {
                throw BatchError.configuration(
                    "METRICS_REPORTING_CURRENCY=\(code) is not an ISO 4217 currency this service knows (e.g. USD)")
            }
            settings.reportingCurrency = code
        }
        settings.dropMinimumVolume = try positive("METRICS_DROP_MIN_VOLUME", 20, max: 1_000_000_000, unit: "rows")
        if let text = env["METRICS_DROP_SHARE"] {
            guard let share = Double(text), share > 0, share <= 1 else {
                throw BatchError.configuration(
                    "METRICS_DROP_SHARE=\(text) must be a share above 0 and at most 1, e.g. 0.5")
            }
            settings.dropShare = share
        }
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
