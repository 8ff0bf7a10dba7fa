import Postgres

/// The nightly jobs in dependency order, each with its partition for the business day.
/// Each pipeline adds its job here as it lands.
public enum NightlyPlan {
    public static func jobs(for day: LocalDate) -> [(any Job, Partition)] {
        []
    }
}
