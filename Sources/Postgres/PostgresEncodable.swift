import Foundation

/// A Swift value that can be bound as a query parameter ($1, $2, ...).
///
/// Values always travel as parameters in libpq's text format, never spliced into SQL, so
/// there is no quoting to get wrong. `nil` text means SQL NULL.
public protocol PostgresEncodable: Sendable {
    var postgresText: String? { get }
}

/// SQL NULL as a parameter, for arrays of mixed parameters.
public struct PostgresNull: PostgresEncodable {
    public init() {}
    public var postgresText: String? { nil }
}

extension String: PostgresEncodable { public var postgresText: String? { self } }
extension Substring: PostgresEncodable { public var postgresText: String? { String(self) } }
extension Int: PostgresEncodable { public var postgresText: String? { String(self) } }
extension Int16: PostgresEncodable { public var postgresText: String? { String(self) } }
extension Int32: PostgresEncodable { public var postgresText: String? { String(self) } }
extension Int64: PostgresEncodable { public var postgresText: String? { String(self) } }
extension Double: PostgresEncodable { public var postgresText: String? { String(self) } }
extension Bool: PostgresEncodable { public var postgresText: String? { self ? "t" : "f" } }
extension UUID: PostgresEncodable { public var postgresText: String? { uuidString.lowercased() } }
extension LocalDate: PostgresEncodable { public var postgresText: String? { description } }
extension Numeric: PostgresEncodable { public var postgresText: String? { text } }

extension Date: PostgresEncodable {
    /// ISO 8601 in UTC with microseconds, which `timestamptz` parses without loss.
    public var postgresText: String? {
        let micros = (timeIntervalSince1970 * 1_000_000).rounded()
        let seconds = Int64((micros / 1_000_000).rounded(.down))
        let fraction = Int64(micros) - seconds * 1_000_000
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(
            format: "%04d-%02d-%02d %02d:%02d:%02d.%06lld+00", parts.tm_year + 1900, parts.tm_mon + 1,
            parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec, fraction)
    }
}

/// Binary data for `bytea`, sent in PostgreSQL's hex format.
extension [UInt8]: PostgresEncodable {
    public var postgresText: String? {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]("\\x".utf8)
        out.reserveCapacity(2 + count * 2)
        for byte in self {
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// JSON for `json`/`jsonb` parameters: the text is sent as is; the server validates it.
public struct JSONText: PostgresEncodable, Hashable {
    public let text: String
    public init(_ text: String) { self.text = text }
    /// Encodes a Codable value with sorted keys, so the same value always gives the same text.
    public init(encoding value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        self.text = String(decoding: try encoder.encode(value), as: UTF8.self)
    }
    public var postgresText: String? { text }
}

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public var postgresText: String? { self?.postgresText }
}

/// A one-dimensional array parameter: the one way a list reaches SQL. It travels as one bound
/// value in PostgreSQL's array text form (each element quoted, `nil` as NULL) and is cast in the
/// statement to its element type: `WHERE id = ANY($1::bigint[])`, `unnest($1::text[])`. So no
/// list is ever joined into the statement, and an element holding a comma, quote or brace is
/// still one element.
public struct PostgresArray: PostgresEncodable, Hashable {
    public let elements: [String?]

    public init<Element: PostgresEncodable>(_ elements: some Sequence<Element>) {
        self.elements = elements.map(\.postgresText)
    }

    /// Built byte by byte: retention makes three per batch of a thousand keys, and
    /// `replacingOccurrences` showed in its profiles. Only `"` and `\` are escaped, as the
    /// array parser needs; everything else (commas, braces, Arabic) is inside the quotes.
    public var postgresText: String? {
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        bytes.reserveCapacity(elements.reduce(2) { $0 + ($1?.utf8.count ?? 4) + 3 })
        for (i, element) in elements.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            guard let element else {
                bytes.append(contentsOf: "NULL".utf8)
                continue
            }
            bytes.append(UInt8(ascii: "\""))
            for byte in element.utf8 {
                if byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\"") { bytes.append(UInt8(ascii: "\\")) }
                bytes.append(byte)
            }
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }
}
