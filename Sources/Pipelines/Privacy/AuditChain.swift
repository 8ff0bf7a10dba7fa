import Foundation
import Postgres

/// The audit trail's hash chain (migration 0028): each `audit_log` row carries its place in the
/// chain, the previous row's hash and its own, linked by a trigger under the chain head's lock.
/// Verifying recomputes every hash in one statement over one snapshot, so a row changed, removed
/// or slipped in by anyone with direct database access (the trigger and the append-only rule
/// can be disabled by a superuser) is named, not assumed away.
public struct AuditChain {
    /// The first place the chain does not hold.
    public struct Break: Sendable, Equatable {
        /// The row's id, if the break is at a row (not at the chain's end).
        public let id: Int64?
        public let position: Int64?
        public let problem: String
    }

    public struct Report: Sendable, Equatable {
        public let rows: Int64
        public let headPosition: Int64
        public let headHash: String
        public let firstBreak: Break?
    }

    let db: Connection

    public init(connection: Connection) { db = connection }

    /// Walks the whole chain in one REPEATABLE READ snapshot: the rows and the head agree.
    public func verify() throws -> Report {
        try db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        defer { _ = try? db.execute("ROLLBACK") }
        guard let head = try db.query("SELECT seq, hash FROM private.audit_chain_head WHERE id = 1").first else {
            return Report(
                rows: 0, headPosition: 0, headHash: "",
                firstBreak: Break(id: nil, position: nil, problem: "the chain head is missing (migration 0028)"))
        }
        let headPosition: Int64 = try head.decode("seq")
        let headHash: String = try head.decode("hash")
        let rows = try db.scalar("SELECT count(*) FROM public.audit_log", as: Int64.self) ?? 0
        if let row = try db.query(Self.firstBrokenRow).first {
            let found = Break(
                id: try row.decode("id"), position: try row.decodeOptional("chain_seq"),
                problem: try row.decode("problem"))
            return Report(rows: rows, headPosition: headPosition, headHash: headHash, firstBreak: found)
        }
        let last = try db.query("SELECT chain_seq, row_hash FROM public.audit_log ORDER BY chain_seq DESC LIMIT 1")
            .first
        let lastPosition: Int64 = try last?.decode("chain_seq") ?? 0
        let lastHash: String = try last?.decode("row_hash") ?? String(repeating: "0", count: 64)
        var end: Break?
        if lastPosition != headPosition {
            end = Break(
                id: nil, position: lastPosition + 1,
                problem: "rows \(lastPosition + 1) to \(headPosition) at the end of the chain are missing")
        } else if lastHash != headHash {
            end = Break(id: nil, position: headPosition, problem: "the chain head's hash is not the last row's")
        }
        return Report(rows: rows, headPosition: headPosition, headHash: headHash, firstBreak: end)
    }

    /// The first row (in chain order, unlinked rows first) whose hash, place or link is wrong.
    static let firstBrokenRow = """
        WITH c AS (
          SELECT a.id, a.chain_seq, a.prev_hash, a.row_hash,
                 private.audit_row_hash(a.prev_hash, a.chain_seq, a.id, a.actor, a.actor_role, a.event, a.entity,
                                        a.entity_id, a.meta, a.created_at) AS computed,
                 lag(a.row_hash) OVER w AS before_hash, lag(a.chain_seq) OVER w AS before_seq
            FROM public.audit_log a WINDOW w AS (ORDER BY a.chain_seq)
        ), problems AS (
          SELECT id, chain_seq,
                 CASE WHEN chain_seq IS NULL THEN 'not linked into the chain'
                      WHEN row_hash IS DISTINCT FROM computed THEN 'its content or hash was changed after it was written'
                      WHEN before_seq IS NULL AND chain_seq <> 1
                        THEN 'rows 1 to ' || (chain_seq - 1) || ' of the chain, before it, are missing'
                      WHEN before_seq IS NOT NULL AND chain_seq <> before_seq + 1
                        THEN 'rows ' || (before_seq + 1) || ' to ' || (chain_seq - 1) || ' of the chain, before it, are missing'
                      WHEN prev_hash IS DISTINCT FROM coalesce(before_hash, repeat('0', 64))
                        THEN 'its previous hash is not the hash of the row before it'
                 END AS problem
            FROM c)
        SELECT id, chain_seq, problem FROM problems WHERE problem IS NOT NULL ORDER BY chain_seq NULLS FIRST LIMIT 1
        """
}
