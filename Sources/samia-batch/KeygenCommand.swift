import ArgumentParser
import Foundation
import Reports

struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Create an Ed25519 key pair for signing artefact manifests.",
        discussion: "Writes the private key to FILE (mode 0600) and the public key to FILE.pub. Never overwrites.")

    @Option(help: "Where to write the private key.") var out: String

    func run() throws {
        try execute {
            let key = SigningKey()
            try key.write(to: out)
            print("private key: \(out) (keep secret; set SAMIA_SIGNING_KEY_FILE to it)")
            print("public key:  \(out).pub (key id \(key.publicKey.id); give it to whoever verifies)")
        }
    }
}
