/// Per-run flags, shared by every job command.
public struct RunOptions: Sendable {
    public var dryRun = false
    /// Run the partition again even if it already succeeded.
    public var force = false
    /// Cancel the run after this many seconds.
    public var maxDuration: Double?
    /// Attempts of the job for transient failures mid-run (`--attempts`).
    public var retry = RetryPolicy()
    /// Attempts to reach the database at all (`--connect-attempts`), for every connection the
    /// run opens: the lock, the ledger and each attempt's own.
    public var connectRetry = RetryPolicy()
    /// Where to write Prometheus textfile metrics, if anywhere.
    public var metricsTextfile: String?
    /// Recorded in the ledger's `parameters`; never secrets or personal data.
    public var parameters: [String: String] = [:]
    /// Parameters a previous success must have been recorded with for this run to skip its
    /// partition as done (the business time zone for a day's metrics).
    public var sameParameters: [String] = []
    /// Show a live progress line (stderr is a terminal).
    public var interactive = false

    public init() {}
}
