import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs real processes for tests (the CLI, psql, pdftotext, bsdtar, ...), capturing output.
///
/// Built on posix_spawn and waitpid rather than Foundation's Process, whose wait depends on a
/// run loop and was seen to hang when called from Swift Testing's worker threads.
public enum Shell {
    public struct Result: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    /// Runs `executable` with `arguments` and waits. Output goes through temporary files so a
    /// chatty child can never block on a full pipe.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, input: String? = nil
    ) throws -> Result {
        try start(executable, arguments, environment: environment, input: input).wait()
    }

    public static func start(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, input: String? = nil
    ) throws -> RunningProcess {
        let base = NSTemporaryDirectory() + "samia-shell-\(UUID().uuidString)"
        let inputPath = base + ".in"
        _ = FileManager.default.createFile(atPath: inputPath, contents: Data((input ?? "").utf8))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, inputPath, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, base + ".out", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, base + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let argv = [executable] + arguments
        var pid: pid_t = 0
        let status = withCStringArray(argv) { a in
            withCStringArray(env) { e in posix_spawn(&pid, executable, &actions, nil, a, e) }
        }
        guard status == 0 else {
            throw NSError(
                domain: "Shell", code: Int(status), userInfo: [NSLocalizedDescriptionKey: "cannot start \(executable)"])
        }
        return RunningProcess(pid: pid, base: base)
    }

    static func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R)
        -> R
    {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { pointers.forEach { free($0) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}

/// A child process started by `Shell.start`.
public final class RunningProcess: Sendable {
    public let pid: pid_t
    let base: String

    init(pid: pid_t, base: String) {
        self.pid = pid
        self.base = base
    }

    public func signal(_ sig: Int32) { kill(pid, sig) }

    /// True once the process has exited (it stays a zombie, unreaped, until `wait()`).
    public var hasExited: Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
        // The state follows the command name, which is in parentheses and may hold spaces.
        guard let close = stat.lastIndex(of: ")") else { return true }
        return stat[close...].dropFirst(2).first == "Z"
    }

    /// Waits for exit; the status is the exit code, or 128 + signal when killed.
    public func wait() -> Shell.Result {
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) == -1 && errno == EINTR {}
        let status: Int32 = (raw & 0x7F) == 0 ? (raw >> 8) & 0xFF : 128 + (raw & 0x7F)
        let out = (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? ""
        for suffix in [".out", ".err", ".in"] { unlink(base + suffix) }
        return Shell.Result(status: status, stdout: out, stderr: err)
    }
}
