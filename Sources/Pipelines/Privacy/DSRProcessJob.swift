import Crypto
import Foundation
import Postgres
import Reports
import Runner
import Storage

/// The hourly `dsr process`: works through approved export requests one at a time, each in
/// its own claim (a session lock per request, so several workers may run), and reports the
/// queue's deadlines as metrics. A request whose process died mid-way is `running` with no lock
/// holder and is picked up again from the start: an export writes nothing the subject sees
/// until its artefact is recorded, so starting over is safe. A failed request is retried until
/// it has had `maxAttempts`.
public struct DSRProcessJob: Job {
    public let name = "dsr-process"
    public let partitionKind = PartitionKind.none
    /// Erasures delete rows and objects: `--dry-run` prints their plans and changes nothing.
    public var isDestructive: Bool { true }
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

    /// The hourly run: check the data map, then take approved requests one at a time (export
    /// or erasure), each failing alone; then the deadline gauges.
    public func run(_ context: JobContext) throws -> JobOutcome {
        let db = context.connection
        let tables = TablesSession(context: context, openNow: !context.dryRun)
        defer { tables.close() }
        let scope = try checkedScope(context)
        let queue = DSRQueue(connection: db)
        if context.dryRun { return try dryRun(scope: scope, queue: queue, context: context) }
        // An export is written to the store: none starts on a disk below the floor (exit 74).
        try StorageSpace.require(store)
        var done = Done()
        var processed = 0
        while processed < maxRequests {
            try context.checkpoint()
            guard
                let request = try queue.claim(kinds: [.export, .erase], runID: context.runID, maxAttempts: maxAttempts)
            else { break }
            processed += 1
            defer { try? queue.release(request.id) }
            if request.kind == .erase {
                try processErasure(request, scope: scope, queue: queue, context: context, done: &done)
            } else {
                try processExport(request, scope: scope, queue: queue, tables: tables, context: context, done: &done)
            }
        }
        // Items are the requests done: the runner reports "N failed, M succeeded" from these two.
        var outcome = JobOutcome(
            stats: done.stats, artifacts: done.artifacts, failedItems: Int(done.stats["failed"] ?? 0),
            itemsProcessed: Int64(processed) - (done.stats["failed"] ?? 0) - (done.stats["erasures_held", default: 0]))
        try addDeadlineGauges(&outcome, queue: queue, now: context.clock.now())
        let held = try db.query("SELECT id FROM public.dsr_requests WHERE status = 'held' ORDER BY id").map {
            "#\(try $0.decode(0, as: Int64.self))"
        }
        outcome.gauges["samia_dsr_held_erasures"] = Double(held.count)
        if !held.isEmpty {
            print(
                "\(held.count) erasure(s) waiting on a legal hold: \(held.joined(separator: ", ")); "
                    + "each resumes at the first `dsr process` after its hold is released (dsr list)")
        }
        return outcome
    }

    /// What the run has done so far.
    struct Done {
        var stats: [String: Int64] = ["exports_done": 0, "erasures_done": 0, "failed": 0]
        var artifacts: [String] = []
    }

    /// The export's second session, for its tables beside the media copy. It is opened on its
    /// own thread at the start of a run, while the data map is checked, so the first export does
    /// not wait for the connection (a run with no export opens it for nothing, a few ms); taken
    /// once, so after a failed opening the next export opens a session of its own.
    final class TablesSession {
        private let context: JobContext
        private var opening: BackgroundCall<Connection>?
        private var connection: Connection?

        init(context: JobContext, openNow: Bool) {
            self.context = context
            opening =
                openNow
                ? BackgroundCall(name: "samia-batch open tables session") { try context.openSession(purpose: "tables") }
                : nil
        }

        func take() throws -> Connection {
            if let connection { return connection }
            let session: Connection
            if let opening {
                self.opening = nil
                session = try opening.wait()
            } else {
                session = try context.openSession(purpose: "tables")
            }
            connection = session
            return session
        }

        func close() {
            if let opening, let session = try? opening.wait() { context.closeSession(session) }
            connection.map(context.closeSession)
        }
    }

