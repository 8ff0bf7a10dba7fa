/// Quoting for identifiers that come from policy files and the catalog (table and column
/// names), so a name with a capital or a quote in it is still one identifier in the SQL.
enum SQLIdentifier {
    static func quote(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// A string literal, for values that end up inside SQL the matrix wrote (`:uid`, `:app_role`).
    static func literal(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "'", with: "''") + "'"
    }
}
