import Foundation
import Runner

/// Why a data-subject request command refused to act. Each names the request or subject id
/// (never a name or an email) and says what would make it possible.
public enum DSRError: Error, CustomStringConvertible, Equatable {
    case unknownRequest(Int64)
    /// The subject has no row in the subject table: nothing to export, or a mistyped id.
    case unknownSubject(UUID)
    /// The transition is not allowed from the request's current status.
    case wrongStatus(id: Int64, status: String, action: String, allowed: [String])
    /// Only a superadmin may see others' contacts unmasked; the id given is not one.
    case notSuperadmin(String)
    /// An extension past the Art. 12(3) limit (two further months) or without a reason.
    case badExtension(id: Int64, reason: String)
    case notDone(id: Int64, status: String)
    /// Encrypted exports need the secret their passphrases are derived from.
    case noPassphraseKey
    /// A legal hold on the whole subject: nothing is erased until it is released.
    case legalHold(subject: UUID, holds: [Int64])
    /// The map's delete tables reference each other in a cycle: no safe order exists.
    case erasureCycle(tables: [String])
    case unsupportedTable(table: String, reason: String)
    /// The erasure committed but its check found rows that should be gone.
    case verificationFailed(id: Int64, problems: [String])
    /// An erasure approved by the person who filed it: deleting a person's data takes two people.
    case ownApproval(id: Int64, who: String)
    /// An extension after the original one-month period: Art. 12(3) wants the subject told
    /// within it, so a late extension cannot make an overdue request timely.
    case lateExtension(id: Int64, dueAt: String)
    /// Approval before the requester's identity was verified and recorded (`dsr verify`): an
    /// export handed to the wrong person is itself a breach, an erasure for them a loss.
    case identityNotVerified(id: Int64)
    /// A receipt time in the future: the deadline would be later than the law allows.
    case receivedInFuture(String)
    /// `dsr complete` on an export or erasure: those are done by `dsr process`, with their proof.
    case completedByProcess(id: Int64, kind: String)
    /// Art. 19 notices belong to erasures, rectifications and restrictions.
    case noRecipientNotices(id: Int64, kind: String)
    case unknownRecipient(String, known: [String])
    case alreadyNotified(id: Int64, recipient: String)
    /// Objects the store could not delete yet; the next `dsr process` tries again.
    case objectsPending(id: Int64, count: Int)

    public var description: String {
        switch self {
        case .unknownRequest(let id): return "no data-subject request #\(id)"
        case .unknownSubject(let id): return "subject \(id.uuidString.lowercased()) has no profile"
        case .wrongStatus(let id, let status, let action, let allowed):
            return "request #\(id) is \(status); \(action) needs it to be \(allowed.joined(separator: " or "))"
        case .notSuperadmin(let who):
            return "--unmasked needs --by to be the profile id of a superadmin; \(who) is not one"
        case .badExtension(let id, let reason): return "request #\(id): \(reason)"
        case .ownApproval(let id, let who):
            return "request #\(id) is an erasure filed by \(who); another person must approve it (--by)"
        case .lateExtension(let id, let dueAt):
            return
                "request #\(id) was due on \(dueAt); an extension must be made (and the subject told) within the first "
                + "month (Art. 12(3)), so an overdue request cannot be extended: complete it now"
        case .identityNotVerified(let id):
            return
                "request #\(id): the requester's identity is not verified; record how first: "
                + "samia-batch dsr verify \(id) --method METHOD --evidence REFERENCE"
        case .completedByProcess(let id, let kind):
            return
                "request #\(id) is an \(kind): `dsr process` carries it out and records its proof; dsr complete is for rectify, restrict and object"
        case .noRecipientNotices(let id, let kind):
            return
                "request #\(id) is \(kind == "export" ? "an" : "a") \(kind) request; Art. 19 notices follow an erasure, rectification or restriction"
        case .unknownRecipient(let key, let known):
            return "\(key) is not one of the data map's recipients (\(known.joined(separator: ", ")))"
        case .alreadyNotified(let id, let recipient):
            return "request #\(id): the notice to \(recipient) is recorded already"
        case .receivedInFuture(let at):
            return "--received-at \(at) is in the future; give when the request reached the service"
        case .notDone(let id, let status): return "request #\(id) is \(status); its export is not ready"
        case .legalHold(let subject, let holds):
            return
                "subject \(subject.uuidString.lowercased()) is under legal hold \(holds.map { "#\($0)" }.joined(separator: ", ")); nothing was erased"
        case .erasureCycle(let tables):
            return
                "the data map's delete tables reference each other in a cycle (\(tables.joined(separator: ", "))); no safe order"
        case .unsupportedTable(let table, let reason): return "table \(table): \(reason)"
        case .verificationFailed(let id, let problems):
            return "request #\(id): erasure check failed: \(problems.joined(separator: "; "))"
        case .objectsPending(let id, let count):
            return "request #\(id): \(count) storage object(s) not deleted yet; `dsr process` will retry"
        case .noPassphraseKey:
            return
                "encrypted exports need SAMIA_DSR_PASSPHRASE_KEY_FILE (32 or more random bytes, readable only by the batch user)"
        }
    }
}

extension DSRError: ExitStatusReporting {
    /// A missing passphrase key is configuration; anything else is a request that is not valid.
    public var exitStatus: ExitStatus {
        if case .noPassphraseKey = self { return .configuration }
        return .dataError
    }
}