    /// A table that references a person but is missing from the map stops every privacy job.
    private func checkedScope(_ context: JobContext) throws -> SubjectScope {
        let report = try DataMapValidator(connection: context.connection).validate(
            map, file: mapFile, readJSONData: false)
        if !report.unindexed.isEmpty {
            context.logger.warning(
                "reach columns lead no index; each export and erasure reads their tables whole (datamap check)",
                metadata: ["event": "dsr_unindexed_reach", "columns": "\(report.unindexed.joined(separator: ","))"])
        }
        let scope = try SubjectScope(map: map, connection: context.connection)
        // Without a pseudonym's salt no subject's events can be found: stop before any request.
        try scope.checkSalts()
        return scope
    }

    /// One erasure; its failure fails the request alone (an interruption ends the run).
    private func processErasure(
        _ request: DSRRequest, scope: SubjectScope, queue: DSRQueue, context: JobContext, done: inout Done
    ) throws {
        do {
            let proof = try erase(request, scope: scope, db: context.connection, context: context)
            _ = try queue.finishErasure(request, proof: proof)
            print("erasure #\(request.id): done, proof artefact #\(proof.id)")
            done.stats["erasures_done", default: 0] += 1
            done.artifacts.append(proof.storageKey)
            context.logger.info("erasure done", metadata: ["event": "dsr_erasure_done", "request": "\(request.id)"])
        } catch let error as BatchError {
            throw error
        } catch DSRError.legalHold(_, let holds) {
            try? context.connection.execute("ROLLBACK")
            try queue.hold(request, holds: holds)
            print(
                "erasure #\(request.id): held by legal hold \(holds.map { "#\($0)" }.joined(separator: ", ")); "
                    + "nothing erased; it resumes at the first `dsr process` after the hold is released")
            done.stats["erasures_held", default: 0] += 1
            context.logger.warning(
                "erasure held", metadata: ["event": "dsr_erasure_held", "request": "\(request.id)"])
        } catch {
            try? context.connection.execute("ROLLBACK")
            try queue.fail(request, error: "\(error)")
            done.stats["failed", default: 0] += 1
            context.logger.error(
                "erasure failed",
                metadata: ["event": "dsr_erasure_failed", "request": "\(request.id)", "error": "\(error)"])
        }
    }

    /// One export; its failure fails the request alone. Interrupted or out of time, it stays
    /// `running` and the next process resumes it.
    private func processExport(
        _ request: DSRRequest, scope: SubjectScope, queue: DSRQueue, tables: TablesSession, context: JobContext,
        done: inout Done
    ) throws {
        context.logger.info("export started", metadata: ["event": "dsr_export_started", "request": "\(request.id)"])
        do {
            let started = Date()
            let (record, summary, storeMilliseconds) = try export(
                request, scope: scope, db: context.connection, tables: try tables.take(), context: context)
            print(
                "export #\(request.id): \(record.bytes) bytes in \(Int(Date().timeIntervalSince(started) * 1000)) ms "
                    + "(tables \(summary.dataMilliseconds) ms beside \(summary.mediaFiles) media of \(summary.mediaBytes) bytes "
                    + "\(summary.mediaMilliseconds) ms, storing \(storeMilliseconds) ms), artefact #\(record.id)")
            let expires = context.clock.now().addingTimeInterval(Double(exportDays) * 86_400)
            _ = try queue.finishExport(request, artifact: record, expiresAt: expires)
            done.stats["exports_done", default: 0] += 1
            done.artifacts.append(record.storageKey)
            context.logger.info(
                "export ready",
                metadata: [
                    "event": "dsr_export_ready", "request": "\(request.id)", "artifact": "\(record.id)",
                    "bytes": "\(record.bytes)",
                ])
        } catch let error as BatchError {
            throw error
        } catch {
            let message = "\(error)"
            try queue.fail(request, error: message)
            done.stats["failed", default: 0] += 1
            context.logger.error(
                "export failed",
                metadata: ["event": "dsr_export_failed", "request": "\(request.id)", "error": "\(message)"])
        }
    }

