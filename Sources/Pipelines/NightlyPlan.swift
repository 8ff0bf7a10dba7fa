import Foundation
import Postgres

/// One job of the night, with the jobs that must have succeeded before it may run.
public struct NightlyStep: Sendable {
    public let job: any Job
    public let partition: Partition
    /// Job names earlier in the plan. A dependency that fails (or does not run) stops this
    /// step; the steps that do not depend on it still run.
    public let dependsOn: [String]
}

/// The nightly jobs in dependency order, each with its partition for the business day.
/// Each pipeline adds its job here as it lands.
public enum NightlyPlan {
    public static func steps(for day: LocalDate, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws -> [NightlyStep]
    {
        var steps: [NightlyStep] = []
        // Invoicing needs seller settings; without them nightly says so instead of skipping silently.
        // SAMIA_INVOICE_LIMIT caps how many documents one nightly run numbers (the demo uses it).
        let limit = environment["SAMIA_INVOICE_LIMIT"].flatMap { Int($0) }
        steps.append(NightlyStep(job: try InvoicingJob.fromEnvironment(limit: limit), partition: .none, dependsOn: []))
        // Daily KPIs for the business day, recomputing the last few days for late events.
        steps.append(
            NightlyStep(
                job: MetricsJob(settings: try MetricsSettings.fromEnvironment(environment)), partition: .day(day),
                dependsOn: []))
        // The 60-day purge last, and only after the KPIs: their look-back window re-reads the
        // operational rows the purge deletes, and a purge can wait a day where a lost source
        // cannot be recomputed. A guard that stops it must not stop the invoices.
        let (policy, map, _) = try RetentionPolicy.load(environment: environment)
        steps.append(
            NightlyStep(
                job: RetentionJob(policy: policy, map: map, store: try ObjectStores.fromEnvironment(environment)),
                partition: .none, dependsOn: ["metrics"]))
        return steps
    }
}
