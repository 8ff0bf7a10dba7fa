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
    /// Try again later: the job's lock is held, or the database stayed unreachable after retries.
    case temporaryFailure = 75
    /// Configuration is missing or wrong: `DATABASE_URL`, a key, a policy file.
    case configuration = 78

    public var meaning: String {
        switch self {
        case .success: return "success (or the partition had already succeeded)"
        case .failure: return "the job failed or finished partially; see the run ledger"
        case .usage: return "usage error: unknown command, flag or value"
        case .dataError: return "bad input data; nothing was written"
        case .temporaryFailure: return "temporary failure: lock held or database unreachable; retry later"
        case .configuration: return "configuration error: connection string, key or policy file"
        }
    }

    /// The table printed in `--help` and docs/operations.md.
    public static var helpText: String {
        allCases.map { "  \($0.rawValue)\t\($0.meaning)" }.joined(separator: "\n")
    }
}
