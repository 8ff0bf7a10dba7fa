import Foundation

/// Prometheus metrics for node_exporter's textfile collector, written atomically (temp file,
/// then rename) so the collector never reads half a file.
///
/// One file holds every job's series: a run replaces its own job's samples and keeps the
/// others, and carries forward what must survive a failure (last success, failure count).
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
    ]

    /// Records one finished run of `job`.
    public func record(
        job: String, succeeded: Bool, finishedAt: Date, duration: Double, items: Int64,
        extra: [String: Double] = [:]
    ) throws {
        // Jobs on other timers finish while this one does (invoices every 15 minutes during
        // the nightly): the read-modify-write is serialised so no job's samples are lost.
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
        mine["samia_batch_failures_total"] = (mine["samia_batch_failures_total"] ?? 0) + (succeeded ? 0 : 1)
        let run = Self.runSamples(
            succeeded: succeeded, finishedAt: finishedAt, duration: duration, items: items, extra: extra)
        mine.merge(run) { $1 }
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
            guard labels.hasPrefix("job=\""), let end = labels.dropFirst(5).firstIndex(of: "\"") else { continue }
            let job = String(labels[labels.index(labels.startIndex, offsetBy: 5)..<end])
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
                text += "\(name){job=\"\(job)\"\(extra)} \(rendered)\n"
            }
        }
        return text
    }
}
