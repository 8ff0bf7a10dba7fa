/// Errors that end a command, each mapped to its exit status. Messages carry ids, names,
/// files and lines: never personal data, never a password.
public enum BatchError: ExitStatusReporting, Sendable, CustomStringConvertible {
    /// Missing or wrong configuration: an env variable, a key file, a policy file.
    case configuration(String)
    /// Malformed input: names the file, line and field so the operator can fix it.
    case badInput(file: String, line: Int?, field: String?, message: String)
    /// Another process runs this job right now.
    case lockHeld(job: String, holder: String)
    /// The database stayed unreachable after every retry.
    case unreachable(target: String, attempts: Int, message: String)
    /// The run exceeded `--max-duration` and was cancelled.
    case deadlineExceeded(job: String, seconds: Double)
    /// SIGTERM or SIGINT: the run was cancelled and recorded as aborted.
    case interrupted(job: String, signal: Int32)
    /// The job's lock was lost (connection dropped, pooler): nothing more is committed.
    case lockLost(job: String)
    /// The job ran but failed.
    case jobFailed(job: String, message: String)
    /// Some items failed; the others were committed.
    case partial(job: String, failed: Int, succeeded: Int)
    /// A database refuses to be used for this (not a dev database; an unsafe target).
    case refused(String)
    /// The connection goes through a transaction-mode pooler: session advisory locks would not
    /// hold, so two runs could overlap. Use the direct connection (or a session pooler).
    case transactionPooler(target: String, evidence: String)
    /// A nightly job did not run because a job it depends on failed.
    case dependencyFailed(job: String, dependency: String)
    /// The connected role lacks a right the job needs to see or do all of its work (BYPASSRLS,
    /// a grant): a run would succeed on part of the world, so none starts.
    case missingRights(role: String, missing: String)

    public var exitStatus: ExitStatus {
        switch self {
        case .configuration, .refused, .transactionPooler, .missingRights: return .configuration
        case .badInput: return .dataError
        // Interrupted runs are aborted cleanly and complete when started again: retry later.
        case .unreachable, .interrupted: return .temporaryFailure
        case .lockHeld: return .alreadyRunning
        case .deadlineExceeded, .lockLost, .jobFailed, .partial, .dependencyFailed: return .failure
        }
    }

    public var description: String {
        switch self {
        case .configuration(let m): return "configuration error: \(m)"
        case .badInput(let file, let line, let field, let message):
            var place = file
            if let line { place += ":\(line)" }
            if let field { place += " (\(field))" }
            return "bad input in \(place): \(message)"
        case .lockHeld(let job, let holder):
            return "job \(job) is already running (\(holder)); this start exits without running"
        case .unreachable(let target, let attempts, let message):
            return "database \(target) unreachable after \(attempts) attempts: \(message)"
        case .deadlineExceeded(let job, let s):
            return "job \(job) exceeded --max-duration of \(Int(s)) s and was cancelled"
        case .interrupted(let job, let signal): return "job \(job) interrupted by signal \(signal); recorded as aborted"
        case .lockLost(let job): return "job \(job) lost its lock; its last work was not committed"
        case .jobFailed(let job, let message): return "job \(job) failed: \(message)"
        case .partial(let job, let failed, let ok):
            return "job \(job) finished partially: \(failed) failed, \(ok) succeeded"
        case .refused(let m): return m
        case .transactionPooler(let target, let evidence):
            return
                "\(target) looks like a transaction-mode connection pooler (\(evidence)); session advisory locks do not hold "
                + "there, so runs could overlap. Connect directly (Supabase: the direct connection, or the session pooler on "
                + "port 5432), or set SAMIA_TRUST_POOLER=session if this pooler runs in session mode"
        case .dependencyFailed(let job, let dependency):
            return "job \(job) not run: it depends on \(dependency), which did not succeed"
        case .missingRights(let role, let missing):
            return "role \(role) cannot do all of this job's work: \(missing); nothing was run"
        }
    }
}

extension BatchError {
    /// The status a process ends with for any error: an error that says its own status is taken
    /// at its word; anything else (a bug, an error no layer classified) is a job failure.
    public static func exitStatus(for error: any Error) -> ExitStatus {
        (error as? any ExitStatusReporting)?.exitStatus ?? .failure
    }
}
