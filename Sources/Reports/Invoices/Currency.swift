/// ISO 4217 minor-unit exponents and exact formatting of minor-unit amounts. Money is always
/// an `Int64` count of minor units; nothing here goes through floating point.
public enum Currency {
    /// Currencies with three decimals (thousandths).
    static let three: Set<String> = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"]
    /// Currencies without minor units.
    static let zero: Set<String> = [
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF",
        "XPF",
    ]
    /// Two-decimal currencies this service can be paid in or settled to. Anything outside the
    /// three lists is refused rather than guessed.
    static let two: Set<String> = [
        "AED", "AUD", "BRL", "CAD", "CHF", "CNY", "CZK", "DKK", "DZD", "EGP", "EUR", "GBP", "HKD", "HUF", "ILS", "INR",
        "LBP", "MAD", "MXN", "NOK", "NZD", "PLN", "QAR", "RON", "RUB", "SAR", "SEK", "SGD", "SYP", "THB", "TRY", "TWD",
        "UAH", "USD", "YER", "ZAR",
    ]

    /// Every code this service knows, with its exponent (for checks done inside PostgreSQL).
    public static var exponents: [String: Int] {
        var all: [String: Int] = [:]
        for code in three { all[code] = 3 }
        for code in zero { all[code] = 0 }
        for code in two { all[code] = 2 }
        return all
    }

    /// The exponent, or nil for a code this service does not know.
    public static func exponent(_ code: String) -> Int? {
        if three.contains(code) { return 3 }
        if zero.contains(code) { return 0 }
        if two.contains(code) { return 2 }
        return nil
    }

    /// Plain decimal text ("1150.00", "-0.500", "1000"), as the ZATCA QR and CSVs want it.
    public static func decimal(_ minor: Int64, exponent: Int) -> String {
        let negative = minor < 0
        let magnitude = minor.magnitude
        var text: String
        if exponent == 0 {
            text = String(magnitude)
        } else {
            var divisor: UInt64 = 1
            for _ in 0..<exponent { divisor *= 10 }
            let fraction = String(magnitude % divisor)
            text = "\(magnitude / divisor)." + String(repeating: "0", count: exponent - fraction.count) + fraction
        }
        return negative ? "-" + text : text
    }

    /// Display text with thousands separators ("1,150.00").
    public static func display(_ minor: Int64, exponent: Int) -> String {
        let plain = decimal(minor, exponent: exponent)
        let negative = plain.hasPrefix("-")
        let body = negative ? String(plain.dropFirst()) : plain
        let parts = body.split(separator: ".", maxSplits: 1)
        var integer = Array(parts[0])
        var grouped = ""
        while integer.count > 3 {
            grouped = "," + String(integer.suffix(3)) + grouped
            integer.removeLast(3)
        }
        grouped = String(integer) + grouped
        if parts.count == 2 { grouped += "." + parts[1] }
        return negative ? "-" + grouped : grouped
    }
}
