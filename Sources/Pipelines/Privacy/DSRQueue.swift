import Foundation
import Postgres
import Storage

/// The DPO's queue of data-subject requests: every transition checks the current status in the
/// same statement that changes it (so two operators cannot both approve), and writes its
/// `audit_log` row in the same transaction. Audit rows carry request ids, kinds and the staff
/// identity given; the subject's id sits in `meta` so the subject's own export can list them.
public struct DSRQueue {
    let db: Connection

    public init(connection: Connection) { db = connection }

    /// Files a request, received at `receivedAt` (default now; its month runs from then). The
    /// subject must exist: a request for no one is a typo. `identity`: how the person filing
    /// it verified the requester, when they did so on receipt (otherwise `verify` later).
    public func request(
        kind: DSRRequest.Kind, subject: UUID, requestedBy: String, encrypted: Bool = false, receivedAt: Date? = nil,
        identity: (method: DSRRequest.IdentityCheck.Method, evidence: String)? = nil, details: String? = nil
    ) throws -> DSRRequest {
        try inTransaction {
            guard
                try db.scalar(
                    "SELECT EXISTS (SELECT 1 FROM public.profiles WHERE id = $1::uuid)", [subject], as: Bool.self)
                    == true
            else { throw DSRError.unknownSubject(subject) }
            if let receivedAt,
                try db.scalar("SELECT $1::timestamptz > now() + interval '5 minutes'", [receivedAt], as: Bool.self)
                    == true
            {
                throw DSRError.receivedInFuture(ISO8601DateFormatter().string(from: receivedAt))
            }
            let row = try db.query(
                """
                INSERT INTO public.dsr_requests (subject, kind, requested_by, encrypted, received_at, due_at, details)
                VALUES ($1::uuid, $2, $3, $4, coalesce($5::timestamptz, now()), coalesce($5::timestamptz, now()) + interval '1 month',
                        $6)
                RETURNING \(DSRRequest.columns)
                """,
                [
                    subject, kind.rawValue, requestedBy, encrypted,
                    receivedAt.map { $0 as any PostgresEncodable } ?? PostgresNull(),
                    details.map { $0 as any PostgresEncodable } ?? PostgresNull(),
                ])[0]
            var request = try DSRRequest(row: row)
            let event: String
            switch kind {
            case .export: event = "account_export_requested"
            case .erase: event = "account_delete_requested"
            default: event = "dsr_\(kind.rawValue)_requested"
            }
            try audit(
                event, request, by: requestedBy,
                extra: ["received_at": ISO8601DateFormatter().string(from: request.receivedAt)])
            if let identity {
                request = try recordIdentity(
                    request.id, method: identity.method, evidence: identity.evidence, by: requestedBy)
            }
            return request
        }
    }

    /// Records how the requester's identity was verified; `approve` needs it. Once recorded it
    /// stands (a second check is a new request's business).
    public func verify(
        _ id: Int64, method: DSRRequest.IdentityCheck.Method, evidence: String, by: String
    ) throws -> DSRRequest {
        try inTransaction { try recordIdentity(id, method: method, evidence: evidence, by: by) }
    }

    private func recordIdentity(
        _ id: Int64, method: DSRRequest.IdentityCheck.Method, evidence: String, by: String
    ) throws -> DSRRequest {
        let request = try transition(
            id, action: "verify", from: [.requested],
            set: """
                identity_method = $2, identity_evidence = $3, identity_verified_by = $4, identity_verified_at = now()
                """, parameters: [method.rawValue, evidence, by],
            condition: Condition(sql: "identity_method IS NULL") { current in
                .wrongStatus(
                    id: id, status: "verified already (\(current.identity?.method.rawValue ?? "?"))", action: "verify",
                    allowed: ["requested and not yet verified"])
            })
        try audit("dsr_identity_verified", request, by: by, extra: ["method": method.rawValue, "evidence": evidence])
        return request
    }

    public func find(_ id: Int64) throws -> DSRRequest {
        guard let row = try db.query("SELECT \(DSRRequest.columns) FROM public.dsr_requests WHERE id = $1", [id]).first
        else { throw DSRError.unknownRequest(id) }
        return try DSRRequest(row: row)
    }

