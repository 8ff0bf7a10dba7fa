import Crypto
import Foundation
import Postgres
import Reports

/// The hourly `dsr process`: works through approved export requests one at a time, each in
/// its own claim (a session lock per request, so several workers may run), and reports the
/// queue's deadlines as metrics. A request whose process died mid-way is `running` with no lock
/// holder and is picked up again from the start: an export writes nothing the subject sees
/// until its artefact is recorded, so starting over is safe. A failed request is retried until
/// it has had `maxAttempts`.
public struct DSRProcessJob: Job {
    public let name = "dsr-process"
    public let partitionKind = PartitionKind.none
    public var isDestructive: Bool { false }
    public var allowsConcurrentRuns: Bool { true }

    public let map: DataMap
    public let mapFile: String
    public let store: any ObjectStore
    public let signingKey: SigningKey
    /// How long an export stays downloadable before retention deletes it.
    public let exportDays: Int
    public let contact: String
    /// The secret encrypted exports' passphrases are derived from (SAMIA_DSR_PASSPHRASE_KEY_FILE).
    public let passphraseKey: [UInt8]?
    public var maxRequests = Int.max
    public var maxAttempts = 3
    /// Open requests whose deadline is this close count as "due soon" in the metrics.
    public var dueSoon: TimeInterval = 7 * 86_400

    public func run(_ context: JobContext) throws -> JobOutcome {
        let db = context.connection
        // A table that references a person but is missing from the map stops every privacy job.
        _ = try DataMapValidator(connection: db).validate(map, file: mapFile)
        let scope = try SubjectScope(map: map, connection: db)
        let queue = DSRQueue(connection: db)
        var stats: [String: Int64] = ["exports_done": 0, "exports_failed": 0]
        var artifacts: [String] = []
        var processed = 0
        while processed < maxRequests {
            try context.checkpoint()
            guard let request = try queue.claim(kinds: [.export], runID: context.runID, maxAttempts: maxAttempts)
            else { break }
            processed += 1
            defer { try? queue.release(request.id) }
            context.logger.info(
                "export started", metadata: ["event": "dsr_export_started", "request": "\(request.id)"])
            do {
                let record = try export(request, scope: scope, db: db, context: context)
                let expires = context.clock.now().addingTimeInterval(Double(exportDays) * 86_400)
                _ = try queue.finishExport(request, artifact: record, expiresAt: expires)
                stats["exports_done", default: 0] += 1
                artifacts.append(record.storageKey)
                context.logger.info(
                    "export ready",
                    metadata: [
                        "event": "dsr_export_ready", "request": "\(request.id)", "artifact": "\(record.id)",
                        "bytes": "\(record.bytes)",
                    ])
            } catch let error as BatchError {
                // Interrupted or out of time: leave it `running`; the next process resumes it.
                throw error
            } catch {
                let message = "\(error)"
                try queue.fail(request, error: message)
                stats["exports_failed", default: 0] += 1
                context.logger.error(
                    "export failed",
                    metadata: ["event": "dsr_export_failed", "request": "\(request.id)", "error": "\(message)"])
            }
        }
        var outcome = JobOutcome(
            stats: stats, artifacts: artifacts, failedItems: Int(stats["exports_failed"] ?? 0),
            itemsProcessed: Int64(processed))
        let open = try queue.list()
        let now = context.clock.now()
        outcome.gauges["samia_dsr_requests_open"] = Double(open.count)
        outcome.gauges["samia_dsr_requests_overdue"] = Double(open.filter { $0.deadline < now }.count)
        outcome.gauges["samia_dsr_requests_due_soon"] = Double(
            open.filter { $0.deadline >= now && $0.deadline < now.addingTimeInterval(dueSoon) }.count)
        if let next = open.map(\.deadline).min() {
            outcome.gauges["samia_dsr_next_deadline_timestamp_seconds"] = next.timeIntervalSince1970.rounded()
        }
        return outcome
    }

