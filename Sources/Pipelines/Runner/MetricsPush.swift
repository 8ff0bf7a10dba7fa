import Foundation
import Logging

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The run's metrics pushed to a Prometheus Pushgateway, for where no node_exporter reads a
/// textfile: a Kubernetes CronJob's pod is gone before anything could scrape it, and with it the
/// DSR deadline, reconciliation, parity and retention gauges the alerts read.
///
/// Each job is its own group (`/metrics/job/<job>`), pushed with POST, which replaces only the
/// metrics sent: a failed run sends no `samia_batch_last_success_timestamp_seconds`, so the last
/// success stays, as it does in the textfile. `samia_batch_failures_total` is not pushed (it
/// would need the previous value; the alerts use `samia_batch_last_run_success`). A push that
/// fails is logged and never changes the job's outcome.
public struct MetricsPush: Sendable {
    public let url: URL
    var timeout: TimeInterval = 10
    var attempts = 2

    public init(url: URL) { self.url = url }

    /// From `SAMIA_PUSHGATEWAY_URL` (the gateway's base URL), or nil when unset; a value that is
    /// not an http(s) URL is a configuration error, not silently missing alerts.
    public static func fromEnvironment(_ environment: [String: String]) throws -> MetricsPush? {
        guard let text = environment["SAMIA_PUSHGATEWAY_URL"], !text.isEmpty else { return nil }
        guard let url = URL(string: text.hasSuffix("/") ? String(text.dropLast()) : text),
            ["http", "https"].contains(url.scheme ?? ""), url.host != nil
        else {
            throw BatchError.configuration("SAMIA_PUSHGATEWAY_URL must be an http(s) URL")
        }
        return MetricsPush(url: url)
    }

    public func push(
        job: String, succeeded: Bool, finishedAt: Date, duration: Double, items: Int64, extra: [String: Double],
        logger: Logger
    ) {
        let body = MetricsTextfile.render([
            job: MetricsTextfile.runSamples(
                succeeded: succeeded, finishedAt: finishedAt, duration: duration, items: items, extra: extra)
        ])
        let group = job.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(["-", "_", "."])) ?? job
        var request = URLRequest(url: url.appendingPathComponent("metrics/job/\(group)"), timeoutInterval: timeout)
        request.httpMethod = "POST"
        request.httpBody = Data(body.utf8)
        request.setValue("text/plain; version=0.0.4; charset=utf-8", forHTTPHeaderField: "Content-Type")
        guard let failure = HealthPing.deliver(request, attempts: attempts) else { return }
        logger.error(
            "cannot push metrics; the job's outcome is unchanged",
            metadata: ["event": "metrics_push_failed", "gateway_host": "\(url.host ?? "")", "error": "\(failure)"])
    }
}
