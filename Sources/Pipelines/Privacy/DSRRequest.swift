import Foundation
import Postgres

/// One data-subject request as `dsr_requests` holds it.
public struct DSRRequest: Sendable, Equatable {
    /// `export` and `erase` are carried out by `dsr process`; rectification (Art. 16),
    /// restriction (Art. 18) and objection (Art. 21) by staff in the platform, recorded with
    /// `dsr complete` and the evidence of what was done.
    public enum Kind: String, Sendable, CaseIterable {
        case export, erase, rectify, restrict, object

        /// Carried out by people, not by `dsr process`.
        public var isManual: Bool { self != .export && self != .erase }
        /// Art. 19: the recipients of the data are told of the erasure, rectification or
        /// restriction.
        public var needsRecipientNotices: Bool { self == .erase || self == .rectify || self == .restrict }
    }
    /// `held`: an erasure a legal hold on the whole subject stops; it waits, its attempt not
    /// counted, and `dsr process` takes it up again once the hold is released.
    public enum Status: String, Sendable, CaseIterable {
        case requested, approved, running, done, failed, rejected, held
    }

    public var id: Int64
    public var subject: UUID
    public var kind: Kind
    public var status: Status
    public var requestedBy: String
    public var requestedAt: Date
    public var dueAt: Date
    public var extendedUntil: Date?
    public var extensionReason: String?
    public var approvedBy: String?
    public var approvedAt: Date?
    public var unmasked: Bool
    public var encrypted: Bool
    public var rejectionReason: String?
    public var attempts: Int
    public var startedAt: Date?
    public var finishedAt: Date?
    public var artifactID: Int64?
    public var artifactKey: String?
    public var artifactSHA256: String?
    public var artifactExpiresAt: Date?
    public var error: String?
    /// When the request reached the service: the month runs from here (Art. 12(3)).
    public var receivedAt: Date
    public var identity: IdentityCheck?
    /// What the subject asks for (rectification: which data and how; restriction, objection:
    /// which processing and why). Required for the manual kinds.
    public var details: String?
    /// What was done, a reference to its evidence, and who did it (the manual kinds).
    public var outcome: String?
    public var outcomeEvidence: String?
    public var completedBy: String?

    /// How the requester was shown to be the subject (or to act for them), by whom, and where
    /// the evidence is kept (a ticket or call-log reference, never the document itself).
    public struct IdentityCheck: Sendable, Equatable {
        public enum Method: String, Sendable, CaseIterable {
            /// Asked from the subject's own signed-in account.
            case accountSession = "account_session"
            /// A code sent to the account's email address or phone, returned.
            case emailChallenge = "email_challenge"
            /// An identity document checked (and not kept).
            case idDocument = "id_document"
            case inPerson = "in_person"
            /// Someone acting for the subject, with their authority checked.
            case legalRepresentative = "legal_representative"
        }
        public var method: Method
        public var evidence: String
        public var verifiedBy: String
        public var verifiedAt: Date
    }

    /// The legal deadline in force: the extension's, if any.
    public var deadline: Date { extendedUntil ?? dueAt }

    /// Still owed to the subject.
    public var isOpen: Bool { [.requested, .approved, .running, .failed, .held].contains(status) }

    static let columns = """
        id, subject, kind, status, requested_by, requested_at, due_at, extended_until, extension_reason, approved_by,
        approved_at, unmasked, encrypted, rejection_reason, attempts, started_at, finished_at, artifact_id, artifact_key,
        artifact_sha256, artifact_expires_at, error, received_at, identity_method, identity_evidence,
        identity_verified_by, identity_verified_at, details, outcome, outcome_evidence, completed_by
        """

    init(row: Row) throws {
        id = try row.decode("id")
        subject = try row.decode("subject")
        kind = Kind(rawValue: try row.decode("kind")) ?? .export
        status = Status(rawValue: try row.decode("status")) ?? .failed
        requestedBy = try row.decode("requested_by")
        requestedAt = try row.decode("requested_at")
        dueAt = try row.decode("due_at")
        extendedUntil = try row.decodeOptional("extended_until")
        extensionReason = try row.decodeOptional("extension_reason")
        approvedBy = try row.decodeOptional("approved_by")
        approvedAt = try row.decodeOptional("approved_at")
        unmasked = try row.decode("unmasked")
        encrypted = try row.decode("encrypted")
        rejectionReason = try row.decodeOptional("rejection_reason")
        attempts = try row.decode("attempts")
        startedAt = try row.decodeOptional("started_at")
        finishedAt = try row.decodeOptional("finished_at")
        artifactID = try row.decodeOptional("artifact_id")
        artifactKey = try row.decodeOptional("artifact_key")
        artifactSHA256 = try row.decodeOptional("artifact_sha256")
        artifactExpiresAt = try row.decodeOptional("artifact_expires_at")
        error = try row.decodeOptional("error")
        receivedAt = try row.decode("received_at")
        details = try row.decodeOptional("details")
        outcome = try row.decodeOptional("outcome")
        outcomeEvidence = try row.decodeOptional("outcome_evidence")
        completedBy = try row.decodeOptional("completed_by")
        if let method = try row.decodeOptional("identity_method", as: String.self),
            let at = try row.decodeOptional("identity_verified_at", as: Date.self)
        {
            identity = IdentityCheck(
                method: IdentityCheck.Method(rawValue: method) ?? .inPerson,
                evidence: try row.decodeOptional("identity_evidence") ?? "",
                verifiedBy: try row.decodeOptional("identity_verified_by") ?? "", verifiedAt: at)
        }
    }
}