    /// The open requests against their legal deadlines, for the alerts.
    private func addDeadlineGauges(_ outcome: inout JobOutcome, queue: DSRQueue, now: Date) throws {
        let open = try queue.list()
        outcome.gauges["samia_dsr_requests_open"] = Double(open.count)
        outcome.gauges["samia_dsr_requests_overdue"] = Double(open.filter { $0.deadline < now }.count)
        outcome.gauges["samia_dsr_requests_due_soon"] = Double(
            open.filter { $0.deadline >= now && $0.deadline < now.addingTimeInterval(dueSoon) }.count)
        if let next = open.map(\.deadline).min() {
            outcome.gauges["samia_dsr_next_deadline_timestamp_seconds"] = next.timeIntervalSince1970.rounded()
        }
    }

    private func export(
        _ request: DSRRequest, scope: SubjectScope, db: Connection, tables: Connection, context: JobContext
    ) throws
        -> (ArtifactRecord, SubjectExport.Summary, Int)
    {
        let registry = ArtifactRegistry(connection: db, store: store)
        let partition = "request-\(request.id)"
        let version = try registry.nextVersion(kind: Self.artifactKind, partition: partition)
        let fileName = "samia-export-\(request.id)-v\(version).zip"
        let directory = try LocalFile.temporaryDirectory("dsr")
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
        // Stored, not deflated: an export is mostly media that is compressed already (JPEG, MP3,
        // PDF), and deflating it would make the export CPU-bound instead of disk-bound.
        let zip = try ZipWriter(path: path, passphrase: passphrase, compressionLevel: 0)
        var manifest = Manifest(
            artifact: "\(Self.artifactKind)/\(partition)/v\(version)", createdBy: "samia-batch \(SamiaVersion.version)",
            createdAt: PDFRenderer.isoDate(now))
        manifest.parameters["request"] = String(request.id)
        manifest.parameters["subject"] = request.subject.uuidString.lowercased()
        manifest.parameters["masked"] = request.unmasked ? "no (superadmin override)" : "yes"
        manifest.parameters["encrypted"] = request.encrypted ? "AES-256 (WinZip AE-2)" : "no"
        let summary = try SubjectExport(connection: db, tableConnection: tables, scope: scope, store: store).write(
            subject: request.subject, requestID: request.id, unmasked: request.unmasked, contact: contact, zip: zip,
            manifest: &manifest, scratch: directory, now: now)
        manifest.parameters["rows"] = String(summary.rows.values.reduce(0, +))
        manifest.parameters["media_files"] = String(summary.mediaFiles)
        manifest.parameters["media_missing"] = String(summary.missingMedia.count)
        let (manifestBytes, signature) = try manifest.signed(with: signingKey)
        try zip.add("manifest.json", data: manifestBytes, modified: now)
        try zip.add("manifest.sig", data: signature, modified: now)
        try zip.commit()
        if !summary.missingMedia.isEmpty {
            context.logger.warning(
                "export names media the store does not hold",
                metadata: [
                    "event": "dsr_media_missing", "request": "\(request.id)", "count": "\(summary.missingMedia.count)",
                ])
        }
        let storing = Date()
        let record = try registry.record(
            kind: Self.artifactKind, partition: partition, version: version, localPath: path, fileName: fileName,
            parameters: ["request": String(request.id), "encrypted": String(request.encrypted)], runID: context.runID,
            consume: true, digest: zip.sha256.map { ($0, zip.bytes) })
        return (record, summary, Int(Date().timeIntervalSince(storing) * 1000))
    }

    public static let artifactKind = "dsr-export"
    public static let proofKind = "dsr-erasure-proof"

    /// Prints what each approved erasure would do, table by table, and what each approved export
    /// would be; every plan runs in a transaction that is rolled back.
    private func dryRun(scope: SubjectScope, queue: DSRQueue, context: JobContext) throws -> JobOutcome {
        let pending = try queue.list().filter { $0.status == .approved || $0.status == .running }
        for request in pending {
            guard request.kind == .erase else {
                print("request #\(request.id): would export subject \(request.subject.uuidString.lowercased())")
                continue
            }
            try context.connection.execute("BEGIN")
            defer { try? context.connection.execute("ROLLBACK") }
            let plan = try SubjectErasure(connection: context.connection, scope: scope).run(
                subject: request.subject, requestID: request.id, apply: false)
            print(Self.describe(plan, request: request, dryRun: true))
        }
        return JobOutcome(stats: ["requests_planned": Int64(pending.count)], itemsProcessed: 0)
    }

