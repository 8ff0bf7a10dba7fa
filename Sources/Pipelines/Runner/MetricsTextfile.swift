import Foundation

/// Prometheus metrics for node_exporter's textfile collector, written atomically (temp file,
/// then rename) so the collector never reads half a file.
///
/// One file holds every job's series: a run replaces its own job's samples and keeps the
/// others, and carries forward what must survive a failure (last success, failure count).
///
/// The job is the `batch_job` label, not `job`: Prometheus gives every scraped series the
/// `job` of its scrape (node_exporter's), and renames a `job` label in the data to
/// `exported_job`, so rules written against `job` would never match. `batch_job` arrives as
/// written through node_exporter's textfile collector and through the Pushgateway alike.
public struct MetricsTextfile {
    public let path: String

    public init(path: String) { self.path = path }

    static let help: [(String, String, String)] = [
        ("samia_batch_last_run_timestamp_seconds", "gauge", "When the job last finished, success or not."),
        ("samia_batch_last_success_timestamp_seconds", "gauge", "When the job last succeeded."),
        ("samia_batch_last_run_duration_seconds", "gauge", "Duration of the job's last run."),
        ("samia_batch_last_run_items", "gauge", "Items the job's last run processed."),
        ("samia_batch_last_run_success", "gauge", "1 if the job's last run succeeded, 0 if not."),
        ("samia_batch_failures_total", "counter", "Runs of the job that failed, partially or wholly."),
        ("samia_batch_last_exit_code", "gauge", "Exit status of the job's last start (0, 1, 64, 65, 75, 77, 78)."),
        ("samia_batch_running", "gauge", "1 while a run of the job is in progress on this host, else 0."),
        ("samia_batch_run_started_timestamp_seconds", "gauge", "When the job's current or last run started."),
        (
            "samia_batch_lock_contended_total", "counter",
            "Starts that found another run holding the job's lock (exit 79).",
        ),
    ]

    /// The label that names the job (see the type's note).
    public static let jobLabel = "batch_job"