    /// Open requests (all, or only those whose deadline falls within `within` of now, or has
    /// passed), soonest deadline first; with `all`, closed ones too.
    public func list(overdueWithin within: TimeInterval? = nil, includeClosed: Bool = false) throws -> [DSRRequest] {
        var conditions: [String] = []
        var parameters: [any PostgresEncodable] = []
        if !includeClosed { conditions.append("status IN ('requested', 'approved', 'running', 'failed', 'held')") }
        if let within {
            parameters.append(Int64(within))
            conditions.append("coalesce(extended_until, due_at) < now() + make_interval(secs => $1::bigint)")
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        return try db.query(
            "SELECT \(DSRRequest.columns) FROM public.dsr_requests \(whereClause) ORDER BY coalesce(extended_until, due_at), id",
            parameters
        ).map(DSRRequest.init(row:))
    }

    /// Approves a request for `dsr process`. `unmasked` shows others' contacts as they are and
    /// needs `by` to be a superadmin's profile id; the override gets its own audit row.
    public func approve(_ id: Int64, by: String, unmasked: Bool = false) throws -> DSRRequest {
        try inTransaction {
            if unmasked {
                let superadmin = try UUID(uuidString: by).map {
                    try db.scalar(
                        """
                        SELECT EXISTS (SELECT 1 FROM public.profiles p JOIN public.roles r ON r.id = p.role_id
                                        WHERE p.id = $1::uuid AND r.code = 'superadmin')
                        """, [$0], as: Bool.self)
                }
                guard superadmin == true else { throw DSRError.notSuperadmin(by) }
            }
            let current = try find(id)
            if current.status == .requested && current.identity == nil {
                throw DSRError.identityNotVerified(id: id)
            }
            if current.kind == .erase,
                current.requestedBy.trimmingCharacters(in: .whitespaces).lowercased()
                    == by.trimmingCharacters(in: .whitespaces).lowercased()
            {
                throw DSRError.ownApproval(id: id, who: by)
            }
            let request = try transition(
                id, action: "approve", from: [.requested],
                set: "status = 'approved', approved_by = $2, approved_at = now(), unmasked = $3",
                parameters: [by, unmasked])
            try audit("dsr_approved", request, by: by)
            if unmasked { try audit("dsr_unmasked_override", request, by: by) }
            return request
        }
    }

    public func reject(_ id: Int64, by: String, reason: String) throws -> DSRRequest {
        try inTransaction {
            let request = try transition(
                id, action: "reject", from: [.requested, .approved, .failed],
                set: "status = 'rejected', rejection_reason = $2, finished_at = now()", parameters: [reason])
            try audit("dsr_rejected", request, by: by, extra: ["reason": reason])
            return request
        }
    }

    /// Extends the deadline by whole months, at most two beyond the first (Art. 12(3)); the
    /// reason is recorded and shown by `dsr show`.
    public func extend(_ id: Int64, months: Int, reason: String, by: String) throws -> DSRRequest {
        guard (1...2).contains(months) else {
            throw DSRError.badExtension(id: id, reason: "an extension is 1 or 2 months (Art. 12(3))")
        }
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw DSRError.badExtension(id: id, reason: "an extension needs a reason")
        }
        return try inTransaction {
            let current = try find(id)
            guard current.isOpen else {
                throw DSRError.wrongStatus(
                    id: id, status: current.status.rawValue, action: "extend",
                    allowed: ["requested", "approved", "running", "failed"])
            }
            if try db.scalar("SELECT now() > $1::timestamptz", [current.dueAt], as: Bool.self) == true {
                throw DSRError.lateExtension(id: id, dueAt: ISO8601DateFormatter().string(from: current.dueAt))
            }
            let request = try transition(
                id, action: "extend", from: [.requested, .approved, .running, .failed],
                set: """
                    extended_until = coalesce(extended_until, due_at) + make_interval(months => $2::integer),
                    extension_reason = $3
                    """, parameters: [months, reason],
                condition: Condition(
                    sql:
                        "coalesce(extended_until, due_at) + make_interval(months => $2::integer) <= due_at + interval '2 months'"
                ) { _ in
                    .badExtension(
                        id: id, reason: "the deadline can move at most two months past the first one (Art. 12(3))")
                })
            try audit("dsr_extended", request, by: by, extra: ["months": String(months), "reason": reason])
            return request
        }
    }