    private func export(_ request: DSRRequest, scope: SubjectScope, db: Connection, context: JobContext) throws
        -> ArtifactRecord
    {
        let registry = ArtifactRegistry(connection: db, store: store)
        let partition = "request-\(request.id)"
        let version = try registry.nextVersion(kind: Self.artifactKind, partition: partition)
        let fileName = "samia-export-\(request.id)-v\(version).zip"
        let directory = NSTemporaryDirectory() + "samia-dsr-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/" + fileName
        let now = context.clock.now()
        let passphrase: String?
        if request.encrypted {
            guard let passphraseKey else { throw DSRError.noPassphraseKey }
            passphrase = Self.passphrase(requestID: request.id, key: passphraseKey)
        } else {
            passphrase = nil
        }
        let zip = try ZipWriter(path: path, passphrase: passphrase)
        var manifest = Manifest(
            artifact: "\(Self.artifactKind)/\(partition)/v\(version)", createdBy: "samia-batch \(SamiaVersion.version)",
            createdAt: PDFRenderer.isoDate(now))
        manifest.parameters["request"] = String(request.id)
        manifest.parameters["subject"] = request.subject.uuidString.lowercased()
        manifest.parameters["masked"] = request.unmasked ? "no (superadmin override)" : "yes"
        manifest.parameters["encrypted"] = request.encrypted ? "AES-256 (WinZip AE-2)" : "no"
        let summary = try SubjectExport(connection: db, scope: scope, store: store).write(
            subject: request.subject, requestID: request.id, unmasked: request.unmasked, contact: contact, zip: zip,
            manifest: &manifest, now: now)
        manifest.parameters["rows"] = String(summary.rows.values.reduce(0, +))
        manifest.parameters["media_files"] = String(summary.mediaFiles)
        manifest.parameters["media_missing"] = String(summary.missingMedia.count)
        let (manifestBytes, signature) = try manifest.signed(with: signingKey)
        try zip.add("manifest.json", data: manifestBytes, modified: now)
        try zip.add("manifest.sig", data: signature, modified: now)
        try zip.commit()
        // Test-only crash point (SAMIA_FAULT_INJECTION=dsr-after-zip): dies as a kill would, with
        // the ZIP written and nothing recorded.
        if ProcessInfo.processInfo.environment["SAMIA_FAULT_INJECTION"] == "dsr-after-zip" { _exit(71) }
        if !summary.missingMedia.isEmpty {
            context.logger.warning(
                "export names media the store does not hold",
                metadata: [
                    "event": "dsr_media_missing", "request": "\(request.id)", "count": "\(summary.missingMedia.count)",
                ])
        }
        return try registry.record(
            kind: Self.artifactKind, partition: partition, version: version, localPath: path, fileName: fileName,
            parameters: ["request": String(request.id), "encrypted": String(request.encrypted)], runID: context.runID)
    }

    public static let artifactKind = "dsr-export"

    /// The export's passphrase, derived from the secret and the request id so it is never
    /// stored: `dsr passphrase ID` derives it again for out-of-band delivery. 24 characters of
    /// an unambiguous alphabet (about 120 bits).
    public static func passphrase(requestID: Int64, key: [UInt8]) -> String {
        let mac = HMAC<SHA256>.authenticationCode(
            for: Array("samia-batch dsr-export passphrase \(requestID)".utf8), using: SymmetricKey(data: key))
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
        var out = ""
        for (i, byte) in mac.enumerated() where i < 24 {
            out.append(alphabet[Int(byte) % alphabet.count])
            if i % 6 == 5 && i < 23 { out.append("-") }
        }
        return out
    }

    /// Reads the configuration every privacy job needs; anything missing is an error.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws
        -> DSRProcessJob
    {
        let (map, file) = try DataMap.load(environment: env)
        guard let keyPath = env["SAMIA_SIGNING_KEY_FILE"], !keyPath.isEmpty else {
            throw BatchError.configuration(
                "no signing key: set SAMIA_SIGNING_KEY_FILE (create one with `samia-batch keygen`)")
        }
        let key: SigningKey
        do { key = try SigningKey(contentsOf: keyPath) } catch {
            throw BatchError.configuration("signing key \(keyPath): \(error)")
        }
        let store: any ObjectStore
        do { store = try ObjectStores.fromEnvironment(env) } catch let error as StorageError {
            throw BatchError.configuration(error.description)
        }
        guard let contact = env["SAMIA_DPO_CONTACT"], !contact.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw BatchError.configuration(
                "SAMIA_DPO_CONTACT is not set: the export's README must tell the subject how to reach the data protection officer"
            )
        }
        var days = 14
        if let text = env["SAMIA_DSR_EXPORT_DAYS"] {
            guard let n = Int(text), (1...90).contains(n) else {
                throw BatchError.configuration("SAMIA_DSR_EXPORT_DAYS must be a whole number of days from 1 to 90")
            }
            days = n
        }
        return DSRProcessJob(
            map: map, mapFile: file, store: store, signingKey: key, exportDays: days, contact: contact,
            passphraseKey: try passphraseKey(env))
    }

    /// The passphrase secret, or nil when none is configured (encrypted requests then fail
    /// with `DSRError.noPassphraseKey`).
    public static func passphraseKey(_ env: [String: String]) throws -> [UInt8]? {
        guard let path = env["SAMIA_DSR_PASSPHRASE_KEY_FILE"], !path.isEmpty else { return nil }
        guard let data = FileManager.default.contents(atPath: path), data.count >= 32 else {
            throw BatchError.configuration("SAMIA_DSR_PASSPHRASE_KEY_FILE \(path): unreadable or shorter than 32 bytes")
        }
        return [UInt8](data)
    }
}
