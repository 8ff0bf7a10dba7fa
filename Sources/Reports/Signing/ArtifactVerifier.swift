import Foundation

/// Checks a signed artefact, a directory or an archive, against its manifest and a public key.
public enum ArtifactVerifier {
    /// One line of what was checked, for `samia-batch verify` to print.
    public struct Report: Sendable {
        public var checked: [String] = []
        public var artifact: String = ""
        public var keyID: String = ""
    }

    /// Verifies every listed file's SHA-256, that nothing unlisted is present, and the signature.
    /// Throws on the first mismatch.
    public static func verify(path: String, key: VerifyingKey, passphrase: String? = nil) throws -> Report {
        var files: [String: [UInt8]] = [:]
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SigningError.manifestMissing(artifact: path)
        }
        if isDirectory.boolValue {
            let root = URL(fileURLWithPath: path)
            let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])
            while let url = walker?.nextObject() as? URL {
                guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
                let relative = String(url.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count + 1))
                files[relative] = [UInt8](try Data(contentsOf: url))
            }
        } else {
            try ArchiveReader.forEachEntry(in: path, passphrase: passphrase) { name, data in files[name] = data }
        }
        guard let manifestBytes = files.removeValue(forKey: "manifest.json") else {
            throw SigningError.manifestMissing(artifact: path)
        }
        guard let sigBytes = files.removeValue(forKey: "manifest.sig") else {
            throw SigningError.signatureMissing(artifact: path)
        }
        var report = Report()
        let signature: ManifestSignature
        let manifest: Manifest
        do {
            signature = try JSONDecoder().decode(ManifestSignature.self, from: Data(sigBytes))
            manifest = try JSONDecoder().decode(Manifest.self, from: Data(manifestBytes))
        } catch {
            throw SigningError.manifestMalformed(artifact: path, reason: "\(error)")
        }
        guard signature.keyID == key.id else {
            throw SigningError.wrongKey(artifact: path, expected: key.id, found: signature.keyID)
        }
        guard signature.algorithm == "Ed25519", let raw = Data(base64Encoded: signature.signature),
            key.isValid(signature: [UInt8](raw), for: manifestBytes)
        else { throw SigningError.signatureInvalid(artifact: path, keyID: key.id) }
        report.artifact = manifest.artifact
        report.keyID = key.id
        report.checked.append("signature: Ed25519, key \(key.id): valid")
        for file in manifest.files.sorted(by: { $0.path < $1.path }) {
            guard let data = files.removeValue(forKey: file.path) else {
                throw SigningError.fileMissing(artifact: path, file: file.path)
            }
            guard Manifest.sha256(data) == file.sha256, Int64(data.count) == file.bytes else {
                throw SigningError.fileChanged(artifact: path, file: file.path)
            }
            report.checked.append("\(file.path): sha256 \(file.sha256.prefix(16))…, \(file.bytes) bytes: ok")
        }
        if let extra = files.keys.sorted().first {
            throw SigningError.unlistedFile(artifact: path, file: extra)
        }
        return report
    }
}
