import Foundation
import Reports
import TestSupport
import Testing

@Suite("Signed manifests and ZIPs")
struct ManifestTests {
    let dir: String
    let key = SigningKey()

    init() throws {
        dir = NSTemporaryDirectory() + "samia-manifest-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    func writeZip(_ files: [String: [UInt8]], signer: SigningKey? = nil, extra: (String, [UInt8])? = nil) throws
        -> String
    {
        var manifest = Manifest(
            artifact: "test/2026-10", createdBy: "samia-batch test", parameters: ["month": "2026-10"])
        let writer = try ZipWriter(path: dir + "/a\(UUID().uuidString.prefix(6)).zip")
        for (name, data) in files.sorted(by: { $0.key < $1.key }) {
            try writer.add(name, data: data)
            manifest.add(path: name, contents: data)
        }
        if let extra { try writer.add(extra.0, data: extra.1) }
        let signed = try manifest.signed(with: signer ?? key)
        try writer.add("manifest.json", data: signed.manifest)
        try writer.add("manifest.sig", data: signed.signature)
        try writer.commit()
        return writer.path
    }

    @Test func zipVerifiesAndIsReadableByIndependentTools() throws {
        let path = try writeZip(["summary.md": Array("# ملخص\n".utf8), "data/rows.csv": Array("a,b\n1,2\n".utf8)])
        let report = try ArtifactVerifier.verify(path: path, key: key.publicKey)
        #expect(report.checked.count == 3)
        #expect(try Shell.run("/usr/bin/unzip", ["-t", path]).status == 0)
        let listing = try Shell.run("/usr/bin/bsdtar", ["-tf", path])
        #expect(
            listing.stdout.split(separator: "\n").sorted() == [
                "data/rows.csv", "manifest.json", "manifest.sig", "summary.md",
            ])
        let content = try Shell.run("/usr/bin/bsdtar", ["-xOf", path, "summary.md"])
        #expect(content.stdout == "# ملخص\n")
    }

    /// The writer hashes the ZIP as libarchive hands it over, piece by piece, so the registry never
    /// reads an export back: over megabytes of entries written in uneven pieces, streamed and
    /// sized, the digest and size it reports must be the file's, and every entry whole.
    @Test func aBigZipHasTheDigestAndBytesOfItsFile() throws {
        let sizes = [1, 2 << 20, (2 << 20) - 7, 3_000_001, 4096, 5 << 20, 12_345]
        let random = try #require(FileHandle(forReadingAtPath: "/dev/urandom"))
        let bodies = try sizes.map { [UInt8](try random.read(upToCount: $0) ?? Data()) }
        #expect(bodies.map(\.count) == sizes)
        let writer = try ZipWriter(path: dir + "/big.zip", compressionLevel: 0)
        for (index, body) in bodies.enumerated() {
            try writer.begin("part-\(index).bin", size: index.isMultiple(of: 2) ? nil : Int64(body.count))
            // In uneven pieces, as media arrive.
            var offset = 0
            while offset < body.count {
                let n = min(body.count - offset, 65_536 + offset % 1_000)
                try body[offset..<offset + n].withUnsafeBytes { try writer.write($0) }
                offset += n
            }
            try writer.end()
        }
        try writer.commit()
        let size = try FileManager.default.attributesOfItem(atPath: writer.path)[.size] as? Int64
        #expect(writer.bytes == size && writer.bytes > Int64(sizes.reduce(0, +)))
        let sum = try Shell.run("/usr/bin/sha256sum", [writer.path])
        #expect(sum.stdout.split(separator: " ").first.map(String.init) == writer.sha256)
        #expect(try Shell.run("/usr/bin/unzip", ["-tq", writer.path]).status == 0)
        #expect(try Shell.run("/usr/bin/bsdtar", ["-xf", writer.path, "-C", dir]).status == 0)
        for (index, body) in bodies.enumerated() {
            let part = dir + "/part-\(index).bin"
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: part))) == body, "part \(index)")
        }
    }

    @Test func anyAlteredByteOrExtraFileOrWrongKeyIsRejected() throws {
        let path = try writeZip(["a.csv": Array("1,2\n".utf8)])
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        // The first entry's data starts after the 30-byte local header, its name and extra field.
        let dataStart = 30 + Int(bytes[26]) + Int(bytes[27]) << 8 + Int(bytes[28]) + Int(bytes[29]) << 8
        bytes[dataStart] ^= 0x01
        let tampered = dir + "/tampered.zip"
        try Data(bytes).write(to: URL(fileURLWithPath: tampered))
        #expect(throws: (any Error).self) { try ArtifactVerifier.verify(path: tampered, key: key.publicKey) }

        let withExtra = try writeZip(["a.csv": Array("1,2\n".utf8)], extra: ("sneaky.txt", [1]))
        #expect(throws: SigningError.self) { try ArtifactVerifier.verify(path: withExtra, key: key.publicKey) }

        let other = SigningKey()
        let wrong = try writeZip(["a.csv": Array("1,2\n".utf8)], signer: other)
        let error = #expect(throws: SigningError.self) { try ArtifactVerifier.verify(path: wrong, key: key.publicKey) }
        #expect("\(error!)".contains(other.publicKey.id))
    }

    @Test func directoryArtifactAndChangedFile() throws {
        let root = dir + "/art"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        var manifest = Manifest(artifact: "dir", createdBy: "t")
        let data = Array("hello".utf8)
        try Data(data).write(to: URL(fileURLWithPath: root + "/x.txt"))
        manifest.add(path: "x.txt", contents: data)
        let signed = try manifest.signed(with: key)
        try Data(signed.manifest).write(to: URL(fileURLWithPath: root + "/manifest.json"))
        try Data(signed.signature).write(to: URL(fileURLWithPath: root + "/manifest.sig"))
        #expect(try ArtifactVerifier.verify(path: root, key: key.publicKey).artifact == "dir")
        try Data("hellO".utf8).write(to: URL(fileURLWithPath: root + "/x.txt"))
        let error = #expect(throws: SigningError.self) { try ArtifactVerifier.verify(path: root, key: key.publicKey) }
        #expect("\(error!)".contains("x.txt"))
    }

    @Test func keysRoundTripThroughFilesAndRefuseOverwrite() throws {
        let path = dir + "/k"
        try key.write(to: path)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(try SigningKey(contentsOf: path).publicKey.id == key.publicKey.id)
        #expect(try VerifyingKey(contentsOf: path + ".pub").id == key.publicKey.id)
        #expect(throws: SigningError.self) { try key.write(to: path) }
        try "garbage".write(toFile: dir + "/bad", atomically: true, encoding: .utf8)
        #expect(throws: SigningError.self) { _ = try SigningKey(contentsOf: dir + "/bad") }
    }

    @Test(arguments: ["../../etc/passwd", "/abs", "a/../b", "a//b", "", "a\\b", "ok\u{0}"])
    func unsafeEntryNamesAreRefused(_ name: String) throws {
        #expect(!EntryName.isSafe(name))
        let writer = try ZipWriter(path: dir + "/n.zip")
        #expect(throws: ArchiveError.self) { try writer.add(name, data: [1]) }
    }

    @Test func sanitizedComponentsAreSafe() {
        for hostile in ["../../etc/passwd", "..", ".hidden", "a/b\\c", ""] {
            #expect(EntryName.isSafe(EntryName.sanitizedComponent(hostile)))
        }
    }
}
