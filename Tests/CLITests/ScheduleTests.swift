import Foundation
import TestSupport
import Testing

/// The files in schedules/ checked by the tools that will read them: systemd-analyze for the
/// units, the Kubernetes 1.31 schemas for the CronJobs, promtool for the alert rules, and
/// croniter against systemd's own calendar for "the same schedule everywhere".
@Suite("Schedules")
struct ScheduleTests {
    static let root = TestCluster.repositoryRoot.appendingPathComponent("schedules").path
    static let instances = ["nightly", "dsr", "invoices", "reconcile", "parity", "invoice-pdfs", "audit"]
    static let venv = TestCluster.repositoryRoot.appendingPathComponent(".venv-test/bin").path

    /// The units as `make install` writes them, with the binary the tests built.
    func renderedUnits() throws -> String {
        let out = NSTemporaryDirectory() + "samia-units-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let bindir = (CLI.binary as NSString).deletingLastPathComponent
        for name in try FileManager.default.contentsOfDirectory(atPath: Self.root + "/systemd")
        where name.hasSuffix(".service") || name.hasSuffix(".timer") {
            let text = try String(contentsOfFile: Self.root + "/systemd/" + name, encoding: .utf8)
            try text.replacingOccurrences(of: "@BINDIR@", with: bindir).write(
                toFile: out + "/" + name, atomically: true, encoding: .utf8)
        }
        return out
    }

    @Test func systemdUnitsVerifyCleanly() throws {
        let dir = try renderedUnits()
        let units =
            Self.instances.map { "\(dir)/samia-batch-\($0).timer" }
            + Self.instances.map {
                "\(dir)/samia-batch@\($0).service"
            }
        let r = try Shell.run("/usr/bin/systemd-analyze", ["verify", "--man=no"] + units)
        #expect(r.status == 0, "\(r.stderr)")
        // Unknown keys and bad values are only warnings to systemd; here they fail.
        #expect(r.stderr.isEmpty, "\(r.stderr)")
        let service = try String(contentsOfFile: dir + "/samia-batch@.service", encoding: .utf8)
        for line in [
            "Type=oneshot", "SuccessExitStatus=79", "Restart=on-failure",
            "RestartPreventExitStatus=1 64 65 73 74 77 78",
            "StartLimitBurst=4", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
            "PrivateTmp=yes", "ReadWritePaths=/var/lib/samia-batch -/var/lib/prometheus/node-exporter",
            "User=samia-batch",
            "EnvironmentFile=/etc/samia-batch/samia-batch.env",
        ] {
            #expect(service.contains("\n" + line + "\n"), "\(line)")
        }
        for instance in Self.instances {
            let timer = try String(contentsOfFile: "\(dir)/samia-batch-\(instance).timer", encoding: .utf8)
            #expect(timer.contains("Persistent=true") && timer.contains("Unit=samia-batch@\(instance).service"))
            #expect(try onCalendar(timer).hasSuffix(" UTC"), "\(instance) is scheduled in UTC")
            // Every instance's arguments name a real command of this binary.
            let args = try jobArguments(instance)
            let help = try CLI.run(args + ["--help"])
            #expect(help.status == 0, "\(instance): \(args) \(help.stderr)")
        }
    }

    @Test func aBrokenUnitIsCaught() throws {
        let dir = try renderedUnits()
        let path = dir + "/samia-batch-parity.timer"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try text.replacingOccurrences(of: "OnCalendar=Mon", with: "OnCalendar=Mon 25:00 #").write(
            toFile: path, atomically: true, encoding: .utf8)
        let r = try Shell.run("/usr/bin/systemd-analyze", ["verify", "--man=no", path])
        #expect(r.status != 0 || !r.stderr.isEmpty)
    }

