import Foundation
import Runner

/// Why the parity report could not be made. A report that silently skipped a table or a role
/// would tell the auditor something false, so every gap in the declaration is an error.
public enum ParityError: Error, CustomStringConvertible, Equatable {
    /// The access matrix or exception register is wrong: the file, where, and what to change.
    case matrix(file: String, at: String?, reason: String)
    /// The declaration names something the database does not have.
    case schema(reason: String)
    /// Write probes (the default) against a database not marked as a clone or staging copy.
    case writeProbesRefused(database: String)
    /// The report's directory cannot be created: found before any probe.
    case output(path: String, reason: String)

    public var description: String {
        switch self {
        case .matrix(let file, let at, let reason):
            return "\(file)\(at.map { ": \($0)" } ?? ""): \(reason)"
        case .schema(let reason): return "access matrix does not match the database: \(reason)"
        case .output(let path, let reason):
            return "the report cannot be written to \(path) (\(reason)); nothing was probed: choose another --out"
        case .writeProbesRefused(let database):
            return
                "write probes refused: database \(database) is not marked as a clone or staging copy "
                + "(ALTER DATABASE ... SET samia.environment = 'staging', or a dev database); write probes lock rows "
                + "and advance sequences, so they never run on production. Run the report on a clone, or pass "
                + "--reads-only for a report of reads alone (incomplete: it exits 1)"
        }
    }
}

extension ParityError: ExitStatusReporting {
    /// A matrix or register that is wrong, or that the schema contradicts, is bad input (65,
    /// with the file and line); write probes refused on a production database are configuration.
    public var exitStatus: ExitStatus {
        switch self {
        case .matrix, .schema: return .dataError
        case .writeProbesRefused: return .configuration
        case .output: return .cannotCreate
        }
    }
}
