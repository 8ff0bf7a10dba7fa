import Crypto
import Foundation

/// The evidence that ships with every artefact: the SHA-256 of each file and the parameters
/// of the run that made it.
///
/// The signature is detached (`manifest.sig`) and covers the exact bytes of `manifest.json`,
/// so verification never depends on re-serialising JSON the same way (see docs/architecture.md).
public struct Manifest: Codable, Sendable, Equatable {
    public struct File: Codable, Sendable, Equatable {
        public let path: String
        public let sha256: String
        public let bytes: Int64
    }

    public static let format = "samia-batch-manifest/1"
    public var format: String = Manifest.format
    /// What this artefact is, e.g. `reconciliation/2026-10`.
    public var artifact: String
    public var createdBy: String
    public var createdAt: String?
    public var parameters: [String: String]
    public var files: [File]

    public init(artifact: String, createdBy: String, createdAt: String? = nil, parameters: [String: String] = [:]) {
        self.artifact = artifact
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.parameters = parameters
        self.files = []
    }

    enum CodingKeys: String, CodingKey {
        case format, artifact, parameters, files
        case createdBy = "created_by"
        case createdAt = "created_at"
    }

    /// Records a file's digest and size.
    public mutating func add(path: String, contents: [UInt8]) {
        files.append(File(path: path, sha256: Manifest.sha256(contents), bytes: Int64(contents.count)))
    }

    public mutating func add(path: String, sha256: String, bytes: Int64) {
        files.append(File(path: path, sha256: sha256, bytes: bytes))
    }

    /// Deterministic JSON: sorted keys, files sorted by path.
    public func encoded() throws -> [UInt8] {
        var copy = self
        copy.files.sort { $0.path < $1.path }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return [UInt8](try encoder.encode(copy)) + [0x0A]
    }

    /// `manifest.json` and `manifest.sig` contents for this manifest, signed with `key`.
    public func signed(with key: SigningKey) throws -> (manifest: [UInt8], signature: [UInt8]) {
        let bytes = try encoded()
        let sig = ManifestSignature(
            algorithm: "Ed25519", keyID: key.publicKey.id,
            signature: Data(try key.sign(bytes)).base64EncodedString())
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return (bytes, [UInt8](try encoder.encode(sig)) + [0x0A])
    }

    public static func sha256(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }
}

/// The detached signature of a manifest.
public struct ManifestSignature: Codable, Sendable {
    public let algorithm: String
    public let keyID: String
    public let signature: String

    enum CodingKeys: String, CodingKey {
        case algorithm
        case keyID = "key_id"
        case signature
    }
}
