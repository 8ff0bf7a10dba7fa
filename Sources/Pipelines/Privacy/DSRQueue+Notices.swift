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

    /// Every recipient of the data map, for a finished erasure, rectification or restriction,
    /// with the record of its notice where one was made. All of the map's recipients are owed
    /// one: the batch does not know which of them received this subject's data, and telling one
    /// too many is the safe side of Art. 19.
    public func notices(_ id: Int64, map: DataMap) throws -> [RecipientNotice] {
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
        return map.recipients.keys.sorted().map { key in
            RecipientNotice(key: key, recipient: map.recipients[key]!, told: told[key])
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
