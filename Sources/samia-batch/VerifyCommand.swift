import ArgumentParser
import Foundation
import Reports
import Runner

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract:
            "Check a signed artefact (ZIP or directory): every file's SHA-256 and the manifest's Ed25519 signature.",
        discussion: "Exit 0 when everything matches; 1 on any missing, changed or unlisted file or a bad signature.")

    @Argument(help: "The artefact: a .zip or a directory containing manifest.json and manifest.sig.")
    var artifact: String

    @Option(help: "Public key file (default: SAMIA_SIGNING_PUBLIC_KEY_FILE).")
    var publicKey: String?

    @Option(help: "Passphrase file for an encrypted ZIP.")
    var passphraseFile: String?

    func run() throws {
        try execute {
            guard let keyPath = publicKey ?? ProcessInfo.processInfo.environment["SAMIA_SIGNING_PUBLIC_KEY_FILE"] else {
                throw BatchError.configuration("no public key: pass --public-key or set SAMIA_SIGNING_PUBLIC_KEY_FILE")
            }
            let key: VerifyingKey
            do { key = try VerifyingKey(contentsOf: keyPath) } catch { throw BatchError.configuration("\(error)") }
            let passphrase = try passphraseFile.map {
                try String(contentsOfFile: $0, encoding: .utf8).trimmingCharacters(in: .newlines)
            }
            do {
                let report = try ArtifactVerifier.verify(path: artifact, key: key, passphrase: passphrase)
                print("artefact \(report.artifact) at \(artifact)")
                for line in report.checked { print("  \(line)") }
                print("verified: \(report.checked.count - 1) file(s) and the signature")
            } catch {
                print("FAILED: \(error)")
                throw ExitCode.failure
            }
        }
    }
}
