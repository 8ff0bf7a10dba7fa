import Foundation

/// ISO 8601 times as people type them into options, environment variables and documents.
/// Foundation's formatter rolls an impossible time over (2026-02-30 becomes 2 March, 25:00 the
/// next day), which would move a legal deadline or a document's date without a word: the fields
/// as written must name a real day and time first.
public enum ISOTime {
    /// `2026-12-01T09:30:00Z`, with an offset or fractional seconds too; nil when not such a time.
    public static func parse(_ text: String) -> Date? {
        guard isReal(text) else { return nil }
        let plain = ISO8601DateFormatter()
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions.insert(.withFractionalSeconds)
        return plain.date(from: text) ?? fractional.date(from: text)
    }

    /// Whether the date and time fields (the first 19 characters) name a real day and time.
    static func isReal(_ text: String) -> Bool {
        let chars = Array(text.utf8)
        guard chars.count >= 19 else { return false }
        func number(_ range: Range<Int>) -> Int? { Int(String(decoding: chars[range], as: UTF8.self)) }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19)
        else { return false }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return DateComponents(calendar: calendar, year: year, month: month, day: day).isValidDate
            && hour < 24 && minute < 60 && second < 60
    }
}
