/// Archive entry names that never come unsanitised from data.
public enum EntryName {
    /// A relative path with no empty, `.` or `..` component, no backslash, no NUL or control characters.
    public static func isSafe(_ name: String) -> Bool {
        guard !name.isEmpty, !name.hasPrefix("/"), !name.contains("\\"), name.utf8.count <= 255 else { return false }
        guard !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return false }
        return name.split(separator: "/", omittingEmptySubsequences: false).allSatisfy {
            !$0.isEmpty && $0 != "." && $0 != ".."
        }
    }

    /// Makes one path component from untrusted text (a storage key, a name): keeps letters,
    /// digits, `.`, `-`, `_`; replaces anything else with `_`; never returns `.`, `..` or empty.
    public static func sanitizedComponent(_ text: String) -> String {
        var out = String(
            text.unicodeScalars.map { s -> Character in
                let ok =
                    (s.properties.isAlphabetic || s.properties.numericType != nil || "-_.".unicodeScalars.contains(s))
                return ok && s.value >= 0x20 ? Character(s) : "_"
            })
        while out.hasPrefix(".") { out = "_" + out.dropFirst() }
        if out.isEmpty { out = "_" }
        return String(out.prefix(120))
    }
}
