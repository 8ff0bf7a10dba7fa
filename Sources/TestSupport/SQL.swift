import Foundation

/// Runs SQL through the real `psql` client, as an operator would check a result.
public enum SQL {
    /// Unaligned, tuples-only output (`a|b` per row), trimmed; a failing statement throws.
    public static func psql(_ conninfo: String, _ sql: String) throws -> String {
        let r = try Shell.run("/usr/bin/psql", ["-X", "-At", "-F", "|", "-d", conninfo, "-c", sql])
        guard r.status == 0 else { throw TestSupportError.toolFailed("psql: \(r.stderr)") }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
