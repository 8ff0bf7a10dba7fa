import CLibPQ
import Foundation

extension Connection {
    /// Streams `COPY ... TO STDOUT` into `sink` in chunks of about `chunkSize` bytes.
    ///
    /// libpq hands over one row per `PQgetCopyData` call; rows are gathered into one buffer
    /// so the sink (a file, an archive entry, a hash) sees few large writes. Memory stays at
    /// one chunk whatever the table size.
    /// - Returns: the number of rows the server reports copied.
    @discardableResult
    public func copyOut(
        _ sql: String, chunkSize: Int = 1 << 16, into sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> Int {
        try withHandleThrowing { conn in
            let start = try Connection.check(PQexec(conn, sql), conn: conn, target: configuration.displayTarget)
            _ = start
            var chunk = [UInt8]()
            chunk.reserveCapacity(chunkSize + 4096)
            var sinkError: (any Error)?
            while true {
                var buffer: UnsafeMutablePointer<CChar>?
                let length = PQgetCopyData(conn, &buffer, 0)
                if length > 0, let buffer {
                    if sinkError == nil {
                        buffer.withMemoryRebound(to: UInt8.self, capacity: Int(length)) {
                            chunk.append(contentsOf: UnsafeBufferPointer(start: $0, count: Int(length)))
                        }
                        if chunk.count >= chunkSize {
                            do { try chunk.withUnsafeBytes(sink) } catch { sinkError = error }
                            chunk.removeAll(keepingCapacity: true)
                        }
                    }
                    PQfreemem(buffer)
                    continue
                }
                if length == -1 { break }
                // -2: the connection failed mid-stream.
                throw Connection.connectionError(conn, target: configuration.displayTarget)
            }
            if sinkError == nil, !chunk.isEmpty {
                do { try chunk.withUnsafeBytes(sink) } catch { sinkError = error }
            }
            let final = try Connection.drain(conn, target: configuration.displayTarget)
            if let sinkError { throw sinkError }
            return final
        }
    }

    /// Feeds `COPY ... FROM STDIN` from `source`, which returns the next chunk or nil at the end.
    ///
    /// If `source` throws, the COPY is aborted on the server (nothing is inserted) and the
    /// error is rethrown, so a bad input file never leaves half its rows behind.
    /// - Returns: the number of rows the server reports copied.
    @discardableResult
    public func copyIn(_ sql: String, from source: () throws -> [UInt8]?) throws -> Int {
        try withHandleThrowing { conn in
            _ = try Connection.check(PQexec(conn, sql), conn: conn, target: configuration.displayTarget)
            var sourceError: (any Error)?
            while true {
                let next: [UInt8]?
                do { next = try source() } catch {
                    sourceError = error
                    break
                }
                guard let next else { break }
                if next.isEmpty { continue }
                let status = next.withUnsafeBufferPointer { buffer in
                    buffer.withMemoryRebound(to: CChar.self) { PQputCopyData(conn, $0.baseAddress, Int32($0.count)) }
                }
                if status != 1 { throw Connection.connectionError(conn, target: configuration.displayTarget) }
            }
            if let sourceError {
                _ = PQputCopyEnd(conn, "aborted by samia-batch: input error")
                _ = try? Connection.drain(conn, target: configuration.displayTarget)
                throw sourceError
            }
            guard PQputCopyEnd(conn, nil) == 1 else {
                throw Connection.connectionError(conn, target: configuration.displayTarget)
            }
            return try Connection.drain(conn, target: configuration.displayTarget)
        }
    }

    /// Reads the results that follow a COPY until libpq has none left; returns the row count.
    static func drain(_ conn: OpaquePointer, target: String) throws(PostgresError) -> Int {
        var rows = 0
        var failure: PostgresError?
        while let result = PQgetResult(conn) {
            if PQresultStatus(result) == PGRES_COMMAND_OK {
                rows = Int(String(cString: PQcmdTuples(result))) ?? rows
            } else if failure == nil {
                failure = resultError(result, conn: conn, target: target)
            }
            PQclear(result)
        }
        if let failure { throw failure }
        return rows
    }

    func withHandleThrowing<T>(_ body: (OpaquePointer) throws -> T) throws -> T {
        var outcome: Result<T, any Error>!
        try withHandle { conn throws(PostgresError) in
            outcome = Result { try body(conn) }
        }
        return try outcome.get()
    }
}
