import Foundation
import Invoicing
import Metrics
import Postgres
import Retention
import Runner
import Storage

/// One job of the night, with the jobs that must have succeeded before it may run.
public struct NightlyStep: Sendable {
    /// The job's name, as in the ledger.
    public let name: String
    public let partition: Partition
    /// Job names earlier in the plan. A dependency that fails (or does not run) stops this
    /// step; the steps that do not depend on it still run.
    public let dependsOn: [String]
    /// Builds the job from its configuration when its turn comes, so one job's missing
    /// setting fails that job (exit 78) and not the whole night.
    public let makeJob: @Sendable () throws -> any Job
}

/// The nightly jobs in dependency order, each with its partition for the business day.
/// Each pipeline adds its job here as it lands.
public enum NightlyPlan {
    public static func steps(for day: LocalDate, environment: [String: String] = ProcessInfo.processInfo.environment)
        -> [NightlyStep]
    {
        [
            // Invoicing needs seller settings; without them its step fails with exit 78 naming
            // them. SAMIA_INVOICE_LIMIT caps how many documents one night numbers (the demo uses it).
            NightlyStep(name: "invoices", partition: .none, dependsOn: []) {
                try InvoicingJob.fromEnvironment(limit: environment["SAMIA_INVOICE_LIMIT"].flatMap { Int($0) })
            },
            // Daily KPIs for the business day, recomputing the last few days for late events.
            NightlyStep(name: "metrics", partition: .day(day), dependsOn: []) {
                MetricsJob(settings: try MetricsSettings.fromEnvironment(environment))
            },
            // The 60-day purge last, and only after the KPIs: their look-back window re-reads the
            // operational rows the purge deletes, and a purge can wait a day where a lost source
            // cannot be recomputed. A guard that stops it must not stop the invoices.
            NightlyStep(name: "retention", partition: .none, dependsOn: ["metrics"]) {
                let (policy, map, mapFile) = try RetentionPolicy.load(environment: environment)
                var job = RetentionJob(policy: policy, map: map, store: try ObjectStores.fromEnvironment(environment))
                job.mapFile = mapFile
                return job
            },
        ]
    }
}
