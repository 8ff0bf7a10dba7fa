/// Why a key could not be used or an artefact did not verify.
public enum SigningError: Error, Sendable, CustomStringConvertible {
    case keyFileMissing(path: String)
    case keyFileMalformed(path: String, reason: String)
    case keyFileExists(path: String)
    case manifestMissing(artifact: String)
    case manifestMalformed(artifact: String, reason: String)
    case signatureMissing(artifact: String)
    case signatureInvalid(artifact: String, keyID: String)
    case wrongKey(artifact: String, expected: String, found: String)
    case fileMissing(artifact: String, file: String)
    case fileChanged(artifact: String, file: String)
    case unlistedFile(artifact: String, file: String)

    public var description: String {
        switch self {
        case .keyFileMissing(let path): return "signing key file \(path) does not exist"
        case .keyFileMalformed(let path, let reason): return "signing key file \(path) is malformed: \(reason)"
        case .keyFileExists(let path): return "\(path) already exists; refusing to overwrite a key"
        case .manifestMissing(let a): return "\(a): no manifest.json"
        case .manifestMalformed(let a, let reason): return "\(a): manifest.json is malformed: \(reason)"
        case .signatureMissing(let a): return "\(a): no manifest.sig"
        case .signatureInvalid(let a, let key): return "\(a): signature does not verify with key \(key)"
        case .wrongKey(let a, let expected, let found):
            return "\(a): signed with key \(found), but the configured public key is \(expected)"
        case .fileMissing(let a, let f): return "\(a): \(f) is listed in the manifest but missing"
        case .fileChanged(let a, let f): return "\(a): \(f) does not match its SHA-256 in the manifest"
        case .unlistedFile(let a, let f): return "\(a): \(f) is not listed in the manifest"
        }
    }
}
