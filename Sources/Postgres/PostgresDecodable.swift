import Foundation

/// The type OIDs of PostgreSQL's built-in types that decoding checks against.
public enum PostgresType {
    public static let bool: UInt32 = 16
    public static let bytea: UInt32 = 17
    public static let name: UInt32 = 19
    public static let int8: UInt32 = 20
    public static let int2: UInt32 = 21
    public static let int4: UInt32 = 23
    public static let text: UInt32 = 25
    public static let oid: UInt32 = 26
    public static let json: UInt32 = 114
    public static let float4: UInt32 = 700
    public static let float8: UInt32 = 701
    public static let bpchar: UInt32 = 1042
    public static let varchar: UInt32 = 1043
    public static let date: UInt32 = 1082
    public static let time: UInt32 = 1083
    public static let timestamp: UInt32 = 1114
    public static let timestamptz: UInt32 = 1184
    public static let numeric: UInt32 = 1700
    public static let uuid: UInt32 = 2950
    public static let jsonb: UInt32 = 3802
}

/// A Swift type that can be read from one column of a result row in text format.
///
/// `decode` sees the raw bytes libpq holds (no intermediate String for numbers), so decoding
/// a million rows costs little more than libpq's own parsing.
public protocol PostgresDecodable {
    /// Returns nil when the bytes are not a valid value of this type for that column type.
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, type: UInt32) -> Self?
}

@inline(__always)
func parseInteger(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
    guard !bytes.isEmpty else { return nil }
    var index = 0
    var negative = false
    if bytes[0] == UInt8(ascii: "-") {
        negative = true
        index = 1
    }
    guard index < bytes.count else { return nil }
    var value: Int64 = 0
    while index < bytes.count {
        let digit = bytes[index] &- UInt8(ascii: "0")
        guard digit < 10 else { return nil }
        let (m, o1) = value.multipliedReportingOverflow(by: 10)
        let (s, o2) = negative ? m.subtractingReportingOverflow(Int64(digit)) : m.addingReportingOverflow(Int64(digit))
        guard !o1, !o2 else { return nil }
        value = s
        index += 1
    }
    return value
}

extension Int64: PostgresDecodable {
    public static func decode(_ bytes: UnsafeBufferPointer<UInt8>, type: UInt32) -> Int64? {
        guard [PostgresType.int2, PostgresType.int4, PostgresType.int8, PostgresType.oid].contains(type) else {
            return nil
        }
        return parseInteger(bytes)
    }
}

extension Int: PostgresDecodable {
    public static func decode(_ bytes: UnsafeBufferPointer<UInt8>, type: UInt32) -> Int? {
        Int64.decode(bytes, type: type).map(Int.init)
    }
}

extension Int32: PostgresDecodable {
    public static func decode(_ bytes: UnsafeBufferPointer<UInt8>, type: UInt32) -> Int32? {
        Int64.decode(bytes, type: type).flatMap(Int32.init(exactly:))
    }
}

extension Int16: PostgresDecodable {
    public static func decode(_ bytes: UnsafeBufferPointer<UInt8>, type: UInt32) -> Int16? {
        Int64.decode(bytes, type: type).flatMap(Int16.init(exactly:))
    }
}

extension Double: PostgresDecodable {
    public static func decode(_ bytes: UnsafeBufferPointer<UInt8>, type: UInt32) -> Double? {
        guard
            [
                PostgresType.float4, PostgresType.float8, PostgresType.numeric, PostgresType.int2, PostgresType.int4,
                PostgresType.int8,
            ].contains(type)
        else { return nil }
        return Double(String(decoding: bytes, as: UTF8.self))
    }
}

extension Bool: PostgresDecodable {
    public static func decode(_ bytes: UnsafeBufferPointer<UInt8>, type: UInt32) -> Bool? {
        guard type == PostgresType.bool, bytes.count == 1 else { return nil }
        switch bytes[0] {
        case UInt8(ascii: "t"): return true
        case UInt8(ascii: "f"): return false
        default: return nil
        }
    }
}

/// Text decodes from any column: text, varchar, enums, json, and the text form of anything else.
extension String: PostgresDecodable {
    public static func decode(_ bytes: UnsafeBufferPointer<UInt8>, type: UInt32) -> String? {
        String(decoding: bytes, as: UTF8.self)
    }
}