    /// Records what was done for a rectification, restriction or objection (or why the
    /// objection was not followed, with `reject` instead), with a reference to its evidence.
    /// Export and erasure are completed by `dsr process`, never by hand.
    public func complete(_ id: Int64, outcome: String, evidence: String, by: String) throws -> DSRRequest {
        try inTransaction {
            let current = try find(id)
            guard current.kind.isManual else { throw DSRError.completedByProcess(id: id, kind: current.kind.rawValue) }
            let done = try transition(
                id, action: "complete", from: [.approved],
                set: """
                    status = 'done', finished_at = now(), outcome = $2, outcome_evidence = $3, completed_by = $4
                    """, parameters: [outcome, evidence, by])
            try audit("dsr_completed", done, by: by, extra: ["evidence": evidence])
            return done
        }
    }

    // MARK: - Processing

    /// Claims the next request `dsr process` may work on: approved ones, ones left `running` by
    /// a process that died (its session lock is gone), and failed ones with attempts left that
    /// did not fail in this run: a failure is retried by the next run, not at once, so a passing
    /// fault (a full connection slot, a storage outage) does not use up every attempt in a
    /// second. A session advisory lock per request keeps two workers off the same one; the
    /// caller must `release` it.
    func claim(kinds: [DSRRequest.Kind], runID: Int64, maxAttempts: Int) throws -> DSRRequest? {
        let candidates = try db.query(
            """
            SELECT id FROM public.dsr_requests
             WHERE kind = ANY ($1::text[])
               AND (status IN ('approved', 'running')
                    OR (status = 'failed' AND attempts < $2 AND run_id IS DISTINCT FROM $3)
                    OR (status = 'held' AND \(Self.holdReleased)))
             ORDER BY coalesce(extended_until, due_at), id
            """, [PostgresArray(kinds.map(\.rawValue)), maxAttempts, runID])
        for row in candidates {
            let id: Int64 = try row.decode(0)
            guard
                try db.scalar("SELECT pg_try_advisory_lock(\(Self.lockClass), $1::integer)", [id], as: Bool.self)
                    == true
            else { continue }
            let claimed = try inTransaction { () -> DSRRequest? in
                guard
                    let row = try db.query(
                        """
                        UPDATE public.dsr_requests
                           SET status = 'running', attempts = attempts + 1, run_id = $2, started_at = coalesce(started_at, now()),
                               error = NULL
                         WHERE id = $1
                           AND (status IN ('approved', 'running')
                                OR (status = 'failed' AND attempts < $3 AND run_id IS DISTINCT FROM $2)
                                OR (status = 'held' AND \(Self.holdReleased)))
                        RETURNING \(DSRRequest.columns)
                        """, [id, runID, maxAttempts]
                    ).first
                else { return nil }
                let request = try DSRRequest(row: row)
                try audit("dsr_started", request, by: "samia-batch", extra: ["attempt": String(request.attempts)])
                return request
            }
            if let claimed { return claimed }
            try release(id)
        }
        return nil
    }

    /// No hold on the whole subject of the `dsr_requests` row at hand is in force.
    static let holdReleased = """
        NOT EXISTS (SELECT 1 FROM public.legal_holds h
                     WHERE h.subject = dsr_requests.subject AND h.table_name IS NULL AND h.released_at IS NULL)
        """

    /// A running erasure a legal hold stops: `held`, its attempt given back, the holds named.
    func hold(_ request: DSRRequest, holds: [Int64]) throws {
        let reason = "legal hold " + holds.map { "#\($0)" }.joined(separator: ", ") + " on the whole subject"
        _ = try inTransaction {
            _ = try transition(
                request.id, action: "hold", from: [.running],
                set: "status = 'held', attempts = greatest(attempts - 1, 0), error = $2", parameters: [reason])
            try audit(
                "dsr_held", request, by: "samia-batch", extra: ["holds": holds.map(String.init).joined(separator: ",")])
        }
    }

    func release(_ id: Int64) throws {
        _ = try db.query("SELECT pg_advisory_unlock(\(Self.lockClass), $1::integer)", [id])
    }

    /// Advisory-lock class for request ids ("DSR" in ASCII), apart from the runner's job locks.
    static let lockClass = 0x44_5352