    /// `name{label="value",…}` with each value escaped as the exposition format requires
    /// (backslash, double quote, newline), so a name from a policy file cannot break the file.
    public static func sample(_ name: String, labels: [(String, String)]) -> String {
        let rendered = labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",")
        return labels.isEmpty ? name : "\(name){\(rendered)}"
    }

    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    /// Records one finished run of `job`, with the exit status it ended with.
    public func record(
        job: String, succeeded: Bool, finishedAt: Date, duration: Double, items: Int64,
        extra: [String: Double] = [:], exitCode: Int32? = nil
    ) throws {
        try update(job: job) { mine in
            mine["samia_batch_failures_total"] = (mine["samia_batch_failures_total"] ?? 0) + (succeeded ? 0 : 1)
            mine.merge(
                Self.runSamples(
                    succeeded: succeeded, finishedAt: finishedAt, duration: duration, items: items, extra: extra)
            ) { $1 }
            mine["samia_batch_running"] = 0
            mine["samia_batch_last_exit_code"] = Double(exitCode ?? (succeeded ? 0 : 1))
        }
    }

    /// Records that a run of `job` started: alerts see it in progress, and for how long.
    public func recordStart(job: String, at started: Date) throws {
        try update(job: job) { mine in
            mine["samia_batch_running"] = 1
            mine["samia_batch_run_started_timestamp_seconds"] = started.timeIntervalSince1970.rounded()
        }
    }

    /// Records a start that ended before any run was recorded: a held lock counts as
    /// contention; anything else (an expired password, a pooler, a missing right) as a failed
    /// run with its exit status, so the failed-job alert fires although no run began.
    public func recordUnstarted(job: String, at time: Date, exitCode: Int32, lockHeld: Bool) throws {
        try update(job: job) { mine in
            if lockHeld {
                mine["samia_batch_lock_contended_total"] = (mine["samia_batch_lock_contended_total"] ?? 0) + 1
                return
            }
            mine["samia_batch_failures_total"] = (mine["samia_batch_failures_total"] ?? 0) + 1
            mine["samia_batch_last_run_success"] = 0
            mine["samia_batch_last_exit_code"] = Double(exitCode)
            mine["samia_batch_last_run_timestamp_seconds"] = time.timeIntervalSince1970.rounded()
        }
    }

    /// Reads the file, lets `body` change `job`'s samples, writes it back, all under a lock:
    /// jobs on other timers finish while this one does (invoices every 15 minutes during the
    /// nightly), and no job's samples may be lost.
    func update(job: String, _ body: (inout [String: Double]) -> Void) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        // The lock is taken on the directory itself, so no lock file sits beside the metrics.
        let lock = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if lock >= 0 { flock(lock, LOCK_EX) }
        defer { if lock >= 0 { close(lock) } }
        var samples = read()
        var mine = samples[job] ?? [:]
        body(&mine)
        samples[job] = mine
        try write(samples)
    }

    /// What one finished run sets (the last success only when it succeeded, so a failure keeps
    /// the one before), with the job's own gauges; shared with the Pushgateway.
    static func runSamples(
        succeeded: Bool, finishedAt: Date, duration: Double, items: Int64, extra: [String: Double]
    ) -> [String: Double] {
        var samples = extra
        samples["samia_batch_last_run_timestamp_seconds"] = finishedAt.timeIntervalSince1970.rounded()
        samples["samia_batch_last_run_duration_seconds"] = (duration * 1000).rounded() / 1000
        samples["samia_batch_last_run_items"] = Double(items)
        samples["samia_batch_last_run_success"] = succeeded ? 1 : 0
        if succeeded {
            samples["samia_batch_last_success_timestamp_seconds"] = finishedAt.timeIntervalSince1970.rounded()
        }
        return samples
    }

    /// Parses the samples of the current file: job → metric → value. Unknown lines are dropped.
    public func read() -> [String: [String: Double]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var out: [String: [String: Double]] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let brace = line.firstIndex(of: "{"), let close = line.firstIndex(of: "}"),
                let value = Double(line[line.index(after: close)...].trimmingCharacters(in: .whitespaces))
            else { continue }
            let name = String(line[..<brace])
            let labels = line[line.index(after: brace)..<close]
            // `batch_job` since the label was renamed; `job` in a file written before.
            let prefix = ["\(Self.jobLabel)=\"", "job=\""].first { labels.hasPrefix($0) }
            guard let prefix, let end = labels.dropFirst(prefix.count).firstIndex(of: "\"") else { continue }
            let job = String(labels[labels.index(labels.startIndex, offsetBy: prefix.count)..<end])
            // Further labels (`rule="horoscopes"`) stay part of the sample's key.
            let rest = labels[labels.index(after: end)...].drop { $0 == "," }
            out[job, default: [:]][rest.isEmpty ? name : "\(name){\(rest)}"] = value
        }
        return out
    }

    func write(_ samples: [String: [String: Double]]) throws {
        let text = Self.render(samples)
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let temporary = path + ".tmp-\(getpid())"
        try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
        // node_exporter runs as another user, and services run with a strict umask: the
        // metrics (counts and times, nothing personal) are made readable explicitly.
        chmod(temporary, 0o644)
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw BatchError.configuration("cannot write metrics textfile \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// The exposition text of `samples` (job → metric → value): HELP and TYPE once per name,
    /// one line per job and labels. Shared by the textfile and the Pushgateway.
    static func render(_ samples: [String: [String: Double]]) -> String {
        var text = ""
        let known = Set(MetricsTextfile.help.map(\.0))
        // A key may carry labels of its own (`name{rule="x"}`); HELP and TYPE go once per name.
        func base(_ key: String) -> String { String(key.prefix { $0 != "{" }) }
        let allKeys = Set(samples.values.flatMap(\.keys))
        let extraNames = Set(allKeys.map(base)).subtracting(known).sorted()
        for (name, type, help) in MetricsTextfile.help + extraNames.map({ ($0, "gauge", "Job-specific gauge.") }) {
            let keys = allKeys.filter { base($0) == name }.sorted()
            let rows = samples.keys.sorted().flatMap { job in
                keys.compactMap { key in samples[job]?[key].map { (job, key, $0) } }
            }
            guard !rows.isEmpty else { continue }
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for (job, key, value) in rows {
                let rendered = value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
                let extra = key.count > name.count ? "," + key.dropFirst(name.count + 1).dropLast() : ""
                text += "\(name){\(Self.jobLabel)=\"\(escape(job))\"\(extra)} \(rendered)\n"
            }
        }
        return text
    }
}
