/// Per-run flags, shared by every job command.
public struct RunOptions: Sendable {
    public var dryRun = false
    /// Run the partition again even if it already succeeded.
    public var force = false
    /// Cancel the run after this many seconds.
    public var maxDuration: Double?
    public var retry = RetryPolicy()
    /// Where to write Prometheus textfile metrics, if anywhere.
    public var metricsTextfile: String?
    /// Recorded in the ledger's `parameters`; never secrets or personal data.
    public var parameters: [String: String] = [:]
    /// Show a live progress line (stderr is a terminal).
    public var interactive = false

    public init() {}
}