    /// The plan as a table, for `--dry-run` and the proof's README.
    public static func describe(_ plan: SubjectErasure.Plan, request: DSRRequest, dryRun: Bool) -> String {
        var lines = [
            "request #\(request.id): erasure of subject \(request.subject.uuidString.lowercased())"
                + (dryRun ? " (dry run: nothing changed)" : ""),
            "table\taction\ttheirs\tdeleted\tanonymized\tkept (referenced)\theld",
        ]
        for t in plan.tables {
            lines.append(
                "\(t.table)\t\(t.action)\t\(t.owned)\t\(t.deleted)\t\(t.anonymized)\t\(t.keptReferenced)"
                    + (t.keptBy.isEmpty ? "" : " (\(t.keptBy.joined(separator: ", ")))") + "\t\(t.held)")
        }
        lines.append("storage objects to delete: \(plan.objects)")
        for hold in plan.holds {
            lines.append("legal hold #\(hold.id) on \(hold.table ?? "the whole subject"): \(hold.reason)")
        }
        if plan.blockedByHold { lines.append("NOTHING WILL BE ERASED while the subject is under legal hold") }
        return lines.joined(separator: "\n")
    }

    /// Erases one subject, resumably: the plan is committed to the ledger before the destructive
    /// transaction; that transaction changes the rows and queues the objects; the objects are
    /// deleted after its commit; the result is checked and a signed proof stored. A crash at any
    /// point is picked up by the next `dsr process` at the first step not yet recorded.
    private func erase(_ request: DSRRequest, scope: SubjectScope, db: Connection, context: JobContext) throws
        -> ArtifactRecord
    {
        let erasure = SubjectErasure(connection: db, scope: scope)
        let committed =
            try db.scalar(
                "SELECT committed_at IS NOT NULL FROM public.dsr_erasures WHERE request_id = $1", [request.id],
                as: Bool.self) ?? false
        if !committed {
            try db.transaction { _ in
                let plan = try erasure.run(subject: request.subject, requestID: request.id, apply: false)
                if plan.blockedByHold {
                    throw DSRError.legalHold(
                        subject: request.subject, holds: plan.holds.filter { $0.table == nil }.map(\.id))
                }
                try db.query(
                    """
                    INSERT INTO public.dsr_erasures (request_id, subject, plan) VALUES ($1, $2::uuid, $3::jsonb)
                    ON CONFLICT (request_id) DO UPDATE SET plan = EXCLUDED.plan, started_at = now()
                    """, [request.id, request.subject, try Self.json(plan)])
            }
            try db.transaction { _ in
                let salt = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
                _ = try db.query("SELECT set_config('samia.erasure_salt', $1, true)", [salt])
                let plan = try erasure.run(subject: request.subject, requestID: request.id, apply: true)
                try db.query(
                    """
                    UPDATE public.dsr_erasures SET committed_at = now(), plan = $2::jsonb, objects_total = $3
                     WHERE request_id = $1
                    """, [request.id, try Self.json(plan), plan.objects])
            }
        }
        let origin = "dsr-erasure:\(request.id)"
        let pending = try StorageOutbox(connection: db, store: store).drain(origin: origin, logger: context.logger)
        guard pending == 0 else { throw DSRError.objectsPending(id: request.id, count: pending) }

        let stored = try db.query(
            "SELECT plan::text, started_at, committed_at FROM public.dsr_erasures WHERE request_id = $1", [request.id])[
                0]
        let planText: String = try stored.decode(0)
        let plan = try JSONDecoder().decode(SubjectErasure.Plan.self, from: Data(planText.utf8))
        let verification = try erasure.verify(subject: request.subject, plan: plan)
        try db.query(
            """
            UPDATE public.dsr_erasures SET verified_at = now(), verification = $2::jsonb,
                   objects_deleted = (SELECT count(*) FROM public.storage_outbox WHERE origin = $3 AND deleted_at IS NOT NULL)
             WHERE request_id = $1
            """, [request.id, try Self.json(verification), origin])
        guard verification.passed else {
            throw DSRError.verificationFailed(id: request.id, problems: verification.problems)
        }
        let record = try proof(
            request, plan: plan, verification: verification, started: try stored.decode(1),
            committed: try stored.decode(2), db: db, context: context)
        try db.query(
            "UPDATE public.dsr_erasures SET proof_artifact_id = $2 WHERE request_id = $1", [request.id, record.id])
        return record
    }

