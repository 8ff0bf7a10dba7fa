import Foundation
import Postgres
import TestSupport
import Testing

@Suite("Postgres types", .tags(.database))
struct DecodingTests {
    let connection: Connection

    init() throws {
        connection = try Connection(try TestCluster.shared().freshDatabase())
    }

    @Test func integersBoolTextAndNull() throws {
        let row = try connection.query(
            "SELECT 7::int2 a, (-2147483648)::int4 b, 9223372036854775807::int8 c, true d, false e, 'سلام'::text f, NULL::text g"
        )[0]
        #expect(try row.decode("a", as: Int16.self) == 7)
        #expect(try row.decode("b", as: Int32.self) == Int32.min)
        #expect(try row.decode("c", as: Int64.self) == Int64.max)
        #expect(try row.decode("d", as: Bool.self) == true)
        #expect(try row.decode("e", as: Bool.self) == false)
        #expect(try row.decode("f", as: String.self) == "سلام")
        #expect(try row.decodeOptional("g", as: String.self) == nil)
        let error = #expect(throws: PostgresError.self) { try row.decode("g", as: String.self) }
        #expect(error?.context == "g")
    }

    @Test func typeMismatchNamesTheColumn() throws {
        let row = try connection.query("SELECT 'x'::text AS label")[0]
        let error = #expect(throws: PostgresError.self) { try row.decode("label", as: Int64.self) }
        #expect(error?.code == .decoding)
        #expect(error?.message.contains("label") == true)
    }

    @Test func uuidDateTimestampNumericExactly() throws {
        let id = UUID()
        let row = try connection.query(
            """
            SELECT $1::uuid u, '2024-02-29'::date d, '2025-03-30 01:59:59.123456+03'::timestamptz t,
                   '12345678901234567890.123456789'::numeric n, '-0.005'::numeric(6,3) k
            """, [id])[0]
        #expect(try row.decode("u", as: UUID.self) == id)
        #expect(try row.decode("d", as: LocalDate.self) == LocalDate(year: 2024, month: 2, day: 29))
        let t = try row.decode("t", as: Date.self)
        #expect(abs(t.timeIntervalSince1970 - 1_743_289_199.123456) < 0.000001)
        #expect(try row.decode("n", as: Numeric.self).text == "12345678901234567890.123456789")
        #expect(try row.decode("k", as: Numeric.self).minorUnits(exponent: 3) == -5)
    }

    @Test func timestampParameterRoundTripsToTheMicrosecond() throws {
        let instant = Date(timeIntervalSince1970: 1_700_000_000.654321)
        let back: Date = try #require(try connection.scalar("SELECT $1::timestamptz", [instant]))
        #expect(abs(back.timeIntervalSince1970 - instant.timeIntervalSince1970) < 0.000001)
    }

    @Test func byteaJSONAndEnums() throws {
        let bytes: [UInt8] = [0, 1, 0x7F, 0x80, 0xFF]
        let row = try connection.query(
            "SELECT $1::bytea b, '{\"a\": [1, \"ب\"]}'::jsonb j, 'delivered'::order_status s", [bytes])[0]
        #expect(try row.decode("b", as: [UInt8].self) == bytes)
        #expect(try row.decode("j", as: JSONText.self).text == "{\"a\": [1, \"ب\"]}")
        #expect(try row.decode("s", as: String.self) == "delivered")
    }

    @Test func parametersAreValuesNeverSQL() throws {
        let hostile = "x'); DROP TABLE profiles; --"
        let echoed: String? = try connection.scalar("SELECT $1::text", [hostile])
        #expect(echoed == hostile)
        #expect(try connection.scalar("SELECT to_regclass('profiles') IS NOT NULL", as: Bool.self) == true)
        #expect(try connection.scalar("SELECT $1::text IS NULL", [PostgresNull()], as: Bool.self) == true)
    }

    @Test func numericMinorUnitsRefusesRounding() {
        #expect(Numeric("12.345")?.minorUnits(exponent: 2) == nil)
        #expect(Numeric("12.340")?.minorUnits(exponent: 2) == 1234)
        #expect(Numeric("1.5")?.minorUnits(exponent: 3) == 1500)
        #expect(Numeric("100")?.minorUnits(exponent: 0) == 100)
        #expect(Numeric("1e5") == nil)
        #expect(Numeric("99999999999999999999")?.minorUnits(exponent: 2) == nil)
    }
}

extension Tag {
    @Tag static var database: Self
}
