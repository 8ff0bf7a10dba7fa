import Foundation
import TestSupport
import Testing

/// `make package`'s .deb, as an administrator uses it: installed, upgraded and removed with
/// dpkg on this machine, and its binary run with the Swift toolchain hidden (a tmpfs over
/// /opt/swift in a mount namespace of its own), as on a Debian host that never had one.
@Suite("Package", .serialized)
struct PackageTests {
    let out = NSTemporaryDirectory() + "samia-package-\(UUID().uuidString)"
    static let root = TestCluster.repositoryRoot.path

    /// Runs `command` as root (directly, or through sudo), returning its result.
    func asRoot(_ command: String, _ arguments: [String]) throws -> Shell.Result {
        getuid() == 0 ? try Shell.run(command, arguments) : try Shell.run("/usr/bin/sudo", ["-n", command] + arguments)
    }

    /// Runs `arguments` with /opt/swift replaced by an empty directory.
    func withoutToolchain(_ arguments: [String]) throws -> Shell.Result {
        try asRoot(
            "/usr/bin/unshare",
            [
                "--mount", "--propagation", "private", "/bin/sh", "-c",
                "mount -t tmpfs tmpfs /opt/swift && exec \"$@\"", "sh",
            ]
                + arguments)
    }

    func package(_ version: String) throws -> String {
        let dir = out + "/" + version
        let built = try Shell.run(
            "/bin/bash", [Self.root + "/scripts/package.sh", dir],
            environment: CLI.environment(["VERSION": version, "HOME": NSTemporaryDirectory()]))
        #expect(built.status == 0, "\(built.stderr)")
        return built.stdout.split(separator: "\n").last.map(String.init) ?? ""
    }

    @Test func theDebInstallsUpgradesAndRemovesCleanlyAndRunsWithoutTheToolchain() throws {
        #expect(
            !FileManager.default.fileExists(atPath: "/var/lib/samia-batch"),
            "a samia-batch installation exists on this machine; the test would touch it")
        let first = try package("0.0.1")
        let second = try package("0.0.2")
        let info = try Shell.run("/usr/bin/dpkg-deb", ["-f", first, "Depends"]).stdout
        for needed in ["libpq5", "libarchive13", "libharfbuzz0b", "libfreetype6", "libfribidi0", "fonts-noto-core"] {
            #expect(info.contains(needed), "Depends: \(info)")
        }
        defer {
            _ = try? asRoot("/usr/bin/dpkg", ["--purge", "samia-batch"])
            _ = try? asRoot("/bin/rm", ["-rf", "/var/lib/samia-batch", "/var/log/samia-batch"])
        }
        let install = try asRoot("/usr/bin/dpkg", ["-i", first])
        #expect(install.status == 0, "\(install.stdout) \(install.stderr)")
        #expect(try Shell.run("/usr/bin/getent", ["passwd", "samia-batch"]).status == 0)
        #expect(try Shell.run("/usr/bin/stat", ["-c", "%U %a", "/var/lib/samia-batch"]).stdout == "samia-batch 750\n")
        for path in [
            "/usr/share/man/man1/samia-batch.1.gz", "/usr/share/bash-completion/completions/samia-batch",
            "/usr/share/zsh/vendor-completions/_samia-batch", "/lib/systemd/system/samia-batch@.service",
            "/etc/samia-batch/policy/data-map.yaml", "/usr/bin/samia-batch-scheduled",
            "/etc/samia-batch/samia-batch.env", "/etc/samia-batch/jobs/nightly.env",
        ] {
            #expect(FileManager.default.fileExists(atPath: path), "\(path)")
        }
        let unit = try String(contentsOfFile: "/lib/systemd/system/samia-batch@.service", encoding: .utf8)
        #expect(unit.contains("ExecStart=/usr/bin/samia-batch $SAMIA_ARGS"))
        let manual = try Shell.run("/usr/bin/man", ["-l", "/usr/share/man/man1/samia-batch.1.gz"])
        #expect(manual.stdout.contains("reconcile"), "\(manual.stderr)")

        // No toolchain: the binary runs, finds its templates and fonts, and renders an invoice.
        let version = try withoutToolchain(["/usr/bin/samia-batch", "--version"])
        #expect(version.status == 0 && version.stdout.hasPrefix("samia-batch "), "\(version.stderr)")
        let pdf = out + "/invoice.pdf"
        let render = try withoutToolchain([
            "/usr/bin/samia-batch", "render", "invoice", "--input", Self.root + "/templates/examples/invoice.json",
            "--out", pdf,
        ])
        #expect(render.status == 0, "\(render.stderr)")
        #expect(try Shell.run("/usr/bin/qpdf", ["--check", pdf]).status == 0)

        // An upgrade keeps the operator's policy; removal keeps configuration; purge removes it.
        _ = try asRoot("/bin/sh", ["-c", "echo '# ours' >> /etc/samia-batch/policy/data-map.yaml"])
        let upgrade = try asRoot("/usr/bin/dpkg", ["-i", second])
        #expect(upgrade.status == 0, "\(upgrade.stderr)")
        #expect(try Shell.run("/usr/bin/dpkg-query", ["-W", "-f=${Version}", "samia-batch"]).stdout == "0.0.2")
        #expect(
            try String(contentsOfFile: "/etc/samia-batch/policy/data-map.yaml", encoding: .utf8).hasSuffix("# ours\n"))
        #expect(try asRoot("/usr/bin/dpkg", ["-r", "samia-batch"]).status == 0)
        #expect(!FileManager.default.fileExists(atPath: "/usr/bin/samia-batch"))
        #expect(FileManager.default.fileExists(atPath: "/etc/samia-batch/policy/data-map.yaml"))
        #expect(try asRoot("/usr/bin/dpkg", ["--purge", "samia-batch"]).status == 0)
        #expect(!FileManager.default.fileExists(atPath: "/etc/samia-batch"))
        #expect(FileManager.default.fileExists(atPath: "/var/lib/samia-batch"), "outputs are never deleted")
    }
}
