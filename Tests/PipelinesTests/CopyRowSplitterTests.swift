@testable import Privacy
import Foundation
import Postgres
import TestSupport
import Testing

/// An export reads each table once, as its rows' JSON followed by their CSV columns, and splits
/// that stream into the two files. PostgreSQL is the oracle: the split halves must equal what
/// it writes for the CSV alone and for the JSON alone, whatever the values hold (quotes, commas,
/// line breaks, Arabic, NULLs) and wherever the stream is cut.
@Suite("COPY row splitter", .tags(.database))
struct CopyRowSplitterTests {
    let connection: Connection

    init() throws {
        connection = try Connection(try TestCluster.shared().freshDatabase())
        try connection.execute(
            """
            CREATE TABLE t (id int, note text, data jsonb, "odd, name" text);
            INSERT INTO t VALUES
              (1, 'plain', '{"a": 1}', 'x'),
              (2, E'two\\nlines, and "quotes"', '{"say": "he said \\"hi\\"", "n": [1, 2]}', NULL),
              (3, NULL, NULL, ''),
              (4, E'سؤال\\r\\nعن "العمل"', '{"ar": "نص"}', E'"\\n"'),
              (5, '""', '[]', ',');
            """)
    }

    static let select = "SELECT id, note, data, \"odd, name\" FROM t ORDER BY id"

    /// The server's own CSV of the columns, and its JSON rows joined as the export joins them.
    func oracle(where condition: String = "true") throws -> (csv: [UInt8], json: [UInt8]) {
        var csv = [UInt8]()
        _ = try connection.copyOut(
            "COPY (SELECT * FROM (\(Self.select)) x WHERE \(condition)) TO STDOUT WITH (FORMAT csv, HEADER)"
        ) { csv.append(contentsOf: $0) }
        let json: String? = try connection.scalar(
            "SELECT string_agg(row_to_json(x)::text, E',\\n' ORDER BY id) FROM (\(Self.select)) x WHERE \(condition)")
        return (csv, Array((json ?? "").utf8))
    }

    func stream(where condition: String = "true") throws -> [UInt8] {
        var bytes = [UInt8]()
        _ = try connection.copyOut(
            "COPY (SELECT row_to_json(x)::text, x.* FROM (\(Self.select)) x WHERE \(condition)) TO STDOUT WITH (FORMAT csv, HEADER)"
        ) { bytes.append(contentsOf: $0) }
        return bytes
    }

    func split(_ bytes: [UInt8], cutAt cuts: [Int]) throws -> (csv: [UInt8], json: [UInt8], rows: Int) {
        var splitter = CopyRowSplitter()
        var csv = [UInt8]()
        var json = [UInt8]()
        var start = 0
        for end in cuts + [bytes.count] {
            try bytes[start..<end].withUnsafeBytes { try splitter.feed($0, csv: &csv, json: &json) }
            start = end
        }
        try splitter.finish()
        return (csv, json, splitter.rows)
    }

    @Test func theHalvesEqualTheServersCSVAndJSONWhereverTheStreamIsCut() throws {
        let bytes = try stream()
        let expected = try oracle()
        #expect(String(decoding: expected.csv, as: UTF8.self).contains("\"two\nlines, and \"\"quotes\"\"\""))
        for cut in 0...bytes.count {
            let got = try split(bytes, cutAt: [cut])
            #expect(got.csv == expected.csv, "cut at \(cut)")
            #expect(got.json == expected.json, "cut at \(cut)")
            #expect(got.rows == 5)
        }
        let bytewise = try split(bytes, cutAt: Array(1..<bytes.count))
        #expect(bytewise.csv == expected.csv && bytewise.json == expected.json)
    }

    @Test func noRowsLeaveTheHeaderAndNoJSON() throws {
        let got = try split(try stream(where: "false"), cutAt: [])
        let expected = try oracle(where: "false")
        #expect(got.csv == expected.csv && got.csv.count > 10)
        #expect(got.json.isEmpty && got.rows == 0)
    }

    @Test func aStreamThatIsNotSuchACopyIsRefused() throws {
        let bytes = try stream()
        #expect(throws: CopyRowSplitter.SplitError.self) { try split(Array(bytes.dropLast()), cutAt: []) }
        #expect(throws: CopyRowSplitter.SplitError.self) { try split([], cutAt: []) }
        #expect(throws: CopyRowSplitter.SplitError.self) {
            try split(Array("json,id\n\"{}\"x,1\n".utf8), cutAt: [])
        }
    }
}
