import Crypto
import Foundation

/// An Ed25519 key pair for signing artefact manifests, stored as one line of text:
/// `samia-ed25519-private:BASE64` (32 raw bytes) in a file readable by its owner only, and
/// `samia-ed25519-public:BASE64` beside it in `FILE.pub`.
public struct SigningKey: Sendable {
    static let privatePrefix = "samia-ed25519-private:"
    static let publicPrefix = "samia-ed25519-public:"
    private let raw: Data
    var key: Curve25519.Signing.PrivateKey { try! Curve25519.Signing.PrivateKey(rawRepresentation: raw) }

    public init() { raw = Curve25519.Signing.PrivateKey().rawRepresentation }

    /// Loads a private key written by `write(to:)`.
    public init(contentsOf path: String) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SigningError.keyFileMissing(path: path)
        }
        let raw = try SigningKey.decode(text, prefix: SigningKey.privatePrefix, path: path)
        guard (try? Curve25519.Signing.PrivateKey(rawRepresentation: raw)) != nil else {
            throw SigningError.keyFileMalformed(path: path, reason: "not an Ed25519 private key")
        }
        self.raw = raw
    }

    public var publicKey: VerifyingKey { VerifyingKey(raw: key.publicKey.rawRepresentation) }

    /// Writes the private key (mode 0600) and `path.pub`; refuses to overwrite either.
    public func write(to path: String) throws {
        for p in [path, path + ".pub"] where FileManager.default.fileExists(atPath: p) {
            throw SigningError.keyFileExists(path: p)
        }
        let text = SigningKey.privatePrefix + key.rawRepresentation.base64EncodedString() + "\n"
        guard
            FileManager.default.createFile(
                atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        else { throw SigningError.keyFileMalformed(path: path, reason: "cannot create the file") }
        try publicKey.encoded.write(toFile: path + ".pub", atomically: true, encoding: .utf8)
    }

    public func sign(_ bytes: [UInt8]) throws -> [UInt8] {
        [UInt8](try key.signature(for: bytes))
    }

    static func decode(_ text: String, prefix: String, path: String) throws -> Data {
        let line = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard line.hasPrefix(prefix) else {
            throw SigningError.keyFileMalformed(path: path, reason: "expected a line starting with \(prefix)")
        }
        guard let raw = Data(base64Encoded: String(line.dropFirst(prefix.count))), raw.count == 32 else {
            throw SigningError.keyFileMalformed(path: path, reason: "the key is not 32 bytes of base64")
        }
        return raw
    }
}

/// The public half, for `verify`. Its id (first 16 hex digits of its SHA-256) names it in messages.
public struct VerifyingKey: Sendable {
    private let raw: Data
    var key: Curve25519.Signing.PublicKey { try! Curve25519.Signing.PublicKey(rawRepresentation: raw) }

    init(raw: Data) { self.raw = raw }

    public init(contentsOf path: String) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SigningError.keyFileMissing(path: path)
        }
        let raw = try SigningKey.decode(text, prefix: SigningKey.publicPrefix, path: path)
        guard (try? Curve25519.Signing.PublicKey(rawRepresentation: raw)) != nil else {
            throw SigningError.keyFileMalformed(path: path, reason: "not an Ed25519 public key")
        }
        self.raw = raw
    }

    public var encoded: String { SigningKey.publicPrefix + key.rawRepresentation.base64EncodedString() + "\n" }

    public var id: String {
        SHA256.hash(data: key.rawRepresentation).prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    public func isValid(signature: [UInt8], for bytes: [UInt8]) -> Bool {
        key.isValidSignature(signature, for: bytes)
    }
}