extension UUID: PostgresDecodable {
    public static func decode(_ bytes: UnsafeBufferPointer<UInt8>, type: UInt32) -> UUID? {
        guard type == PostgresType.uuid else { return nil }
        return UUID(uuidString: String(decoding: bytes, as: UTF8.self))
    }
}

extension LocalDate: PostgresDecodable {
    public static func decode(_ bytes: UnsafeBufferPointer<UInt8>, type: UInt32) -> LocalDate? {
        guard type == PostgresType.date else { return nil }
        return LocalDate(String(decoding: bytes, as: UTF8.self))
    }
}

extension Numeric: PostgresDecodable {
    public static func decode(_ bytes: UnsafeBufferPointer<UInt8>, type: UInt32) -> Numeric? {
        guard [PostgresType.numeric, PostgresType.int2, PostgresType.int4, PostgresType.int8].contains(type) else {
            return nil
        }
        return Numeric(String(decoding: bytes, as: UTF8.self))
    }
}

extension JSONText: PostgresDecodable {
    public static func decode(_ bytes: UnsafeBufferPointer<UInt8>, type: UInt32) -> JSONText? {
        guard type == PostgresType.json || type == PostgresType.jsonb else { return nil }
        return JSONText(String(decoding: bytes, as: UTF8.self))
    }
}

/// `bytea` in the hex output format (the default since PostgreSQL 9.0).
extension [UInt8]: PostgresDecodable {
    public static func decode(_ bytes: UnsafeBufferPointer<UInt8>, type: UInt32) -> [UInt8]? {
        guard type == PostgresType.bytea, bytes.count >= 2, bytes[0] == UInt8(ascii: "\\"),
            bytes[1] == UInt8(ascii: "x"), bytes.count % 2 == 0
        else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity((bytes.count - 2) / 2)
        var i = 2
        while i < bytes.count {
            guard let hi = nibble(bytes[i]), let lo = nibble(bytes[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }
}

/// `timestamptz` (the session runs in UTC, so the server sends `+00`) and `timestamp` (read as UTC).
extension Date: PostgresDecodable {
    public static func decode(_ bytes: UnsafeBufferPointer<UInt8>, type: UInt32) -> Date? {
        guard type == PostgresType.timestamptz || type == PostgresType.timestamp else { return nil }
        // YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM[:SS]]]
        guard bytes.count >= 19 else { return nil }
        func num(_ from: Int, _ length: Int) -> Int? {
            var v = 0
            for i in from..<(from + length) {
                let d = bytes[i] &- UInt8(ascii: "0")
                guard d < 10 else { return nil }
                v = v * 10 + Int(d)
            }
            return v
        }
        guard let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2), let h = num(11, 2), let mi = num(14, 2),
            let s = num(17, 2)
        else { return nil }
        var index = 19
        var micros = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var digits = 0
            while index < bytes.count, bytes[index] &- UInt8(ascii: "0") < 10 {
                if digits < 6 {
                    micros = micros * 10 + Int(bytes[index] - UInt8(ascii: "0"))
                    digits += 1
                }
                index += 1
            }
            while digits < 6 {
                micros *= 10
                digits += 1
            }
        }
        var offsetSeconds = 0
        if index < bytes.count {
            let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            let rest = Array(bytes[index...]).filter { $0 != UInt8(ascii: ":") }
            var parts = [0, 0, 0]
            for (i, chunk) in stride(from: 0, to: rest.count, by: 2).enumerated() where i < 3 && chunk + 1 < rest.count
            {
                parts[i] = Int(rest[chunk] - 48) * 10 + Int(rest[chunk + 1] - 48)
            }
            offsetSeconds = sign * (parts[0] * 3600 + parts[1] * 60 + parts[2])
        }
        let days = daysFromCivil(y, mo, d)
        let seconds = Int64(days) * 86_400 + Int64(h * 3600 + mi * 60 + s) - Int64(offsetSeconds)
        return Date(timeIntervalSince1970: Double(seconds) + Double(micros) / 1_000_000)
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
}
