import CLibPQ

/// The rows of one statement, held by libpq until this value goes away.
///
/// Values are decoded lazily from libpq's buffer when asked for, so a wide result costs
/// nothing for columns nobody reads.
public final class QueryResult: Sequence {
    private let result: OpaquePointer
    /// Rows returned (or affected, for INSERT/UPDATE/DELETE: see `affectedRows`).
    public let count: Int
    public let columnNames: [String]
    let columnTypes: [UInt32]

    init(owning result: OpaquePointer) {
        self.result = result
        self.count = Int(PQntuples(result))
        let columns = Int(PQnfields(result))
        // COPY results report columns without names.
        self.columnNames = (0..<columns).map { PQfname(result, Int32($0)).map { String(cString: $0) } ?? "" }
        self.columnTypes = (0..<columns).map { UInt32(PQftype(result, Int32($0))) }
    }

    deinit { PQclear(result) }

    /// Rows affected by INSERT, UPDATE, DELETE, COPY, MERGE; 0 when the command reports none.
    public var affectedRows: Int {
        Int(String(cString: PQcmdTuples(result))) ?? 0
    }

    public subscript(row: Int) -> Row { Row(result: self, index: row) }

    /// The first row, or nil when there is none.
    public var first: Row? { count > 0 ? self[0] : nil }

    public func makeIterator() -> AnyIterator<Row> {
        var index = 0
        return AnyIterator {
            guard index < self.count else { return nil }
            defer { index += 1 }
            return Row(result: self, index: index)
        }
    }

    func columnIndex(_ name: String) throws(PostgresError) -> Int {
        guard let index = columnNames.firstIndex(of: name) else {
            throw PostgresError(code: .decoding, message: "no column named \(name) in the result", context: name)
        }
        return index
    }

    func withValue<T>(row: Int, column: Int, _ body: (UnsafeBufferPointer<UInt8>?) -> T) -> T {
        if PQgetisnull(result, Int32(row), Int32(column)) == 1 { return body(nil) }
        let length = Int(PQgetlength(result, Int32(row), Int32(column)))
        let raw = PQgetvalue(result, Int32(row), Int32(column))!
        return raw.withMemoryRebound(to: UInt8.self, capacity: length) {
            body(UnsafeBufferPointer(start: $0, count: length))
        }
    }
}

/// One row of a `QueryResult`; decode columns by name or position.
public struct Row {
    let result: QueryResult
    public let index: Int

    /// Decodes a non-NULL column; NULL or a type mismatch is an error naming the column.
    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws(PostgresError) -> T {
        try decode(result.columnIndex(column), as: type)
    }

    public func decode<T: PostgresDecodable>(_ column: Int, as type: T.Type = T.self) throws(PostgresError) -> T {
        guard let value = try decodeOptional(column, as: type) else {
            throw PostgresError(
                code: .decoding, message: "column \(result.columnNames[column]) is NULL",
                context: result.columnNames[column])
        }
        return value
    }

    /// Decodes a column that may be NULL.
    public func decodeOptional<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws(PostgresError)
        -> T?
    {
        try decodeOptional(result.columnIndex(column), as: type)
    }

    public func decodeOptional<T: PostgresDecodable>(_ column: Int, as type: T.Type = T.self) throws(PostgresError)
        -> T?
    {
        let oid = result.columnTypes[column]
        let outcome: T?? = result.withValue(row: index, column: column) { bytes in
            guard let bytes else { return .some(nil) }
            guard let value = T.decode(bytes, type: oid) else { return nil }
            return .some(value)
        }
        guard let outcome else {
            throw PostgresError(
                code: .decoding,
                message: "column \(result.columnNames[column]) (type oid \(oid)) cannot be read as \(T.self)",
                context: result.columnNames[column])
        }
        return outcome
    }

    /// True when the column is SQL NULL.
    public func isNull(_ column: String) throws(PostgresError) -> Bool {
        let c = try result.columnIndex(column)
        return result.withValue(row: index, column: c) { $0 == nil }
    }
}
