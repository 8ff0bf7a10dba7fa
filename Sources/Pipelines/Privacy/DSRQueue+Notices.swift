import Foundation
import Postgres

extension DSRQueue {
    /// One processor or recipient owed an Art. 19 notice of a request, and whether it was told.
    public struct RecipientNotice: Sendable, Equatable {
        public var key: String
        public var recipient: DataMap.Recipient
        public var told: Told?
    }

    /// Who told a recipient, when, and the reference to the evidence (a ticket, an email).
    public struct Told: Sendable, Equatable {
        public var by: String
        public var at: Date
        public var evidence: String
    }

    /// The recipients of the data map owed an Art. 19 notice of a finished erasure,
    /// rectification or restriction, with the record of each notice made, and those owed none.
    /// A recipient is owed one when one of its tables held data of the subject: for an erasure
    /// by its recorded plan (the rows are gone), otherwise by the rows as they are. Telling a
    /// recipient that never had the subject's data would tell it of the subject.
    public func notices(_ id: Int64, scope: SubjectScope) throws -> (owed: [RecipientNotice], notOwed: [String]) {
        let request = try find(id)
        guard request.kind.needsRecipientNotices else {
            throw DSRError.noRecipientNotices(id: id, kind: request.kind.rawValue)
        }
        var told: [String: Told] = [:]
        for row in try db.query(
            "SELECT recipient, notified_by, notified_at, evidence FROM public.dsr_notifications WHERE request_id = $1",
            [id])
        {
            told[try row.decode(0)] = Told(by: try row.decode(1), at: try row.decode(2), evidence: try row.decode(3))
        }
        let recipients = scope.map.recipients
        let withData = try tablesWithData(request, scope: scope)
        let owed = recipients.keys.sorted().filter { key in
            withData.map { !$0.isDisjoint(with: recipients[key]!.tables) } ?? true
        }
        return (
            owed.map { RecipientNotice(key: $0, recipient: recipients[$0]!, told: told[$0]) },
            recipients.keys.sorted().filter { !owed.contains($0) }
        )
    }

    /// The recipients' tables that held rows of the request's subject; nil when that cannot be
    /// known (an erasure whose plan was not recorded): every recipient is owed a notice then.
    private func tablesWithData(_ request: DSRRequest, scope: SubjectScope) throws -> Set<String>? {
        if request.kind == .erase {
            guard
                let text = try db.scalar(
                    "SELECT plan::text FROM public.dsr_erasures WHERE request_id = $1 AND committed_at IS NOT NULL",
                    [request.id], as: String.self),
                let plan = try? JSONDecoder().decode(SubjectErasure.Plan.self, from: Data(text.utf8))
            else { return nil }
            return Set(plan.tables.filter { $0.owned > 0 }.map(\.table))
        }
        let tables = Set(scope.map.recipients.values.flatMap(\.tables)).sorted()
        return try db.transaction { _ in
            _ = try db.query(
                "SELECT set_config('samia.dsr_subject', $1, true)", [request.subject.uuidString.lowercased()])
            var found = Set<String>()
            for table in tables
            where try db.scalar(
                "SELECT EXISTS (SELECT 1 FROM public.\(scope.q(table)) t WHERE \(scope.predicate(table)))",
                as: Bool.self)
                == true
            {
                found.insert(table)
            }
            return found
        }
    }

    /// Records that `recipient` (a key of the map's `recipients`) was told of the finished
    /// request, by whom and with what evidence; once per recipient and request.
    public func notify(_ id: Int64, recipient: String, evidence: String, by: String, map: DataMap) throws
        -> DSRRequest
    {
        try db.transaction { _ in
            let request = try find(id)
            guard request.kind.needsRecipientNotices else {
                throw DSRError.noRecipientNotices(id: id, kind: request.kind.rawValue)
            }
            guard request.status == .done else {
                throw DSRError.wrongStatus(id: id, status: request.status.rawValue, action: "notify", allowed: ["done"])
            }
            guard map.recipients[recipient] != nil else {
                throw DSRError.unknownRecipient(recipient, known: map.recipients.keys.sorted())
            }
            let inserted = try db.query(
                """
                INSERT INTO public.dsr_notifications (request_id, recipient, evidence, notified_by)
                VALUES ($1, $2, $3, $4) ON CONFLICT (request_id, recipient) DO NOTHING RETURNING id
                """, [id, recipient, evidence, by])
            guard inserted.first != nil else { throw DSRError.alreadyNotified(id: id, recipient: recipient) }
            try audit("dsr_recipient_notified", request, by: by, extra: ["recipient": recipient, "evidence": evidence])
            return request
        }
    }
}
