/// Quoting for identifiers that come from policy files and the catalog (table and column
/// names), so a name with a capital or a quote in it is still one identifier in the SQL.
/// Values are never quoted into SQL text: they are bound as parameters.
public enum SQLIdentifier {
    public static func quote(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// A string literal, for values that end up inside SQL the matrix wrote (`:uid`, `:app_role`).
    public static func literal(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "'", with: "''") + "'"
    }
}