    /// The signed proof of erasure: counts per table and action, what was retained and on which
    /// legal basis, holds, object deletions, timestamps and the check, with no personal data.
    private func proof(
        _ request: DSRRequest, plan: SubjectErasure.Plan, verification: SubjectErasure.Verification, started: Date,
        committed: Date, db: Connection, context: JobContext
    ) throws -> ArtifactRecord {
        let registry = ArtifactRegistry(connection: db, store: store)
        let partition = "request-\(request.id)"
        let version = try registry.nextVersion(kind: Self.proofKind, partition: partition)
        let fileName = "samia-erasure-proof-\(request.id)-v\(version).zip"
        let directory = try LocalFile.temporaryDirectory("dsr")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/" + fileName
        let now = context.clock.now()
        let origin = "dsr-erasure:\(request.id)"
        let objects = try db.query(
            """
            SELECT count(*) AS queued, count(deleted_at) AS deleted, min(deleted_at)::text AS first,
                   max(deleted_at)::text AS last FROM public.storage_outbox WHERE origin = $1
            """, [origin])[0]
        let document: [String: Any] = [
            "request": request.id, "subject": request.subject.uuidString.lowercased(), "kind": "erasure (GDPR Art. 17)",
            "requested_at": PDFRenderer.isoDate(request.requestedAt),
            "approved_at": request.approvedAt.map(PDFRenderer.isoDate) ?? "", "approved_by": request.approvedBy ?? "",
            "erasure_started_at": PDFRenderer.isoDate(started), "erasure_committed_at": PDFRenderer.isoDate(committed),
            "verified_at": PDFRenderer.isoDate(now),
            "tables": try JSONSerialization.jsonObject(with: JSONEncoder().encode(plan.tables)),
            "legal_holds": try JSONSerialization.jsonObject(with: JSONEncoder().encode(plan.holds)),
            "objects": [
                "queued": try objects.decode("queued", as: Int64.self),
                "deleted": try objects.decode("deleted", as: Int64.self),
                "first_deleted_at": try objects.decodeOptional("first", as: String.self) ?? "",
                "last_deleted_at": try objects.decodeOptional("last", as: String.self) ?? "",
            ],
            "verification": try JSONSerialization.jsonObject(with: JSONEncoder().encode(verification)),
        ]
        let json = [UInt8](
            try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys]))
        let summary = Array(
            (Self.describe(plan, request: request, dryRun: false) + "\n\n" + Self.remains(verification)).utf8)
        let zip = try ZipWriter(path: path)
        var manifest = Manifest(
            artifact: "\(Self.proofKind)/\(partition)/v\(version)", createdBy: "samia-batch \(SamiaVersion.version)",
            createdAt: PDFRenderer.isoDate(now))
        manifest.parameters["request"] = String(request.id)
        for (name, bytes) in [("proof.json", json), ("summary.txt", summary)] {
            try zip.add(name, data: bytes, modified: now)
            manifest.add(path: name, contents: bytes)
        }
        let (manifestBytes, signature) = try manifest.signed(with: signingKey)
        try zip.add("manifest.json", data: manifestBytes, modified: now)
        try zip.add("manifest.sig", data: signature, modified: now)
        try zip.commit()
        return try registry.record(
            kind: Self.proofKind, partition: partition, version: version, localPath: path, fileName: fileName,
            parameters: ["request": String(request.id)], runID: context.runID)
    }

    /// What an export of the subject still shows after the erasure, table by table and column
    /// by column, and why each stays (counts and the data map's reasons: no value).
    static func remains(_ verification: SubjectErasure.Verification) -> String {
        var lines = ["What an export of the subject still shows, and why:"]
        let tables = verification.remaining.filter { $0.value > 0 }.keys.sorted()
        if tables.isEmpty { lines.append("  nothing") }
        for table in tables {
            lines.append("\(table): \(verification.remaining[table]!) row(s)")
            for column in verification.remainingColumns?[table] ?? [] {
                lines.append("  \(column.column): \(column.rowsWithValue) row(s) with a value: \(column.why)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

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
        let key = try JobEnvironment.signingKey(env)
        let store = try ObjectStores.forJob(env)
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