    func finishExport(_ request: DSRRequest, artifact: ArtifactRecord, expiresAt: Date) throws -> DSRRequest {
        try inTransaction {
            _ = try db.query(
                "UPDATE public.batch_artifacts SET expires_at = $2 WHERE id = $1", [artifact.id, expiresAt])
            let done = try transition(
                request.id, action: "finish", from: [.running],
                set: """
                    status = 'done', finished_at = now(), artifact_id = $2, artifact_key = $3, artifact_sha256 = $4,
                    artifact_expires_at = $5
                    """, parameters: [artifact.id, artifact.storageKey, artifact.sha256, expiresAt])
            try audit(
                "account_export_ready", done, by: "samia-batch",
                extra: ["artifact_id": String(artifact.id), "sha256": artifact.sha256])
            return done
        }
    }

    func finishErasure(_ request: DSRRequest, proof: ArtifactRecord) throws -> DSRRequest {
        try inTransaction {
            let done = try transition(
                request.id, action: "finish", from: [.running],
                set: """
                    status = 'done', finished_at = now(), artifact_id = $2, artifact_key = $3, artifact_sha256 = $4
                    """, parameters: [proof.id, proof.storageKey, proof.sha256])
            try audit(
                "account_delete_completed", done, by: "samia-batch",
                extra: ["proof_artifact_id": String(proof.id), "sha256": proof.sha256])
            return done
        }
    }

    func fail(_ request: DSRRequest, error: String) throws {
        try inTransaction {
            let failed = try transition(
                request.id, action: "fail", from: [.running], set: "status = 'failed', error = $2, finished_at = now()",
                parameters: [error])
            try audit("dsr_failed", failed, by: "samia-batch", extra: ["error": error])
        }
    }

    /// Records a download of the export (by the DPO, for delivery to the subject).
    public func recordDownload(_ request: DSRRequest, by: String) throws {
        try audit(
            request.kind == .export ? "account_export_downloaded" : "dsr_erasure_proof_downloaded", request, by: by,
            extra: ["sha256": request.artifactSHA256 ?? ""])
    }

    public func recordPassphraseDisclosed(_ request: DSRRequest, by: String) throws {
        try audit("dsr_passphrase_disclosed", request, by: by)
    }

    // MARK: - Helpers

    /// A condition a transition needs beside the request's status, and the error that says
    /// why the request (in an allowed status) does not meet it.
    private struct Condition {
        var sql: String
        var refusal: (DSRRequest) -> DSRError
    }

    private func transition(
        _ id: Int64, action: String, from: [DSRRequest.Status], set: String, parameters: [any PostgresEncodable],
        condition: Condition? = nil
    ) throws -> DSRRequest {
        // The statuses it may move from are the last parameter, after those `set` uses.
        let allowed = "$\(parameters.count + 2)::text[]"
        let rows = try db.query(
            """
            UPDATE public.dsr_requests SET \(set)
             WHERE id = $1 AND status = ANY (\(allowed))\(condition.map { " AND \($0.sql)" } ?? "")
            RETURNING \(DSRRequest.columns)
            """, [id] + parameters + [PostgresArray(from.map(\.rawValue))])
        if let row = rows.first { return try DSRRequest(row: row) }
        let current = try find(id)
        if from.contains(current.status), let condition { throw condition.refusal(current) }
        throw DSRError.wrongStatus(
            id: id, status: current.status.rawValue, action: action, allowed: from.map(\.rawValue))
    }

    func audit(_ event: String, _ request: DSRRequest, by: String, extra: [String: String] = [:]) throws {
        var meta = extra
        meta["kind"] = request.kind.rawValue
        meta["subject"] = request.subject.uuidString.lowercased()
        meta["by"] = by
        let json = String(
            decoding: try JSONSerialization.data(withJSONObject: meta, options: [.sortedKeys]), as: UTF8.self)
        _ = try db.query(
            """
            INSERT INTO public.audit_log (actor, actor_role, event, entity, entity_id, meta)
            VALUES ($1::uuid, $2, $3, 'dsr_requests', $4, $5::jsonb)
            """,
            [
                UUID(uuidString: by).map { $0 as any PostgresEncodable } ?? PostgresNull(),
                by == "samia-batch" ? "system" : "dpo", event, String(request.id), json,
            ])
    }

    private func inTransaction<T>(_ body: () throws -> T) throws -> T {
        try db.transaction { _ in try body() }
    }
}
