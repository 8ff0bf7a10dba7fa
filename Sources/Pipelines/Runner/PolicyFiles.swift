import Foundation
import Reports

/// Finds files in `policy/` the way templates are found: `SAMIA_POLICY_DIR`, else the install
/// prefix, then the working directory and the executable's parents.
///
/// When `SAMIA_POLICY_DIR` is set it is the only place looked in: a file missing there is an
/// error, never quietly replaced by the example shipped beside the binary (which would run
/// retention, or judge parity, by rules nobody chose).
public enum PolicyFiles {
    public static func locate(_ name: String, _ env: [String: String] = ProcessInfo.processInfo.environment) throws
        -> String
    {
        if let dir = env["SAMIA_POLICY_DIR"], !dir.isEmpty {
            let path = (dir.hasSuffix("/") ? String(dir.dropLast()) : dir) + "/" + name
            guard FileManager.default.fileExists(atPath: path) else {
                throw BatchError.configuration("policy file \(name) not found in SAMIA_POLICY_DIR (\(path))")
            }
            return path
        }
        var candidates: [String] = []
        let exe = Executable.directory
        candidates.append(exe.deletingLastPathComponent().path + "/share/samia-batch/policy")
        for start in [URL(fileURLWithPath: FileManager.default.currentDirectoryPath), exe] {
            var dir = start
            for _ in 0..<6 {
                candidates.append(dir.path + "/policy")
                dir.deleteLastPathComponent()
            }
        }
        for c in candidates where FileManager.default.fileExists(atPath: c + "/" + name) { return c + "/" + name }
        throw BatchError.configuration(
            "policy file \(name) not found; set SAMIA_POLICY_DIR. Looked in: \(candidates.joined(separator: ", "))")
    }
}
