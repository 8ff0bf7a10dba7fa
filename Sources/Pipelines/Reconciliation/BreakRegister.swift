import Foundation
import Postgres
import Runner

/// The reconciliation break register as finance works it (`reconcile breaks list|show|resolve`,
/// docs/reconciliation.md "Working breaks"): every break a close raised, with its age, and who
/// resolved it and why. Resolving writes an audit row in the same transaction.
public struct BreakRegister {
    let connection: Connection

    public init(connection: Connection) { self.connection = connection }

    /// One break as the register holds it.
    public struct Entry: Sendable {
        public var id: String
        public var type: String
        public var status: String
        public var firstMonth: String
        public var lastMonth: String
        public var occurredAt: String
        public var ageDays: Int
        /// The break's row as its CSV gave it (ids, currencies, minor units, detail), as JSON.
        public var item: String
        public var resolvedAt: String?
        public var resolvedBy: String?
        public var resolution: String?
        public var clearedAt: String?
    }

    static let columns = """
        id, break_type, status, first_month, last_month, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS occurred,
        extract(day FROM now() - occurred_at)::integer AS age_days, item::text AS item,
        to_char(resolved_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS resolved_at, resolved_by, resolution,
        to_char(cleared_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS cleared_at
        """

    /// Breaks by status (nil: every status), accounting period (raised in it, or raised before
    /// and still open at it) and type, oldest first.
    public func list(status: String?, month: String?, type: String?) throws -> [Entry] {
        try connection.query(
            """
            SELECT \(Self.columns) FROM public.reconciliation_breaks
             WHERE ($1::text IS NULL OR status = $1)
               AND ($2::text IS NULL OR (first_month <= $2 AND (last_month >= $2 OR status = 'open')))
               AND ($3::text IS NULL OR break_type = $3)
             ORDER BY occurred_at, id
            """, [status, month, type]
        ).map(Self.entry)
    }

    public func show(_ id: String) throws -> Entry {
        guard
            let row = try connection.query(
                "SELECT \(Self.columns) FROM public.reconciliation_breaks WHERE id = $1", [id]
            ).first
        else {
            throw BatchError.badInput(file: "reconciliation_breaks", line: nil, field: "id", message: "no break \(id)")
        }
        return try Self.entry(row)
    }

    /// Marks an open break resolved by `by` for `reason`, with an audit row; a break that is
    /// unknown, already resolved or cleared is refused (65) and nothing changes.
    public func resolve(_ id: String, reason: String, by: String) throws -> Entry {
        try connection.transaction { tx in
            let current = try tx.query(
                "SELECT status, resolved_by, resolved_at::text AS at FROM public.reconciliation_breaks WHERE id = $1 FOR UPDATE",
                [id])
            guard let row = current.first else {
                throw BatchError.badInput(
                    file: "reconciliation_breaks", line: nil, field: "id", message: "no break \(id)")
            }
            let status: String = try row.decode("status")
            guard status == "open" else {
                let detail =
                    status == "resolved"
                    ? "already resolved by \(try row.decode("resolved_by") as String) at \(try row.decode("at") as String)"
                    : "cleared: a later run of its month no longer found it"
                throw BatchError.badInput(
                    file: "reconciliation_breaks", line: nil, field: "id", message: "break \(id) is \(detail)")
            }
            try tx.query(
                """
                UPDATE public.reconciliation_breaks
                   SET status = 'resolved', resolved_at = now(), resolved_by = $2, resolved_role = current_user, resolution = $3
                 WHERE id = $1
                """, [id, by, reason])
            try tx.query(
                """
                INSERT INTO public.audit_log (actor_role, event, entity, entity_id, meta)
                VALUES ('staff', 'reconciliation_break_resolved', 'reconciliation_breaks', $1,
                        jsonb_build_object('resolved_by', $2::text, 'reason', $3::text, 'db_role', current_user::text))
                """, [id, by, reason])
        }
        return try show(id)
    }

    static func entry(_ row: Row) throws -> Entry {
        Entry(
            id: try row.decode("id"), type: try row.decode("break_type"), status: try row.decode("status"),
            firstMonth: try row.decode("first_month"), lastMonth: try row.decode("last_month"),
            occurredAt: try row.decode("occurred"), ageDays: Int(try row.decode("age_days") as Int32),
            item: try row.decode("item"), resolvedAt: try row.decodeOptional("resolved_at", as: String.self),
            resolvedBy: try row.decodeOptional("resolved_by", as: String.self),
            resolution: try row.decodeOptional("resolution", as: String.self),
            clearedAt: try row.decodeOptional("cleared_at", as: String.self))
    }
}
