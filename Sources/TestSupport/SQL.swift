import Foundation

/// Runs SQL through the real `psql` client, as an operator would check a result.
public enum SQL {
    /// Unaligned, tuples-only output (`a|b` per row), trimmed; a failing statement throws.
    public static func psql(_ conninfo: String, _ sql: String) throws -> String {
        let r = try Shell.run("/usr/bin/psql", ["-X", "-At", "-F", "|", "-d", conninfo, "-c", sql])
        guard r.status == 0 else { throw TestSupportError.toolFailed("psql: \(r.stderr)") }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Moves `public.events_raw` aside (as `events_raw_plain`) and puts in its place a table
    /// partitioned by UTC day from `first` to `last` (dates, `YYYY-MM-DD`), with a default
    /// partition, holding the same rows: `scripts/partition-events-raw.sql`, as operators and
    /// the benchmark use it.
    public static func partitionEventsRaw(_ conninfo: String, first: String, last: String) throws {
        _ = try psql(conninfo, "ALTER TABLE public.events_raw RENAME TO events_raw_plain")
        let script = TestCluster.repositoryRoot.appendingPathComponent("scripts/partition-events-raw.sql").path
        let r = try Shell.run(
            "/usr/bin/psql",
            [
                "-X", "-q", "-d", conninfo, "-v", "first=\(first)", "-v", "last=\(last)", "-v",
                "source=events_raw_plain", "-f", script,
            ])
        guard r.status == 0 else { throw TestSupportError.toolFailed("psql -f \(script): \(r.stderr)") }
        // Its rows are in the partitioned table now; a leftover copy would be a table the data
        // map does not classify, and every privacy job would stop on it.
        _ = try psql(
            conninfo,
            "ALTER SEQUENCE public.events_raw_id_seq OWNED BY public.events_raw.id; DROP TABLE public.events_raw_plain")
    }
}
