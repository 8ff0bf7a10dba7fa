/// An exact PostgreSQL `numeric`, kept as its decimal text so nothing is lost to floating point.
///
/// Money in this project is `Int64` minor units; `minorUnits(exponent:)` converts a
/// `numeric(12,2)` price exactly and refuses a value that would need rounding.
public struct Numeric: Sendable, Hashable, CustomStringConvertible {
    /// Canonical decimal text, e.g. `-12.50`.
    public let text: String

    /// Accepts an optional sign, digits, and an optional fraction. Rejects exponents, NaN, spaces.
    public init?(_ text: String) {
        var body = Substring(text)
        if body.first == "-" || body.first == "+" { body = body.dropFirst() }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty || (parts.count == 2 && !parts[1].isEmpty),
            parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } })
        else { return nil }
        self.text = text.hasPrefix("+") ? String(text.dropFirst()) : text
    }

    /// The value in minor units for a currency exponent (2 for USD, 3 for KWD, 0 for JPY);
    /// nil if it has more significant decimals than the exponent allows or overflows Int64.
    public func minorUnits(exponent: Int) -> Int64? {
        let negative = text.hasPrefix("-")
        let unsigned = negative ? text.dropFirst() : Substring(text)
        let parts = unsigned.split(separator: ".", omittingEmptySubsequences: false)
        var fraction = parts.count == 2 ? String(parts[1]) : ""
        while fraction.count > exponent, fraction.last == "0" { fraction.removeLast() }
        guard fraction.count <= exponent else { return nil }
        fraction += String(repeating: "0", count: exponent - fraction.count)
        let digits = String(parts[0]) + fraction
        guard let magnitude = Int64(digits.isEmpty ? "0" : digits) else { return nil }
        return negative ? -magnitude : magnitude
    }

    public var description: String { text }
}
