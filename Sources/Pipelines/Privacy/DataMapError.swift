import Runner

/// A data map that cannot be trusted. Every privacy job stops on it (exit 78) with the table
/// or column to fix, because exporting or erasing from a wrong map loses data or misses it.
public enum DataMapError: Error, CustomStringConvertible, Equatable {
    case unreadable(file: String, reason: String)
    case invalid(file: String, table: String?, reason: String)
    case missingTable(file: String, table: String)
    case missingColumn(file: String, table: String, column: String)
    case badPath(file: String, table: String, path: String, reason: String)
    /// Columns of mapped tables, and tables of the governed schema, that the map does not
    /// classify: the database holds something the DPO has not decided about.
    /// `keys`: keys seen in a JSON column's data that its declarations do not name
    /// (`table.column: key`). `hints`: what some of those look like (`PersonalDataDetector`).
    case unclassified(
        file: String, columns: [String], tables: [String], keys: [String] = [], hints: [String: String] = [:])

    public var description: String {
        switch self {
        case .unreadable(let file, let reason): return "\(file): cannot be read: \(reason)"
        case .invalid(let file, let table, let reason):
            return "\(file): \(table.map { "table \($0): " } ?? "")\(reason)"
        case .missingTable(let file, let table): return "\(file): table \(table) does not exist in the database"
        case .missingColumn(let file, let table, let column):
            return "\(file): column \(table).\(column) does not exist in the database"
        case .badPath(let file, let table, let path, let reason):
            return "\(file): table \(table): reach \"\(path)\": \(reason)"
        case .unclassified(let file, let columns, let tables, let keys, let hints):
            var parts: [String] = []
            if !columns.isEmpty {
                parts.append(
                    "columns not classified (add each to personal with a category, or to not_personal): "
                        + columns.joined(separator: ", "))
            }
            if !tables.isEmpty {
                parts.append(
                    "tables neither mapped, excluded nor listed as not_personal: " + tables.joined(separator: ", "))
            }
            if !keys.isEmpty {
                parts.append(
                    "JSON keys seen in the data but not declared (add each to json_personal_keys or "
                        + "json_not_personal_keys of its column): " + keys.joined(separator: ", "))
            }
            if !hints.isEmpty {
                parts.append(
                    "to help classify: " + hints.keys.sorted().map { "\($0) \(hints[$0]!)" }.joined(separator: ", "))
            }
            return "\(file): \(parts.joined(separator: "; ")). Nothing was exported, erased or deleted"
        }
    }
}

extension DataMapError: ExitStatusReporting {
    /// The data map is the DPO's configuration: a map that does not hold stops every privacy job.
    /// An unclassified column or table is the data's news, not a typo in the map: 65.
    public var exitStatus: ExitStatus {
        if case .unclassified = self { return .dataError }
        return .configuration
    }
}
