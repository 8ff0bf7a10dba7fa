import Postgres
import Reports

/// An error that says which exit status it ends the process with, so the runner can tell
/// "retry later" from "someone must fix this" without knowing any job: each family's error
/// type adopts it next to its own cases (as swift-argument-parser's `ExitCode` carries its
/// code), and an error that does not is a job failure (exit 1).
public protocol ExitStatusReporting: Error {
    var exitStatus: ExitStatus { get }
}

// The layers below the runner know nothing of processes; their errors get their status here.

extension PostgresError: ExitStatusReporting {
    /// A bad connection string or an unknown database is configuration; a refused identity
    /// (password, pg_hba, role) or a missing privilege needs a person (77); a connection-level
    /// failure is temporary.
    public var exitStatus: ExitStatus {
        if code == .configuration || sqlState == "3D000" { return .configuration }
        if isRefusedIdentity || sqlState == "42501" { return .permissionDenied }
        return isTransient ? .temporaryFailure : .failure
    }
}

extension InvoiceError: ExitStatusReporting {
    /// A missing label catalog is the installation's fault; anything else is the document's.
    public var exitStatus: ExitStatus {
        switch self {
        case .labelsNotFound, .missingLabel: return .configuration
        default: return .dataError
        }
    }
}

extension FontError: ExitStatusReporting {
    /// A font that cannot be found or loaded is the installation's fault.
    public var exitStatus: ExitStatus { .configuration }
}

extension MigrationError: ExitStatusReporting {
    /// Another migrator at work is "try again later"; a failed migration is as its cause.
    public var exitStatus: ExitStatus {
        switch self {
        case .locked: return .temporaryFailure
        case .failed(_, let underlying): return underlying.exitStatus
        case .checksumMismatch: return .failure
        }
    }
}
