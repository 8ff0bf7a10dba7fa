import Crypto
import Foundation
import Reports
import Threads

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Objects in an S3-compatible bucket (AWS S3, Supabase Storage's S3 endpoint, MinIO), signed
/// with AWS Signature Version 4 (swift-crypto's HMAC-SHA-256) and addressed path-style
/// (`ENDPOINT/BUCKET/KEY`), which every one of them accepts.
///
/// Calls are synchronous, like the rest of the batch: each waits for its response. Uploads of
/// files stream from disk and downloads to disk, so large artefacts are never held in memory.
/// Error messages carry the key, the HTTP status and S3's error code; never a credential.
public struct S3ObjectStore: ObjectStore {
    public struct Configuration: Sendable {
        public var endpoint: URL
        public var bucket: String
        public var region: String
        public var accessKeyID: String
        public var secretAccessKey: String
        public var timeout: TimeInterval = 60

        public init(endpoint: URL, bucket: String, region: String, accessKeyID: String, secretAccessKey: String) {
            self.endpoint = endpoint
            self.bucket = bucket
            self.region = region
            self.accessKeyID = accessKeyID
            self.secretAccessKey = secretAccessKey
        }
    }

    public let configuration: Configuration

    public init(configuration: Configuration) { self.configuration = configuration }

    public var displayName: String { "s3 \(configuration.endpoint.absoluteString)/\(configuration.bucket)" }

    public func put(_ key: String, data: [UInt8], contentType: String) throws {
        let response = try send("PUT", key: key, body: .bytes(data), contentType: contentType)
        try expect(response, key: key, ok: [200])
    }

    public func putFile(_ key: String, from path: String, contentType: String) throws {
        var hasher = SHA256()
        try LocalFile.stream(path, key: key) { hasher.update(bufferPointer: $0) }
        let digest = SHA256Hex.hex(hasher.finalize())
        let response = try send("PUT", key: key, body: .file(path, sha256: digest), contentType: contentType)
        try expect(response, key: key, ok: [200])
    }

    public func get(_ key: String) throws -> [UInt8]? {
        let response = try send("GET", key: key)
        if response.status == 404 { return nil }
        try expect(response, key: key, ok: [200])
        return response.body
    }

    public func getFile(_ key: String, to path: String) throws -> Bool {
        try withDownload(key) { file in
            try LocalFile.writeAtomically(path, key: key) { write in try LocalFile.stream(file, key: key, write) }
        }
    }

    public func read(_ key: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        try withDownload(key) { file in try LocalFile.stream(file, key: key, body) }
    }

    public func readChunks(_ key: String, _ body: ([UInt8]) throws -> Void) throws -> Bool {
        try withDownload(key) { file in try LocalFile.chunks(file, key: key, body) }
    }

    /// Downloads the object to a temporary file, hands it to `body` and removes it; false (and
    /// no call) when there is no such object.
    private func withDownload(_ key: String, _ body: (String) throws -> Void) throws -> Bool {
        let response = try send("GET", key: key, download: true)
        if response.status == 404 { return false }
        try expect(response, key: key, ok: [200])
        guard let file = response.file else { throw StorageError.io(key: key, message: "no body downloaded") }
        defer { try? FileManager.default.removeItem(atPath: file) }
        try body(file)
        return true
    }

    public func exists(_ key: String) throws -> Bool {
        let response = try send("HEAD", key: key)
        if response.status == 404 { return false }
        try expect(response, key: key, ok: [200])
        return true
    }

    /// S3 answers 204 whether or not the object existed: a missing object counts as deleted.
    public func delete(_ key: String) throws {
        let response = try send("DELETE", key: key)
        try expect(response, key: key, ok: [200, 204, 404])
    }

    /// ListObjectsV2, page by page (1,000 keys each), following the continuation token.
    public func list(prefix: String, _ body: (_ key: String, _ modified: Date) throws -> Void) throws {
        let dates = ISO8601DateFormatter()
        dates.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plainDates = ISO8601DateFormatter()
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", prefix)]
            if let token { query.append(("continuation-token", token)) }
            let response = try send("GET", key: "", query: query)
            try expect(response, key: prefix, ok: [200])
            let xml = String(decoding: response.body, as: UTF8.self)
            for part in xml.components(separatedBy: "<Contents>").dropFirst() {
                guard let key = Self.element("Key", in: part).map(Self.unescape) else { continue }
                let stamp = Self.element("LastModified", in: part) ?? ""
                try body(key, dates.date(from: stamp) ?? plainDates.date(from: stamp) ?? Date())
            }
            token =
                Self.element("IsTruncated", in: xml) == "true"
                ? Self.element("NextContinuationToken", in: xml).map(Self.unescape) : nil
        } while token != nil
    }

    /// The five predefined XML entities, as S3 escapes keys in listings.
    static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&#39;", with: "'").replacingOccurrences(of: "&amp;", with: "&")
    }

    // MARK: - HTTP

    enum Body {
        case none
        case bytes([UInt8])
        case file(String, sha256: String)
    }

    struct Response {
        var status: Int
        var body: [UInt8]
        /// With `download`, the body is in this temporary file instead.
        var file: String?
    }

    private func expect(_ response: Response, key: String, ok: Set<Int>) throws {
        guard ok.contains(response.status) else {
            let text = String(decoding: response.body.prefix(2048), as: UTF8.self)
            let code = Self.element("Code", in: text).map { " \($0)" } ?? ""
            throw StorageError.io(key: key, message: "\(displayName) answered HTTP \(response.status)\(code)")
        }
    }

    static func element(_ name: String, in xml: String) -> String? {
        guard let open = xml.range(of: "<\(name)>"),
            let close = xml.range(of: "</\(name)>", range: open.upperBound..<xml.endIndex)
        else { return nil }
        return String(xml[open.upperBound..<close.lowerBound])
    }

    /// One signed request. An empty `key` addresses the bucket itself (listings).
    private func send(
        _ method: String, key: String, query: [(String, String)] = [], body: Body = .none, contentType: String? = nil,
        download: Bool = false
    ) throws -> Response {
        guard key.isEmpty ? !query.isEmpty : EntryName.isSafe(key) else { throw StorageError.unsafeKey(key) }
        let request = try signedRequest(method, key: key, query: query, body: body, contentType: contentType)
        return try perform(request, body: body, download: download, key: key)
    }

    /// The request for `key` with its AWS Signature V4 headers.
    private func signedRequest(
        _ method: String, key: String, query: [(String, String)], body: Body, contentType: String?
    ) throws -> URLRequest {
        let path =
            key.isEmpty ? "/" + Self.encode(configuration.bucket) : Self.path(bucket: configuration.bucket, key: key)
        let canonicalQuery = query.map { (Self.encode($0.0), Self.encode($0.1)) }.sorted { $0 < $1 }
            .map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        guard var components = URLComponents(url: configuration.endpoint, resolvingAgainstBaseURL: false) else {
            throw StorageError.notConfigured("S3 endpoint \(configuration.endpoint) is not a URL")
        }
        components.percentEncodedPath =
            (components.percentEncodedPath.hasSuffix("/")
                ? String(components.percentEncodedPath.dropLast()) : components.percentEncodedPath) + path
        if !canonicalQuery.isEmpty { components.percentEncodedQuery = canonicalQuery }
        guard let url = components.url, let host = components.host else {
            throw StorageError.notConfigured("S3 endpoint \(configuration.endpoint) has no host")
        }
        let hostHeader = components.port.map { "\(host):\($0)" } ?? host
        let payloadHash: String
        switch body {
        case .none: payloadHash = SHA256Hex.of([])
        case .bytes(let bytes): payloadHash = SHA256Hex.of(bytes)
        case .file(_, let sha): payloadHash = sha
        }
        var request = URLRequest(url: url, timeoutInterval: configuration.timeout)
        request.httpMethod = method
        let headers = Self.sign(
            method: method, path: components.percentEncodedPath, query: canonicalQuery, host: hostHeader,
            payloadHash: payloadHash, date: Date(), configuration: configuration)
        // Host is signed, and URLSession sends the same value from the URL itself.
        for (name, value) in headers where name != "Host" { request.setValue(value, forHTTPHeaderField: name) }
        if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }

        return request
    }

    /// Sends `request` and waits for its answer; a download lands in a temporary file of ours.
    private func perform(_ request: URLRequest, body: Body, download: Bool, key: String) throws -> Response {
        let box = ResponseBox()
        let done = DispatchSemaphore(value: 0)
        let session = URLSession(configuration: .ephemeral)
        defer { session.finishTasksAndInvalidate() }
        let task: URLSessionTask
        switch (body, download) {
        case (.file(let file, _), _):
            task = session.uploadTask(with: request, fromFile: URL(fileURLWithPath: file)) { data, response, error in
                box.set(data: data, response: response, error: error, file: nil)
                done.signal()
            }
        case (_, true):
            task = session.downloadTask(with: request) { location, response, error in
                // The system deletes `location` when this returns: move it somewhere of ours.
                var kept: String?
                if let location {
                    if let target = try? LocalFile.temporaryDirectory("s3", create: false),
                        (try? FileManager.default.moveItem(atPath: location.path, toPath: target)) != nil
                    {
                        kept = target
                    }
                }
                box.set(data: nil, response: response, error: error, file: kept)
                done.signal()
            }
        case (.bytes(let bytes), false):
            task = session.uploadTask(with: request, from: Data(bytes)) { data, response, error in
                box.set(data: data, response: response, error: error, file: nil)
                done.signal()
            }
        case (.none, false):
            task = session.dataTask(with: request) { data, response, error in
                box.set(data: data, response: response, error: error, file: nil)
                done.signal()
            }
        }
        task.resume()
        done.wait()
        let (data, response, error, file) = box.get()
        if let error {
            if let file { try? FileManager.default.removeItem(atPath: file) }
            throw StorageError.io(key: key, message: "\(displayName): \(error.localizedDescription)")
        }
        guard let http = response as? HTTPURLResponse else {
            throw StorageError.io(key: key, message: "\(displayName): no HTTP response")
        }
        var result = Response(status: http.statusCode, body: [UInt8](data ?? Data()), file: file)
        if download, http.statusCode != 200, let file {
            result.body = [UInt8]((try? Data(contentsOf: URL(fileURLWithPath: file))) ?? Data())
            try? FileManager.default.removeItem(atPath: file)
            result.file = nil
        }
        return result
    }

    /// The headers of a SigV4-signed request (`Authorization`, `x-amz-date`,
    /// `x-amz-content-sha256`, `Host`).
    static func sign(
        method: String, path: String, query: String = "", host: String, payloadHash: String, date: Date,
        configuration: Configuration
    ) -> [(String, String)] {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let amzDate = formatter.string(from: date)
        let day = String(amzDate.prefix(8))
        let signedHeaders = "host;x-amz-content-sha256;x-amz-date"
        let canonical = [
            method, path, query, "host:\(host)", "x-amz-content-sha256:\(payloadHash)", "x-amz-date:\(amzDate)", "",
            signedHeaders, payloadHash,
        ].joined(separator: "\n")
        let scope = "\(day)/\(configuration.region)/s3/aws4_request"
        let toSign = ["AWS4-HMAC-SHA256", amzDate, scope, SHA256Hex.of(Array(canonical.utf8))].joined(separator: "\n")
        var key = SymmetricKey(data: Array("AWS4\(configuration.secretAccessKey)".utf8))
        for part in [day, configuration.region, "s3", "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        let signature = SHA256Hex.hex(HMAC<SHA256>.authenticationCode(for: Array(toSign.utf8), using: key))
        return [
            ("Host", host), ("x-amz-date", amzDate), ("x-amz-content-sha256", payloadHash),
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=\(configuration.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
            ),
        ]
    }

    /// `/BUCKET/KEY` with every segment encoded: the request path and the signed canonical URI.
    static func path(bucket: String, key: String) -> String {
        "/" + encode(bucket) + "/"
            + key.split(separator: "/", omittingEmptySubsequences: false).map { encode(String($0)) }
            .joined(separator: "/")
    }

    /// RFC 3986 encoding as SigV4 wants it: only unreserved characters stay as they are.
    static func encode(_ segment: String) -> String {
        var out = ""
        for byte in segment.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"):
                out.append(Character(UnicodeScalar(byte)))
            default: out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    /// Reads the S3 settings; any missing one, when the bucket is set, is an error naming it.
    public static func fromEnvironment(_ env: [String: String]) throws -> S3ObjectStore? {
        guard let bucket = env["SAMIA_S3_BUCKET"], !bucket.isEmpty else { return nil }
        func required(_ name: String, _ alternative: String? = nil) throws -> String {
            if let v = env[name], !v.isEmpty { return v }
            if let alternative, let v = env[alternative], !v.isEmpty { return v }
            throw StorageError.notConfigured(
                "SAMIA_S3_BUCKET is set but \(name)\(alternative.map { " (or \($0))" } ?? "") is not")
        }
        let endpointText = try required("SAMIA_S3_ENDPOINT")
        guard let endpoint = URL(string: endpointText), endpoint.scheme == "https" || endpoint.scheme == "http",
            endpoint.host != nil
        else { throw StorageError.notConfigured("SAMIA_S3_ENDPOINT is not an http(s) URL") }
        return S3ObjectStore(
            configuration: Configuration(
                endpoint: endpoint, bucket: bucket, region: try required("SAMIA_S3_REGION", "AWS_REGION"),
                accessKeyID: try required("SAMIA_S3_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"),
                secretAccessKey: try required("SAMIA_S3_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY")))
    }
}

/// The completion handler's results, handed across the URLSession thread.
private final class ResponseBox: Sendable {
    private struct Answer {
        var data: Data?
        var response: URLResponse?
        var error: (any Error)?
        var file: String?
    }

    private let answer = Locked(Answer())

    func set(data: Data?, response: URLResponse?, error: (any Error)?, file: String?) {
        answer.withLock { $0 = Answer(data: data, response: response, error: error, file: file) }
    }

    func get() -> (Data?, URLResponse?, (any Error)?, String?) {
        answer.withLock { ($0.data, $0.response, $0.error, $0.file) }
    }
}