    func onCalendar(_ timer: String) throws -> String {
        try #require(
            timer.split(separator: "\n").first { $0.hasPrefix("OnCalendar=") }.map {
                String($0.dropFirst("OnCalendar=".count))
            })
    }

    func jobArguments(_ instance: String) throws -> [String] {
        let env = try String(contentsOfFile: "\(Self.root)/systemd/jobs/\(instance).env", encoding: .utf8)
        let line = try #require(env.split(separator: "\n").first { $0.hasPrefix("SAMIA_ARGS=") })
        return line.dropFirst("SAMIA_ARGS=".count).split(separator: " ").map(String.init)
    }

    /// The next `count` start times of a systemd calendar expression, as systemd computes them.
    func systemdTimes(_ expression: String, count: Int) throws -> [String] {
        let r = try Shell.run(
            "/usr/bin/systemd-analyze",
            ["calendar", "--iterations=\(count)", "--base-time=2026-01-31 23:00:00 UTC", expression])
        #expect(r.status == 0, "\(r.stderr)")
        return r.stdout.split(separator: "\n").compactMap { line -> String? in
            guard line.contains("Next elapse:") || line.contains("Iter. #") else { return nil }
            // "Iter. #2: Mon 2026-03-02 03:00:00 UTC" -> "2026-03-02 03:00"
            let parts = line.split(separator: " ")
            return parts.count >= 3 ? "\(parts[parts.count - 3]) \(parts[parts.count - 2].prefix(5))" : nil
        }
    }

    /// The same from a cron expression, computed by croniter.
    func cronTimes(_ expression: String, count: Int) throws -> [String] {
        let script = """
            import sys
            from datetime import datetime, timezone
            from croniter import croniter
            it = croniter(sys.argv[1], datetime(2026, 1, 31, 23, 0, tzinfo=timezone.utc))
            for _ in range(int(sys.argv[2])):
                print(it.get_next(datetime).strftime('%Y-%m-%d %H:%M'))
            """
        let r = try Shell.run(Self.venv + "/python3", ["-c", script, expression, String(count)])
        #expect(r.status == 0, "\(r.stderr)")
        return r.stdout.split(separator: "\n").map(String.init)
    }

    @Test func cronAndKubernetesRunTheSameJobsAtTheSameTimesAsTheTimers() throws {
        let cron = try String(contentsOfFile: Self.root + "/cron/samia-batch", encoding: .utf8)
        let cronLines = cron.split(separator: "\n").filter { line in
            guard let first = line.first, !line.hasPrefix("#") else { return false }
            return first.isNumber || first == "*"
        }
        #expect(cronLines.count == Self.instances.count)
        let manifest = try String(contentsOfFile: Self.root + "/kubernetes/cronjobs.yaml", encoding: .utf8)
        for instance in Self.instances {
            let args = try jobArguments(instance).joined(separator: " ")
            let timer = try String(
                contentsOfFile: "\(Self.root)/systemd/samia-batch-\(instance).timer", encoding: .utf8)
            let expected = try systemdTimes(try onCalendar(timer), count: 8)
            #expect(expected.count == 8)
            // cron: the line running the same arguments, as the service user.
            let line = try #require(cronLines.first { $0.contains("/samia-batch \(args) >>") }, "\(instance) in cron")
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            #expect(fields[5] == "samia-batch")
            #expect(try cronTimes(fields[0..<5].joined(separator: " "), count: 8) == expected, "cron \(instance)")
            // Kubernetes: the CronJob of the same name, same arguments and times.
            let doc = try #require(
                manifest.components(separatedBy: "\n---\n").first { $0.contains("name: samia-batch-\(instance)\n") })
            let schedule = try #require(
                doc.split(separator: "\n").first { $0.hasPrefix("  schedule: ") }.map {
                    $0.dropFirst("  schedule: ".count).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                })
            #expect(try cronTimes(schedule, count: 8) == expected, "CronJob \(instance)")
            let k8sArgs = try jobArguments(instance).map { "\"\($0)\"" }.joined(separator: ", ")
            #expect(doc.contains("args: [\(k8sArgs)]"), "CronJob \(instance) arguments")
        }
        #expect(cron.contains("CRON_TZ=UTC"))
        #expect(!cronLines.contains { $0.contains("flock") }, "the runner locks; cron lines do not")
    }

    /// cron's wrapper: 79 is done, 75 is retried with back-off then fails loudly, anything else
    /// fails at once with the job's own code and a line for cron's mail.
    @Test func theCronWrapperRetriesOnlyTemporaryFailuresAndCountsAHeldLockAsDone() throws {
        let dir = NSTemporaryDirectory() + "samia-cronwrap-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // A stand-in binary that exits with the codes listed in its arguments, one per start.
        let fake = dir + "/fake"
        try """
        #!/bin/sh
        n=$(cat \(dir)/count 2>/dev/null || echo 0); n=$((n + 1)); echo $n > \(dir)/count
        eval "code=\\${$n}"; exit "$code"
        """.write(toFile: fake, atomically: true, encoding: .utf8)
        chmod(fake, 0o755)
        // Another test's process start can briefly hold the just-written file open for writing
        // (the fork inherits the descriptor until its exec): running it then fails with
        // ETXTBSY, status 126. Wait until it runs (this failed a fresh-clone CI run once).
        var tries = 0
        while try Shell.run(fake, ["0"]).status == 126, tries < 100 {
            tries += 1
            usleep(20_000)
        }
        let wrapper = Self.root + "/cron/samia-batch-scheduled"
        for (codes, status, starts, alert) in [
            (["79"], 0, 1, false), (["0"], 0, 1, false), (["75", "75", "0"], 0, 3, false),
            (["75", "75", "75"], 75, 3, true), (["77", "0"], 77, 1, true), (["78"], 78, 1, true),
        ] {
            try? FileManager.default.removeItem(atPath: dir + "/count")
            let r = try Shell.run(
                "/bin/sh", [wrapper, fake] + codes, environment: ["SAMIA_RETRY_DELAYS": "0 0", "PATH": "/usr/bin:/bin"])
            #expect(r.status == Int32(status), "\(codes): \(r.stderr)")
            let count = try String(contentsOfFile: dir + "/count", encoding: .utf8)
            #expect(count.trimmingCharacters(in: .whitespacesAndNewlines) == String(starts), "\(codes)")
            #expect(r.stderr.contains("ALERT") == alert, "\(codes): \(r.stderr)")
        }
    }

    @Test func kubernetesManifestsMatchTheSchema() throws {
        let files = [Self.root + "/kubernetes/cronjobs.yaml", Self.root + "/kubernetes/configmap.yaml"]
        let r = try Shell.run(Self.venv + "/kubernetes-validate", ["--strict", "-k", "1.31.0"] + files)
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        #expect(
            r.stdout.components(separatedBy: "passed for resource cronjob/").count - 1 == Self.instances.count,
            "\(r.stdout)")
        let manifest = try String(contentsOf: URL(fileURLWithPath: files[0]), encoding: .utf8)
        for needed in [
            "concurrencyPolicy: Forbid", "timeZone: Etc/UTC", "startingDeadlineSeconds:", "backoffLimit:",
            "activeDeadlineSeconds:", "podFailurePolicy:", "readOnlyRootFilesystem: true", "secretRef:",
        ] {
            #expect(
                manifest.components(separatedBy: needed).count - 1 == Self.instances.count, "\(needed) in every CronJob"
            )
        }
        // The validator can fail: an unknown field is refused.
        let broken = NSTemporaryDirectory() + "samia-broken-\(UUID().uuidString).yaml"
        try manifest.replacingOccurrences(
            of: "concurrencyPolicy: Forbid", with: "concurrencyPolicy: Forbid\n  concurency: 1"
        )
        .write(toFile: broken, atomically: true, encoding: .utf8)
        #expect(try Shell.run(Self.venv + "/kubernetes-validate", ["--strict", "-k", "1.31.0", broken]).status != 0)
    }

    @Test func prometheusRulesCheckAndTheirUnitTestsPass() throws {
        let dir = Self.root + "/prometheus"
        let check = try Shell.run("/usr/bin/promtool", ["check", "rules", dir + "/samia-batch.rules.yml"])
        #expect(check.status == 0, "\(check.stdout) \(check.stderr)")
        #expect(check.stdout.contains("SUCCESS: 11 rules found"))
        let tests = try Shell.run("/usr/bin/promtool", ["test", "rules", dir + "/samia-batch.rules.test.yml"])
        #expect(tests.status == 0, "\(tests.stdout) \(tests.stderr)")
        // Every metric an alert names is one the runner writes.
        let rules = try String(contentsOfFile: dir + "/samia-batch.rules.yml", encoding: .utf8)
        let sources = try Shell.run(
            "/bin/grep", ["-rhoE", "samia_[a-z_]+", TestCluster.repositoryRoot.appendingPathComponent("Sources").path])
        let written = Set(sources.stdout.split(separator: "\n").map(String.init))
        let named = Set(
            rules.split(whereSeparator: { !$0.isLetter && $0 != "_" }).map(String.init).filter {
                $0.hasPrefix("samia_")
            })
        #expect(!named.isEmpty)
        for metric in named { #expect(written.contains(metric), "\(metric) is not written by the runner") }
    }
}
