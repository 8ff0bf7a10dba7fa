import Foundation
import Postgres
import TestSupport
import Testing

/// `make install` into a throwaway prefix, then the installed binary run from `/` through
/// `PATH`, as cron and systemd run it: it must find its migrations, templates and policy
/// without the repository, and say which commit it was built from.
@Suite("Install", .serialized)
struct InstallTests {
    let prefix = NSTemporaryDirectory() + "samia-prefix-\(UUID().uuidString)"

    /// Runs the installed binary from `/`, found through PATH, with only the given variables.
    func installed(_ arguments: [String], env: [String: String] = [:]) throws -> Shell.Result {
        var environment = ["PATH": "\(prefix)/bin:/usr/bin:/bin", "HOME": NSTemporaryDirectory()]
        environment.merge(env) { $1 }
        return try Shell.run(
            "/bin/sh", ["-c", "cd / && exec samia-batch \"$@\"", "sh"] + arguments, environment: environment)
    }

    @Test func anInstalledBinaryFindsEverythingItNeedsAndKnowsItsCommit() throws {
        let bin = (CLI.binary as NSString).deletingLastPathComponent
        let root = TestCluster.repositoryRoot.path
        let make = try Shell.run("/usr/bin/make", ["-C", root, "install-files", "PREFIX=\(prefix)", "BIN_PATH=\(bin)"])
        #expect(make.status == 0, "\(make.stdout) \(make.stderr)")
        for path in [
            "bin/samia-batch", "bin/samia-batch-scheduled", "bin/samia-batch_Schema.resources",
            "share/samia-batch/templates/locales/ar.json",
            "share/samia-batch/policy/data-map.yaml", "share/samia-batch/schedules/systemd/samia-batch@.service",
            "share/samia-batch/schedules/prometheus/samia-batch.rules.yml", "share/doc/samia-batch/operations.md",
        ] {
            #expect(FileManager.default.fileExists(atPath: "\(prefix)/\(path)"), "\(path)")
        }
        // The installed schedules name the installed binary.
        let unit = try String(
            contentsOfFile: "\(prefix)/share/samia-batch/schedules/systemd/samia-batch@.service", encoding: .utf8)
        #expect(unit.contains("ExecStart=\(prefix)/bin/samia-batch $SAMIA_ARGS"))
        #expect(!unit.contains("@BINDIR@"))

        // --version names the commit this tree is at.
        let head = try Shell.run("/usr/bin/git", ["-C", root, "rev-parse", "--short=12", "HEAD"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let version = try installed(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.hasPrefix("samia-batch 0.1.0 (git commit \(head)"), "\(version.stdout) vs \(head)")

        // Migrations come from the installed resource bundle: a new database gets the schema.
        let cluster = try TestCluster.shared()
        let admin = try Connection(try cluster.configuration(database: "postgres"))
        let name = "install_" + UUID().uuidString.prefix(8).lowercased()
        try admin.execute("CREATE DATABASE \(name)")
        let config = try cluster.configuration(database: name)
        let migrate = try installed(["migrate"], env: ["DATABASE_URL": config.conninfo])
        #expect(migrate.status == 0, "\(migrate.stderr)")
        #expect(try SQL.psql(config.conninfo, "SELECT to_regclass('public.batch_runs') IS NOT NULL") == "t")
        let runs = try installed(["runs"], env: ["DATABASE_URL": config.conninfo])
        #expect(runs.status == 0, "\(runs.stderr)")

        // Templates (the Arabic labels) and fonts from the installed share directory.
        let pdf = NSTemporaryDirectory() + "samia-installed-\(UUID().uuidString).pdf"
        let render = try installed([
            "render", "invoice", "--input", "\(root)/templates/examples/invoice.json", "--out", pdf,
        ])
        #expect(render.status == 0, "\(render.stderr)")
        #expect(try Shell.run("/usr/bin/qpdf", ["--check", pdf]).status == 0)
        // The policy files too: the data map is found and checked against the new database.
        let datamap = try installed(["datamap", "check"], env: ["DATABASE_URL": config.conninfo])
        #expect(datamap.status == 0, "\(datamap.stdout) \(datamap.stderr)")
        // An upgrade keeps the operator's policy files: the new example goes beside a changed one.
        let policy = "\(prefix)/share/samia-batch/policy/reconciliation.yaml"
        try "# ours\n".write(toFile: policy, atomically: true, encoding: .utf8)
        let again = try Shell.run(
            "/usr/bin/make", ["-C", root, "install-files", "PREFIX=\(prefix)", "BIN_PATH=\(bin)"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try String(contentsOfFile: policy, encoding: .utf8) == "# ours\n")
        #expect(FileManager.default.fileExists(atPath: policy + ".dist"))
        #expect(again.stdout.contains("kept your \(policy)"), "\(again.stdout)")
        // And with the share directory gone, the binary says where it looked.
        try FileManager.default.removeItem(atPath: "\(prefix)/share/samia-batch/templates")
        let lost = try installed([
            "render", "invoice", "--input", "\(root)/templates/examples/invoice.json", "--out", pdf,
        ])
        #expect(lost.status == 78, "\(lost.stderr)")
        #expect(lost.stderr.contains("\(prefix)/share/samia-batch/templates/locales"))
    }
}
