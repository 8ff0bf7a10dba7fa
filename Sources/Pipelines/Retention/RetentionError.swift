import Foundation
import Runner

/// Why the purge refused to delete. Every case names the rule (and the table or column) and
/// says what to change; none of them is raised after a row was deleted in that rule.
public enum RetentionError: Error, CustomStringConvertible, Equatable {
    /// The policy file is wrong: a field, a table no rule may purge, a bad prefix.
    case policy(file: String, rule: String?, reason: String)
    /// A table or column the rule names does not exist or has the wrong type.
    case schema(rule: String, reason: String)
    /// The cutoff would fall inside the keep period: a configuration below the platform's
    /// floor, or a host clock that disagrees with the database's.
    case cutoffInsideKeepPeriod(rule: String, reason: String)
    /// The run would delete more than the rule's fraction of the table, or more than `--max-rows`.
    case tooMany(rule: String, rows: Int64, limit: String)
    case unknownRule(String, known: [String])

    public var description: String {
        switch self {
        case .policy(let file, let rule, let reason):
            return "\(file): retention\(rule.map { " rule \($0)" } ?? ""): \(reason)"
        case .schema(let rule, let reason): return "retention rule \(rule): \(reason)"
        case .cutoffInsideKeepPeriod(let rule, let reason):
            return "retention rule \(rule) refused: its cutoff would fall inside the keep period: \(reason)"
        case .tooMany(let rule, let rows, let limit):
            return
                "retention rule \(rule) stopped before deleting: \(rows) row(s) are due, more than \(limit). "
                + "Check the rule and the data; if it is right, run it with a higher --max-rows or --max-fraction."
        case .unknownRule(let name, let known):
            return "no retention rule \"\(name)\" (rules: \(known.joined(separator: ", ")))"
        }
    }
}

extension RetentionError: ExitStatusReporting {
    /// A guard that stops the purge names a setting or policy to change.
    public var exitStatus: ExitStatus { .configuration }
}
