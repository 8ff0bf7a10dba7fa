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
    /// The `Authorization` header's value for a gateway behind basic auth, or nil.
    let authorization: String?
    var timeout: TimeInterval = 10
    var attempts = 2

    public init(url: URL, credentials: String? = nil) {
        self.url = url
        authorization = credentials.map { "Basic " + Data($0.utf8).base64EncodedString() }
    }

    /// From `SAMIA_PUSHGATEWAY_URL` (the gateway's base URL), or nil when unset; a value that is
    /// not an http(s) URL is a configuration error, not silently missing alerts. A gateway behind
    /// basic auth gets `user:password` from the file `SAMIA_PUSHGATEWAY_AUTH_FILE` names (a
    /// mounted secret): a URL carrying credentials is refused, as it would put the password in a
    /// ConfigMap or a unit file.
    public static func fromEnvironment(_ environment: [String: String]) throws -> MetricsPush? {
        let authFile = environment["SAMIA_PUSHGATEWAY_AUTH_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        guard let text = environment["SAMIA_PUSHGATEWAY_URL"], !text.isEmpty else {
            if let authFile {
                throw BatchError.configuration(
                    "SAMIA_PUSHGATEWAY_AUTH_FILE is set (\(authFile)) but SAMIA_PUSHGATEWAY_URL is not")
            }
            return nil
        }
        guard let url = URL(string: text.hasSuffix("/") ? String(text.dropLast()) : text),
            ["http", "https"].contains(url.scheme ?? ""), url.host != nil
        else {
            throw BatchError.configuration("SAMIA_PUSHGATEWAY_URL must be an http(s) URL")
        }
        guard url.user == nil, url.password == nil else {
            throw BatchError.configuration(
                "SAMIA_PUSHGATEWAY_URL must not carry credentials; put user:password in the file "
                    + "SAMIA_PUSHGATEWAY_AUTH_FILE names")
        }
        guard let authFile else { return MetricsPush(url: url) }
        return MetricsPush(url: url, credentials: try credentials(from: authFile))
    }

    /// One line `user:password` (a trailing newline is allowed); the message names the file,
    /// never what it holds.
    static func credentials(from path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path), let raw = String(data: data, encoding: .utf8)
        else {
            throw BatchError.configuration("SAMIA_PUSHGATEWAY_AUTH_FILE \(path): cannot be read")
        }
        let text = raw.trimmingCharacters(in: .newlines)
        guard !text.contains(where: \.isNewline), let colon = text.firstIndex(of: ":"), colon != text.startIndex else {
            throw BatchError.configuration("SAMIA_PUSHGATEWAY_AUTH_FILE \(path): must be one line, user:password")
        }
        return text
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
        if let authorization { request.setValue(authorization, forHTTPHeaderField: "Authorization") }
        guard let failure = HealthPing.deliver(request, attempts: attempts) else { return }
        logger.error(
            "cannot push metrics; the job's outcome is unchanged",
            metadata: ["event": "metrics_push_failed", "gateway_host": "\(url.host ?? "")", "error": "\(failure)"])
    }
}
