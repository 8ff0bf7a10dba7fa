import Foundation
import Logging
import Threads

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The dead-man's switch: tells an external monitor (healthchecks.io, or anything speaking its
/// protocol) that a job started, succeeded or failed, so a night that never ran at all still
/// raises an alarm there. A ping that fails is logged and never fails the job.
///
/// The URL comes from `SAMIA_PING_URL_<JOB>` (the job name upper-cased, `-` as `_`), else from
/// `SAMIA_PING_BASE_URL` plus `/<job>` (healthchecks' slug URLs). Start is `<url>/start`,
/// success `<url>`, failure `<url>/<exit code>`; success and failure carry the last log lines
/// as the body (logs carry no personal data). Every ping sends the run id as `rid`.
///
/// A monitor that hangs must not hold the job: each ping gives up after `timeout` seconds in
/// all (connect, send and answer), whatever the HTTP stack does with its own timeouts, and two
/// attempts cost at most twice that. Dry runs never ping (the runner leaves them out).
public struct HealthPing: Sendable {
    public let url: URL
    var timeout: TimeInterval = 3
    var attempts = 2

    public init(url: URL) { self.url = url }

    /// The ping for `job` from the environment, or nil when none is configured; a value that
    /// is not an http(s) URL is a configuration error, not a silently missing alarm.
    public static func forJob(_ job: String, environment: [String: String]) throws -> HealthPing? {
        let variable = "SAMIA_PING_URL_" + job.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }
        let text: String
        if let own = environment[variable], !own.isEmpty {
            text = own
        } else if let base = environment["SAMIA_PING_BASE_URL"], !base.isEmpty {
            text = (base.hasSuffix("/") ? String(base.dropLast()) : base) + "/" + job
        } else {
            return nil
        }
        guard let url = URL(string: text), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
            throw BatchError.configuration("\(variable) / SAMIA_PING_BASE_URL must be an http(s) URL")
        }
        return HealthPing(url: url)
    }

    public func start(runID: Int64?, logger: Logger) {
        send(suffix: "start", runID: runID, body: nil, logger: logger)
    }

    /// Success (exit 0) or failure with the exit code, with the log's last lines.
    public func finish(exitCode: Int32, runID: Int64?, logLines: [String], logger: Logger) {
        let body = logLines.joined(separator: "\n")
        send(suffix: exitCode == 0 ? nil : String(exitCode), runID: runID, body: body, logger: logger)
    }

    private func send(suffix: String?, runID: Int64?, body: String?, logger: Logger) {
        var target = suffix.map { url.appendingPathComponent($0) } ?? url
        if let runID, var components = URLComponents(url: target, resolvingAgainstBaseURL: false) {
            components.queryItems = (components.queryItems ?? []) + [URLQueryItem(name: "rid", value: String(runID))]
            target = components.url ?? target
        }
        var request = URLRequest(url: target, timeoutInterval: timeout)
        request.httpMethod = body == nil ? "GET" : "POST"
        // healthchecks keeps the first 100 kB of a body; the tail is far smaller.
        if let body {
            request.httpBody = Data(body.utf8.suffix(100_000))
            request.setValue("text/plain; charset=utf-8", forHTTPHeaderField: "Content-Type")
        }
        guard let failure = Self.deliver(request, attempts: attempts) else { return }
        // The URL's path holds the check's secret key: only the host is logged.
        logger.warning(
            "dead-man ping failed; the job's outcome is unchanged",
            metadata: [
                "event": "ping_failed", "ping_host": "\(url.host ?? "")", "kind": "\(suffix ?? "success")",
                "error": "\(failure)",
            ])
    }

    /// Sends `request` until it gets a 2xx answer, at most `attempts` times half a second apart
    /// (once only when it times out);
    /// nil on success, else what went wrong the last time (never the URL, which may hold a key).
    static func deliver(_ request: URLRequest, attempts: Int) -> String? {
        var failure = "no response"
        for attempt in 1...max(1, attempts) {
            let status = perform(request, within: request.timeoutInterval)
            if let code = status.code, (200..<300).contains(code) { return nil }
            failure = status.code.map { "HTTP \($0)" } ?? status.error ?? "no response"
            // A monitor that did not answer in time is hung: asking again would only wait again.
            if status.timedOut { break }
            if attempt < attempts { Thread.sleep(forTimeInterval: 0.5) }
        }
        return failure
    }

    /// Sends `request` and waits at most `seconds` for its status (or the transport's error);
    /// a request still pending then is cancelled and reported as timed out.
    private static func perform(_ request: URLRequest, within seconds: TimeInterval) -> PingStatus {
        let box = PingResult()
        let done = DispatchSemaphore(value: 0)
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = seconds
        configuration.timeoutIntervalForResource = seconds
        let session = URLSession(configuration: configuration)
        defer { session.invalidateAndCancel() }
        let task = session.dataTask(with: request) { _, response, error in
            let timedOut = (error as? URLError)?.code == .timedOut
            box.set((response as? HTTPURLResponse)?.statusCode, error.map { $0.localizedDescription }, timedOut)
            done.signal()
        }
        task.resume()
        guard done.wait(timeout: .now() + seconds) == .success else {
            task.cancel()
            return PingStatus(code: nil, error: "no answer within \(Int(seconds)) s", timedOut: true)
        }
        return box.get()
    }
}

/// How one attempt ended.
struct PingStatus: Sendable {
    let code: Int?
    let error: String?
    let timedOut: Bool
}

/// The completion handler's answer, handed across the URLSession thread.
private final class PingResult: Sendable {
    private let answer = Locked(PingStatus(code: nil, error: nil, timedOut: false))

    func set(_ code: Int?, _ error: String?, _ timedOut: Bool) {
        answer.withLock { $0 = PingStatus(code: code, error: error, timedOut: timedOut) }
    }
    func get() -> PingStatus { answer.withLock { $0 } }
}
