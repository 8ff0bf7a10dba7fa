import Foundation
import Postgres

/// Benchmarks of the PostgreSQL layer, driven by bench/run.sh against the same table that the
/// peers (psql, psycopg) read in the same run. Prints one JSON line per measurement.
///   samia-bench copy-out SQL     COPY (SQL) TO STDOUT into /dev/null
///   samia-bench decode SQL       SELECT, decoding every column to a typed Swift value
let args = CommandLine.arguments
guard args.count == 3 else {
    FileHandle.standardError.write(Data("usage: samia-bench copy-out|decode SQL\n".utf8))
    exit(64)
}
let connection = try Connection(try ConnectionConfiguration())
let start = Date()
switch args[1] {
case "copy-out":
    let sink = FileHandle(forWritingAtPath: "/dev/null")!
    var bytes = 0
    let rows = try connection.copyOut("COPY (\(args[2])) TO STDOUT") { chunk in
        bytes += chunk.count
        sink.write(
            Data(
                bytesNoCopy: UnsafeMutableRawPointer(mutating: chunk.baseAddress!), count: chunk.count,
                deallocator: .none))
    }
    let seconds = Date().timeIntervalSince(start)
    print("{\"tool\":\"samia-batch\",\"mode\":\"copy-out\",\"rows\":\(rows),\"bytes\":\(bytes),\"seconds\":\(seconds)}")
case "decode":
    let result = try connection.query(args[2])
    var checksum: Int64 = 0
    for row in result {
        checksum &+= try row.decode(0, as: Int64.self)
        checksum &+= Int64(try row.decode(1, as: String.self).utf8.count)
        checksum &+= try row.decode(2, as: Numeric.self).minorUnits(exponent: 2) ?? 0
        checksum &+= Int64(try row.decode(3, as: Date.self).timeIntervalSince1970)
        checksum &+= try row.decode(4, as: Bool.self) ? 1 : 0
        checksum &+= Int64(try row.decode(5, as: UUID.self).uuid.0)
    }
    let seconds = Date().timeIntervalSince(start)
    print(
        "{\"tool\":\"samia-batch\",\"mode\":\"decode\",\"rows\":\(result.count),\"checksum\":\(checksum),\"seconds\":\(seconds)}"
    )
default:
    exit(64)
}
