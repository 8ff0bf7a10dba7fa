import Foundation
import Postgres

/// One sample per table, shared by every reference on it. A reference wants, on each side of a
/// scope, the first `sampleRows` rows in the order of a hash of their key; listing them from the
/// table costs a scan of the whole table and a hash of every row, for every scope and identity.
/// The first rows of the whole table in that order, taken once, hold the answer whenever they
/// hold enough rows on that side: the first rows of a side in the table's order are then exactly
/// its first rows in the sample's. Only a side the sample is short of (a narrow scope: a
/// client's own orders) asks the table, which its index usually answers. Same rows as before,
/// one scan per table instead of two per reference.
extension ParityProber {
    static let sampleTable = "samia_parity_sample"

    /// Rows of a table's shared sample: enough that a side holding a quarter of the table fills
    /// its `sampleRows` from the sample alone.
    var sampleSize: Int { sampleRows * 4 }

    /// The table's shared sample (made on first use): how many rows it holds.
    func sharedSample(_ r: CatalogSnapshot.Relation, db: Connection) throws -> Int64 {
        if let count = sampleCounts[r.oid] { return count }
        let id = identity(r)
        let count = Int64(
            try db.query(
                """
                INSERT INTO \(Self.sampleTable) SELECT \(r.oid), row_number() OVER (ORDER BY md5(s.k)), s.k
                  FROM (SELECT \(id) AS k FROM \(qualified(r)) t ORDER BY md5(\(id)) LIMIT $1) s
                """, [sampleSize]
            ).affectedRows)
        sampleCounts[r.oid] = count
        return count
    }

    /// Lists both sides of the scope into the expected table under `generation`, from the shared
    /// sample where it holds enough rows, else from the table; returns the rows inside.
    func referenceFromSample(_ r: CatalogSnapshot.Relation, scopeSQL: String, generation g: Int, db: Connection)
        throws -> Int64
    {
        let whole = try sharedSample(r, db: db) < Int64(sampleSize)
        let (table, id) = (qualified(r), identity(r))
        let key = "t.\(SQLIdentifier.quote(r.primaryKey[0]))"
        var inside: Int64 = 0
        for (inScope, condition) in [(true, "(\(scopeSQL))"), (false, "(\(scopeSQL)) IS NOT TRUE")] {
            var found = Int64(
                try db.query(
                    """
                    INSERT INTO \(Self.expectedTable) SELECT \(g), s.k, \(inScope)
                      FROM \(Self.sampleTable) s JOIN \(table) t ON \(key) = s.k::\(r.primaryKeyType ?? "text")
                     WHERE s.rel = \(r.oid) AND \(condition) ORDER BY s.ord LIMIT $1
                    """, [sampleRows]
                ).affectedRows)
            if found < Int64(sampleRows) && !whole {
                try db.execute("DELETE FROM \(Self.expectedTable) WHERE g = \(g) AND in_scope = \(inScope)")
                found = Int64(
                    try db.query(
                        """
                        INSERT INTO \(Self.expectedTable) SELECT \(g), k, \(inScope)
                          FROM (SELECT \(id) AS k FROM \(table) t WHERE \(condition) ORDER BY md5(\(id)) LIMIT $1) a
                        """, [sampleRows]
                    ).affectedRows)
            }
            if inScope { inside = found }
        }
        return inside
    }
}
