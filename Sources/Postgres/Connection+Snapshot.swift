extension Connection {
    /// Makes `others` read exactly what this session reads: exports this transaction's snapshot
    /// and imports it into each of them, so work split across sessions (an export's tables beside
    /// its media keys, metrics units on several cores) sees one state of the database.
    ///
    /// This session and each of `others` must already have begun a REPEATABLE READ (or
    /// SERIALIZABLE) transaction, and the others must not have queried in it yet. The snapshot
    /// can be imported only while this session's transaction is open.
    public func shareSnapshot(with others: [Connection]) throws(PostgresError) {
        guard !others.isEmpty else { return }
        let snapshot: String = try query("SELECT pg_export_snapshot()")[0].decode(0)
        // The id is PostgreSQL's own (hex digits and dashes), quoted anyway as a literal.
        let literal = "'" + snapshot.replacingOccurrences(of: "'", with: "''") + "'"
        for other in others {
            try other.execute("SET TRANSACTION SNAPSHOT \(literal)")
        }
    }
}
