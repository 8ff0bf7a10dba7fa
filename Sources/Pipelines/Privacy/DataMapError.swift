import Runner

/// A data map that cannot be trusted. Every privacy job stops on it (exit 78) with the table
/// or column to fix, because exporting or erasing from a wrong map loses data or misses it.
public enum DataMapError: Error, CustomStringConvertible, Equatable {
    case unreadable(file: String, reason: String)
    case invalid(file: String, table: String?, reason: String)
    case missingTable(file: String, table: String)
    case missingColumn(file: String, table: String, column: String)
    case badPath(file: String, table: String, path: String, reason: String)
    /// A table whose foreign keys reach the subject but that the map neither covers nor excludes.
    case unmapped(file: String, tables: [String: String])

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
        case .unmapped(let file, let tables):
            let list = tables.keys.sorted().map { "\($0) (via \(tables[$0]!))" }.joined(separator: ", ")
            return "\(file): these tables reference a person but are neither mapped nor excluded with a reason: \(list)"
        }
    }
}

extension DataMapError: ExitStatusReporting {
    /// The data map is the DPO's configuration: a map that does not hold stops every privacy job.
    public var exitStatus: ExitStatus { .configuration }
}
