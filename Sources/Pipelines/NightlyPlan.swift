import Foundation
import Postgres

/// The nightly jobs in dependency order, each with its partition for the business day.
/// Each pipeline adds its job here as it lands.
public enum NightlyPlan {
    public static func jobs(for day: LocalDate, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws -> [(any Job, Partition)]
    {
        var jobs: [(any Job, Partition)] = []
        // Invoicing needs seller settings; without them nightly says so instead of skipping silently.
        // SAMIA_INVOICE_LIMIT caps how many documents one nightly run numbers (the demo uses it).
        let limit = environment["SAMIA_INVOICE_LIMIT"].flatMap { Int($0) }
        jobs.append((try InvoicingJob.fromEnvironment(limit: limit), .none))
        // Daily KPIs for the business day, recomputing the last few days for late events.
        jobs.append((MetricsJob(settings: try MetricsSettings.fromEnvironment(environment)), .day(day)))
        // The 60-day purge last: nothing above reads what it deletes, and a guard that stops it
        // must not stop the invoices.
        let (policy, map, _) = try RetentionPolicy.load(environment: environment)
        jobs.append(
            (RetentionJob(policy: policy, map: map, store: try ObjectStores.fromEnvironment(environment)), .none))
        return jobs
    }
}
