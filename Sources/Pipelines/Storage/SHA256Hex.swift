import Crypto

/// Lower-case hex SHA-256, the form manifests, `media_assets` and `batch_artifacts` record.
public enum SHA256Hex {
    public static func of(_ bytes: [UInt8]) -> String {
        var stream = SHA256Stream()
        bytes.withUnsafeBytes { stream.update($0) }
        return stream.finalize()
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        let digits = Array("0123456789abcdef")
        var out = ""
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return out
    }
}

/// SHA-256 over data that arrives in chunks (a COPY stream, a file read in pieces), so large
/// artefacts are hashed without being held in memory.
public struct SHA256Stream {
    private var hasher = SHA256()

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) { hasher.update(bufferPointer: bytes) }

    public func finalize() -> String { SHA256Hex.hex(hasher.finalize()) }
}
