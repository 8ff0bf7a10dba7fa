import Foundation
import Postgres
import TestSupport
import Testing

/// The one way a list reaches SQL: one bound parameter in PostgreSQL's array text form. The text
/// is checked byte for byte, and PostgreSQL itself must read back exactly the elements sent, so
/// an element with a quote, backslash, comma or brace can never split or end the list.
@Suite("PostgreSQL array parameters", .tags(.database))
struct PostgresArrayTests {
    @Test func quotesEveryElementAndEscapesOnlyWhatPostgresNeeds() {
        #expect(PostgresArray([String]()).postgresText == "{}")
        #expect(PostgresArray(["1", "22"]).postgresText == #"{"1","22"}"#)
        #expect(PostgresArray([#"a"b"#, #"c\d"#, "e,f}", "نجمة"]).postgresText == #"{"a\"b","c\\d","e,f}","نجمة"}"#)
        #expect(PostgresArray([Int64(7), -3]).postgresText == #"{"7","-3"}"#)
        #expect(PostgresArray([Optional("x"), nil]).postgresText == #"{"x",NULL}"#)
    }

    @Test func postgresReadsBackExactlyTheElementsSent() throws {
        let db = try Connection(try TestCluster.shared().freshDatabase(migrated: false))
        defer { db.close() }
        let hostile = [#"a"b"#, #"c\d"#, "e,f}", "{g}", "NULL", "", " h ", "نجمة", "x'); DROP TABLE t; --"]
        let back = try db.query(
            "SELECT e FROM unnest($1::text[]) WITH ORDINALITY u(e, n) ORDER BY n",
            [
                PostgresArray(hostile)
            ]
        ).map { try $0.decode(0, as: String.self) }
        #expect(back == hostile)
        #expect(
            try db.scalar(
                "SELECT $1::text[] IS NOT NULL AND cardinality($1::text[]) = 2 AND ($1::text[])[2] IS NULL",
                [PostgresArray([Optional("x"), nil])], as: Bool.self) == true)
        #expect(try db.scalar("SELECT 22 = ANY($1::bigint[])", [PostgresArray([Int64(1), 22])], as: Bool.self) == true)
        #expect(try db.scalar("SELECT 3 = ANY($1::bigint[])", [PostgresArray([Int64]())], as: Bool.self) == false)
    }
}
