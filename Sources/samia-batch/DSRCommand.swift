import ArgumentParser
import Foundation
import Postgres
import Reports
import Privacy
import Runner
import Storage

struct DSRCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dsr",
        abstract: "Data-subject requests: file, approve, process and deliver access exports (docs/privacy.md).",
        discussion: """
            A request is filed when received (--received-at), its requester's identity verified (`dsr verify`, or
            --identity on filing), then it goes requested → approved → running → done (or failed, retried by `dsr process` up to three
            attempts; or rejected with a reason). Its deadline is one month from receipt; `dsr extend` moves it by at
            most two more months, with a reason. Every step writes audit_log.
            """,
        subcommands: [
            Request.self, Verify.self, Approve.self, Reject.self, Extend.self, Complete.self, Notify.self,
            Notices.self, List.self, Show.self, Process.self, Download.self, Passphrase.self,
        ])

    static func connect(_ database: DatabaseOptions) throws -> Connection {
        try database.connect(cliLogger(), applicationName: "samia-batch/dsr")
    }

    /// Runs `body` with the queue on a fresh connection, reporting errors the usual way.
    static func withQueue(_ database: DatabaseOptions, _ body: (DSRQueue, Connection) throws -> Void) throws {
        try execute {
            let db = try connect(database)
            defer { db.close() }
            try body(DSRQueue(connection: db), db)
        }
    }

    static func subjectID(_ text: String) throws -> UUID {
        guard let id = UUID(uuidString: text) else { throw ValidationError("--subject must be a UUID (profiles.id)") }
        return id
    }

    static func staff() -> String { ProcessInfo.processInfo.environment["USER"] ?? "operator" }

    /// Refuses (64) an option given as blanks: a reason, an outcome or an evidence reference
    /// is what an auditor reads later.
    static func requireText(_ options: KeyValuePairs<String, String>) throws {
        for (name, value) in options where value.trimmingCharacters(in: .whitespaces).isEmpty {
            throw ValidationError("\(name) must not be empty")
        }
    }

    static func describe(_ r: DSRRequest) -> String {
        let f = ISO8601DateFormatter()
        var lines = [
            "request #\(r.id): \(r.kind.rawValue) for subject \(r.subject.uuidString.lowercased())",
            "status: \(r.status.rawValue)\(r.attempts > 0 ? " (attempt \(r.attempts))" : "")",
            "received: \(f.string(from: r.receivedAt)); filed \(f.string(from: r.requestedAt)) by \(r.requestedBy)",
            r.identity.map {
                "identity: \($0.method.rawValue), evidence \($0.evidence), verified \(f.string(from: $0.verifiedAt)) by \($0.verifiedBy)"
            } ?? "identity: NOT VERIFIED (samia-batch dsr verify \(r.id) --method METHOD --evidence REFERENCE)",
            "deadline: \(f.string(from: r.deadline))"
                + (r.extendedUntil != nil
                    ? " (extended from \(f.string(from: r.dueAt)): \(r.extensionReason ?? ""))" : ""),
        ]
        if let by = r.approvedBy, let at = r.approvedAt {
            lines.append(
                "approved: \(f.string(from: at)) by \(by)\(r.unmasked ? ", others' contacts UNMASKED (superadmin override)" : "")"
            )
        }
        if r.encrypted { lines.append("encrypted: yes (passphrase by `samia-batch dsr passphrase \(r.id)`)") }
        if let reason = r.rejectionReason { lines.append("rejected: \(reason)") }
        if let details = r.details { lines.append("asks: \(details)") }
        if let outcome = r.outcome {
            lines.append("done: \(outcome) (evidence \(r.outcomeEvidence ?? ""), by \(r.completedBy ?? ""))")
        }
        if r.kind.needsRecipientNotices && r.status == .done {
            lines.append("Art. 19: tell each recipient (samia-batch dsr notices \(r.id))")
        }
        if let key = r.artifactKey, let sha = r.artifactSHA256 {
            lines.append("export: artefact #\(r.artifactID ?? 0) \(key) sha256 \(sha)")
            if let expires = r.artifactExpiresAt { lines.append("expires: \(f.string(from: expires))") }
        }
        if let error = r.error { lines.append("last error: \(error)") }
        return lines.joined(separator: "\n")
    }

    struct Request: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "request",
            abstract: "File a request: export (access, portability), erase, rectify, restrict or object.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "export, erase, rectify, restrict or object.") var kind: String
        @Option(help: "The subject's profiles.id.") var subject: String
        @Option(help: "Who received the request (staff id or name; default: $USER).") var requestedBy: String?
        @Flag(help: "Encrypt the export ZIP (AES-256); the passphrase goes to the subject out of band.")
        var encrypt = false
        @Option(help: "When the request reached the service (ISO 8601; default now): its month runs from here.")
        var receivedAt: String?
        @Option(help: "How the requester's identity was verified on receipt: \(Verify.methods).")
        var identity: String?
        @Option(help: "With --identity: where the evidence is (a ticket or call-log reference; no personal data).")
        var evidence: String?
        @Option(help: "rectify, restrict, object: what the subject asks for (which data or processing, and why).")
        var details: String?

        func validate() throws {
            guard let parsed = DSRRequest.Kind(rawValue: kind) else {
                throw ValidationError("kind must be export, erase, rectify, restrict or object")
            }
            if parsed.isManual && (details ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
                throw ValidationError("\(kind) needs --details: what the subject asks for")
            }
            _ = try DSRCommand.subjectID(subject)
            if encrypt && kind != "export" { throw ValidationError("--encrypt applies to exports") }
            if let receivedAt, DSRCommand.timestamp(receivedAt) == nil {
                throw ValidationError("--received-at \(receivedAt) is not an ISO 8601 time (2026-12-01T09:30:00Z)")
            }
            if (identity == nil) != (evidence == nil) {
                throw ValidationError("--identity and --evidence go together")
            }
            if let identity { _ = try Verify.method(identity, evidence: evidence ?? "") }
        }

        func run() throws {
            try DSRCommand.withQueue(database) { queue, _ in
                let check = try identity.map { (try Verify.method($0, evidence: evidence ?? ""), evidence ?? "") }
                let r = try queue.request(
                    kind: DSRRequest.Kind(rawValue: kind)!, subject: try DSRCommand.subjectID(subject),
                    requestedBy: requestedBy ?? DSRCommand.staff(), encrypted: encrypt,
                    receivedAt: receivedAt.flatMap(DSRCommand.timestamp), identity: check, details: details)
                print(DSRCommand.describe(r))
            }
        }
    }

    /// An ISO 8601 time, with or without fractional seconds.
    static func timestamp(_ text: String) -> Date? { ISOTime.parse(text) }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Record how the requester's identity was verified (needed before approval).")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Request id.") var id: Int64
        @Option(help: "How: \(methods).") var method: String
        @Option(help: "Where the evidence is: a ticket or call-log reference (no personal data, not the document).")
        var evidence: String
        @Option(help: "Who verified (default: $USER).") var by: String?

        static let methods = DSRRequest.IdentityCheck.Method.allCases.map(\.rawValue).joined(separator: ", ")

        static func method(_ text: String, evidence: String) throws -> DSRRequest.IdentityCheck.Method {
            guard let method = DSRRequest.IdentityCheck.Method(rawValue: text) else {
                throw ValidationError("--method/--identity \(text) is not one of \(methods)")
            }
            try DSRCommand.requireText(["--evidence": evidence])
            return method
        }

        func validate() throws { _ = try Self.method(method, evidence: evidence) }

        func run() throws {
            try DSRCommand.withQueue(database) { queue, _ in
                print(
                    DSRCommand.describe(
                        try queue.verify(
                            id, method: try Self.method(method, evidence: evidence), evidence: evidence,
                            by: by ?? DSRCommand.staff())))
            }
        }
    }

    struct Approve: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "approve", abstract: "Approve a request for the next `dsr process`.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Request id.") var id: Int64
        @Option(help: "Who approves (staff id; a superadmin's profile id for --unmasked; default: $USER).")
        var by: String?
        @Flag(help: "Leave others' emails and phones unmasked (superadmin only; audited).") var unmasked = false

        func run() throws {
            try DSRCommand.withQueue(database) { queue, _ in
                print(
                    DSRCommand.describe(
                        try queue.approve(id, by: by ?? DSRCommand.staff(), unmasked: unmasked)))
            }
        }
    }

    struct Reject: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reject", abstract: "Reject a request, with the reason.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Request id.") var id: Int64
        @Option(help: "Why (shown to auditors; no personal data).") var reason: String
        @Option(help: "Who rejects (default: $USER).") var by: String?

        func validate() throws {
            try DSRCommand.requireText(["--reason": reason])
        }

        func run() throws {
            try DSRCommand.withQueue(database) { queue, _ in
                print(
                    DSRCommand.describe(
                        try queue.reject(id, by: by ?? DSRCommand.staff(), reason: reason)))
            }
        }
    }

    struct Extend: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "extend",
            abstract: "Extend a request's deadline by 1 or 2 months (Art. 12(3)), with the reason.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Request id.") var id: Int64
        @Option(help: "Months to add (1 or 2; at most two in total).") var months: Int
        @Option(help: "Why (complexity or number of requests; told to the subject).") var reason: String
        @Option(help: "Who extends (default: $USER).") var by: String?

        func validate() throws {
            guard (1...2).contains(months) else { throw ValidationError("--months must be 1 or 2 (Art. 12(3))") }
            try DSRCommand.requireText(["--reason": reason])
        }

        func run() throws {
            try DSRCommand.withQueue(database) { queue, _ in
                let r = try queue.extend(id, months: months, reason: reason, by: by ?? DSRCommand.staff())
                let notice = DSRNotice.extensionNotice(r, months: months)
                print(DSRCommand.describe(r))
                print("\nNotice to send the subject now (Art. 12(3)), English:\n\(notice.english)")
                print("\nArabic:\n\(notice.arabic)")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "Open requests, soonest deadline first.",
            discussion: "With --overdue, only those past their deadline or within --within days of it; exit 1 if any.")
        @OptionGroup var database: DatabaseOptions
        @Flag(help: "Only requests past or near their deadline; exit 1 when there are any.") var overdue = false
        @Option(help: "With --overdue: days before the deadline that count as near.") var within: Int = 7
        @Flag(help: "Closed requests too (done, rejected).") var all = false

        func run() throws {
            try DSRCommand.withQueue(database) { queue, _ in
                let requests = try queue.list(
                    overdueWithin: overdue ? Double(within) * 86_400 : nil, includeClosed: all)
                let f = ISO8601DateFormatter()
                let now = Date()
                print("id\tkind\tstatus\tdeadline\tdays_left\tsubject")
                for r in requests {
                    let days = Int((r.deadline.timeIntervalSince(now) / 86_400).rounded(.down))
                    print(
                        "\(r.id)\t\(r.kind.rawValue)\t\(r.status.rawValue)\t\(f.string(from: r.deadline))\t\(r.isOpen ? String(days) : "-")\t\(r.subject.uuidString.lowercased())"
                    )
                }
                if overdue && !requests.isEmpty { throw ExitCode(1) }
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "One request in full.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Request id.") var id: Int64

        func run() throws {
            try DSRCommand.withQueue(database) { queue, _ in
                print(DSRCommand.describe(try queue.find(id)))
            }
        }
    }

    struct Process: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "process",
            abstract: "The hourly job: run approved requests (and resume any a crash interrupted).",
            discussion: """
                Needs SAMIA_SIGNING_KEY_FILE, SAMIA_STORAGE_DIR, SAMIA_DPO_CONTACT (printed in the export's README);
                SAMIA_DSR_EXPORT_DAYS (default 14) sets when exports expire; SAMIA_DSR_PASSPHRASE_KEY_FILE is needed
                for encrypted exports. Several processes may run at once: each request is claimed by one.
                """)
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var flags: RunFlags
        @Option(help: "Process at most this many requests.") var limit: Int?

        func run() throws {
            try execute {
                var job = try DSRProcessJob.fromEnvironment()
                if let limit { job.maxRequests = limit }
                let runner = Runner(
                    configuration: try database.configuration(), logger: cliLogger(), version: SamiaVersion.version)
                var options = flags.options(database)
                options.force = true
                try finish(runner.run(job, partition: .none, options: options))
            }
        }
    }

    struct Download: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "download",
            abstract:
                "Copy a finished export (or an erasure's proof) out of storage, checked against its SHA-256; audited.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Request id.") var id: Int64
        @Option(help: "Where to write the ZIP.") var out: String
        @Option(help: "Who downloads (default: $USER).") var by: String?

        func run() throws {
            try DSRCommand.withQueue(database) { queue, db in
                let request = try queue.find(id)
                guard request.status == .done, let artifactID = request.artifactID else {
                    throw DSRError.notDone(id: id, status: request.status.rawValue)
                }
                let registry = ArtifactRegistry(connection: db, store: try ObjectStores.fromEnvironment())
                guard let record = try registry.find(id: artifactID) else {
                    if let error = request.error, error.hasPrefix("export deleted by erasure") {
                        throw BatchError.badInput(
                            file: "batch_artifacts", line: nil, field: "id",
                            message: "the \(error): it held data the erasure removed")
                    }
                    throw BatchError.badInput(
                        file: "batch_artifacts", line: nil, field: "id",
                        message: request.artifactExpiresAt.map {
                            "the export expired on \(ISO8601DateFormatter().string(from: $0)) and retention deleted it; "
                                + "file a new export request"
                        } ?? "artefact #\(artifactID) is gone")
                }
                try registry.download(record, to: out)
                try queue.recordDownload(request, by: by ?? DSRCommand.staff())
                print(
                    "\(out): \(request.kind == .erase ? "erasure proof" : "export") of request #\(id), \(record.bytes) bytes, "
                        + "sha256 \(record.sha256) (checked)")
            }
        }
    }

    struct Passphrase: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "passphrase",
            abstract:
                "Print an encrypted export's passphrase, for delivery to the subject by another channel (audited).")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Request id.") var id: Int64
        @Option(help: "Who reads it (default: $USER).") var by: String?

        func run() throws {
            try DSRCommand.withQueue(database) { queue, _ in
                let request = try queue.find(id)
                guard request.encrypted else {
                    throw BatchError.badInput(
                        file: "dsr_requests", line: nil, field: "encrypted", message: "request #\(id) is not encrypted")
                }
                guard let key = try DSRProcessJob.passphraseKey(ProcessInfo.processInfo.environment) else {
                    throw DSRError.noPassphraseKey
                }
                try queue.recordPassphraseDisclosed(request, by: by ?? DSRCommand.staff())
                print(DSRProcessJob.passphrase(requestID: id, key: key))
            }
        }
    }
}
