import Foundation

/// Where the running binary lives, for finding what `make install` put beside it
/// (`../share/samia-batch/templates`, `../share/samia-batch/policy`).
///
/// `argv[0]` is only a name when the binary is found through `PATH` (cron, systemd), so the
/// kernel's own answer (`/proc/self/exe`, symlinks resolved) comes first.
public enum Executable {
    public static var directory: URL {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return URL(fileURLWithPath: path).deletingLastPathComponent()
        }
        return URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath()
            .deletingLastPathComponent()
    }
}
