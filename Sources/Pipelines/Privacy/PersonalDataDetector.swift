import Foundation

/// Helps the DPO classify a column the map does not know, or doubt one it calls not personal:
/// what its name suggests and what a sample of its values looks like (emails, phone numbers,
/// IBANs, national ids, IP addresses, personal names). A hint, never a decision: the DPO still
/// classifies every column in the map.
public enum PersonalDataDetector {
    /// The data map category a column's name suggests, if any.
    public static func category(ofName column: String) -> String? {
        let name = column.lowercased()
        let rules: [(String, [String])] = [
            ("contact.email", ["email", "e_mail", "mail"]),
            ("contact.phone", ["phone", "mobile", "msisdn", "whatsapp"]),
            ("birth_data", ["dob", "birth"]), ("payment_reference", ["iban", "card", "account_number"]),
            ("identifier", ["passport", "national_id", "id_number", "ssn", "iqama", "emirates_id"]),
            ("network", ["ip_address", "user_agent", "ip"]),
            ("location", ["address", "street", "city", "postcode", "zip"]),
            ("name", ["first_name", "last_name", "full_name", "surname", "name"]),
        ]
        let words = Set(name.split(separator: "_").map(String.init))
        return rules.first { _, keys in
            keys.contains { $0.contains("_") ? name.contains($0) : words.contains($0) || name == $0 }
        }?.0
    }

    /// The category most sampled values match, with how many, when at least half do.
    public static func category(ofValues values: [String]) -> (category: String, matches: Int)? {
        let sample = values.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !sample.isEmpty else { return nil }
        var counts: [String: Int] = [:]
        for value in sample { if let kind = kind(of: value) { counts[kind, default: 0] += 1 } }
        guard let best = counts.max(by: { $0.value < $1.value }), best.value * 2 >= sample.count else { return nil }
        return (best.key, best.value)
    }

    /// One line for the DPO: "looks like contact.email (column name; 12 of 12 sampled values)".
    public static func hint(column: String, values: [String]) -> String? {
        let byName = category(ofName: column)
        let byValues = category(ofValues: values)
        guard let category = byValues?.category ?? byName else { return nil }
        var reasons: [String] = []
        if byName == category { reasons.append("column name") }
        if let byValues {
            reasons.append("\(byValues.matches) of \(values.filter { !$0.isEmpty }.count) sampled values")
        }
        return "looks like \(category) (\(reasons.joined(separator: "; ")))"
    }

    /// The category one value looks like.
    static func kind(of value: String) -> String? {
        if value.wholeMatch(of: /[^@\s]+@[^@\s]+\.[A-Za-z]{2,}/) != nil { return "contact.email" }
        if isIBAN(value) { return "payment_reference" }
        if value.wholeMatch(of: /784-?[0-9]{4}-?[0-9]{7}-?[0-9]/) != nil { return "identifier" }
        if value.wholeMatch(of: /[12][0-9]{9}/) != nil { return "identifier" }  // Saudi national id / iqama
        if value.wholeMatch(of: /([0-9]{1,3}\.){3}[0-9]{1,3}/) != nil { return "network" }
        let digits = String(
            value.unicodeScalars.compactMap { scalar -> Character? in
                if let d = scalar.properties.numericType.flatMap({ _ in scalar.properties.numericValue }) {
                    return Character(String(Int(d)))
                }
                return "+ -.()".unicodeScalars.contains(scalar) ? nil : "x"
            })
        let plus = value.hasPrefix("+") || value.hasPrefix("00")
        if !digits.contains("x"), (8...15).contains(digits.count), plus || digits.count >= 9 { return "contact.phone" }
        let words = value.split(separator: " ")
        if (2...4).contains(words.count),
            words.allSatisfy({ word in
                word.count >= 2 && word.allSatisfy { $0.isLetter || $0 == "-" || $0 == "'" }
                    && (word.first!.isUppercase || !word.first!.isCased)
            })
        {
            return "name"
        }
        return nil
    }

    /// ISO 13616: two letters, two check digits, 11–30 letters or digits, and mod 97 = 1.
    static func isIBAN(_ text: String) -> Bool {
        let value = text.replacingOccurrences(of: " ", with: "").uppercased()
        guard value.wholeMatch(of: /[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}/) != nil else { return false }
        let rearranged = value.dropFirst(4) + value.prefix(4)
        var remainder = 0
        for ch in rearranged {
            let number = ch.isNumber ? Int(String(ch))! : Int(ch.asciiValue! - 55)
            for digit in String(number) { remainder = (remainder * 10 + Int(String(digit))!) % 97 }
        }
        return remainder == 1
    }
}
