/// Process exit codes, following sysexits(3), so systemd `SuccessExitStatus`, Kubernetes
/// `podFailurePolicy` and cron wrappers can tell "retry later" from "someone must fix this".
public enum ExitStatus: Int32, Sendable, CaseIterable {
    /// The job succeeded, or its partition had already succeeded.
    case success = 0
    /// The job failed, or finished with some items failed (partial).
    case failure = 1
    /// Unknown command or flag, bad flag value.
    case usage = 64
    /// Input data is malformed (a settlement file, a policy row): nothing was written.
    case dataError = 65
    /// An output (a report directory, a file named with `--out`) cannot be created there;
    /// found before any work.
    case cannotCreate = 73
    /// Storage is full or keeps failing: free space was below the floor before the run, or the
    /// storage circuit breaker stopped it. Work committed stays; someone must mend the storage.
    case ioError = 74
    /// Try again later: the database stayed unreachable after retries, or the run was
    /// interrupted and recorded `aborted`. Schedulers retry it with back-off.
    case temporaryFailure = 75
    /// The database refused who we are (wrong or expired password, no `pg_hba.conf` entry,
    /// unknown role) or the role lacks a right the job needs: a person must act, a retry cannot.
    case permissionDenied = 77
    /// Configuration is missing or wrong: `DATABASE_URL`, a key, a policy file.
    case configuration = 78
    /// Another run of the same job holds its lock, so this start did nothing: the one status a
    /// scheduler may count as benign (outside sysexits' range, so it is never mistaken for one).
    case alreadyRunning = 79

    public var meaning: String {
        switch self {
        case .success: return "success (or the partition had already succeeded)"
        case .failure: return "the job failed or finished partially; see the run ledger"
        case .usage: return "usage error: unknown command, flag or value"
        case .dataError: return "bad input data; nothing was written"
        case .cannotCreate: return "the output cannot be created where asked (--out); nothing was done"
        case .ioError: return "storage full or failing: free space below the floor, or the circuit breaker tripped"
        case .temporaryFailure:
            return "temporary failure: database unreachable after retries, or interrupted; retry with back-off"
        case .permissionDenied:
            return "permission denied: authentication failed (wrong or expired password) or the role lacks a right"
        case .configuration:
            return "configuration error: connection string, unknown database, key, policy file, pooler"
        case .alreadyRunning: return "another run of this job holds its lock; this start did nothing (benign)"
        }
    }

    /// The table printed in `--help` and docs/operations.md.
    public static var helpText: String {
        allCases.map { "  \($0.rawValue)\t\($0.meaning)" }.joined(separator: "\n")
    }
}
