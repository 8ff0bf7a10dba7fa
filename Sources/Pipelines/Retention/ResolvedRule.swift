import Foundation
import Postgres
import Privacy

/// A retention rule checked against the live catalog and turned into the SQL the purge runs:
/// the primary key it walks, the foreign keys that keep a row or a media object alive, the
/// legal holds that protect them, and the cutoff as a literal fixed at the start of the run.
struct ResolvedRule {
    /// A table rows point at (`media_assets`), deleted with the purged row when nothing else
    /// references it; `keyColumn` names its storage object.
    struct Media {
        var column: String
        var table: String
        var primaryKey: String
        var primaryKeyType: String
        var keyColumn: String
        /// Every (table, column) whose foreign key points at the media table.
        var referencedBy: [(table: String, column: String)]
    }

    let rule: RetentionPolicy.Rule
    let primaryKey: String
    let primaryKeyType: String
    let media: [Media]
    /// Foreign keys from other tables to the rule's rows: a referenced row is kept.
    let children: [(table: String, column: String)]
    /// `'2026-09-21'::date` or a timestamptz literal, from the database's clock.
    let cutoff: String
    /// The SQL condition, over alias `t`, of the rows past their keep period (and not public).
    let expired: String
    /// `expired`, less the rows something still references and the rows under a legal hold:
    /// the rows this run may delete.
    let due: String

    init(
        rule: RetentionPolicy.Rule, scope: SubjectScope, map: DataMap,
        subjectHolds: [(subject: UUID, table: String?)]
    ) throws {
        self.rule = rule
        func fail(_ reason: String) -> RetentionError { .schema(rule: rule.name, reason: reason) }
        guard let columns = scope.columns[rule.table] else { throw fail("table \(rule.table) does not exist") }
        func type(_ table: String, _ column: String) -> String? {
            scope.columns[table]?.first { $0.name == column }?.type
        }
        guard let ageType = type(rule.table, rule.age) else {
            throw fail("column \(rule.table).\(rule.age) does not exist")
        }
        let keys = scope.primaryKeys[rule.table] ?? []
        guard keys.count == 1, let keyType = type(rule.table, keys[0]) else {
            throw fail("table \(rule.table) needs a single-column primary key to be purged in batches")
        }
        primaryKey = keys[0]
        primaryKeyType = keyType
        for column in rule.storage where !columns.contains(where: { $0.name == column }) {
            throw fail("storage column \(rule.table).\(column) does not exist")
        }
        let fks = scope.foreignKeys
        children = fks.filter { $0.parent == rule.table }.map { ($0.child, $0.column) }
        media = try rule.media.map { column in
            guard let fk = fks.first(where: { $0.child == rule.table && $0.column == column }) else {
                throw fail("media column \(rule.table).\(column) is not a foreign key")
            }
            guard let key = map.tables[fk.parent]?.storage.first else {
                throw fail("media column \(column) points at \(fk.parent), which the data map gives no storage column")
            }
            return Media(
                column: column, table: fk.parent, primaryKey: fk.parentColumn,
                primaryKeyType: type(fk.parent, fk.parentColumn) ?? "bigint", keyColumn: key,
                referencedBy: fks.filter { $0.parent == fk.parent }.map { ($0.child, $0.column) })
        }

        let literal = try Self.cutoff(rule, ageType: ageType)
        cutoff = literal
        var parts = ["t.\(q(rule.age)) < \(literal)"]
        if let condition = rule.condition { parts.append("(\(condition))") }
        // Today's approved daily horoscope is public: never purged, whatever the rule says.
        if rule.table == "horoscopes" {
            parts.append("NOT (t.scope = 'daily' AND t.approved_at IS NOT NULL AND t.ref_date >= \(Self.today))")
        }
        expired = parts.joined(separator: "\n   AND ")
        parts = []
        for child in children {
            parts.append(
                "NOT EXISTS (SELECT 1 FROM public.\(q(child.table)) c WHERE c.\(q(child.column)) = t.\(q(primaryKey)))")
        }
        parts.append(Self.notHeld(table: rule.table, key: primaryKey, alias: "t", scope: scope, holds: subjectHolds))
        due = ([expired] + parts).joined(separator: "\n   AND ")
    }

    /// The run's clock as SQL: the values `bindClock` set on the session, so the database's
    /// `now()` taken once at the start reaches every statement of the run as a bound value. Each
    /// is a sub-select, which PostgreSQL evaluates once per statement (an init plan) rather than
    /// once per row: a batch's condition read the setting for every row and took a third longer.
    static let today = "(SELECT current_setting('samia.retention_today')::date)"
    static let now = "(SELECT current_setting('samia.retention_now')::timestamptz)"

    static func keepDays(_ rule: RetentionPolicy.Rule) -> String {
        "(SELECT current_setting(\(SQLIdentifier.literal(keepDaysSetting(rule))))::integer)"
    }

    /// Binds the run's clock (`now()` as text, and today in the policy's time zone) and each
    /// rule's keep period on a session that runs rule conditions. Without it, a condition fails
    /// rather than guessing a date.
    static func bindClock(now: String, today: String, rules: [RetentionPolicy.Rule], on db: Connection) throws {
        _ = try db.query(
            "SELECT set_config('samia.retention_now', $1, false), set_config('samia.retention_today', $2, false)",
            [now, today])
        for rule in rules {
            _ = try db.query("SELECT set_config($1, $2, false)", [keepDaysSetting(rule), String(rule.keepDays)])
        }
    }

    /// The setting that holds `rule`'s keep period (rule names are lower-case letters, digits
    /// and dashes; a setting's name takes underscores).
    static func keepDaysSetting(_ rule: RetentionPolicy.Rule) -> String {
        "samia.retention_keep_days_" + rule.name.replacingOccurrences(of: "-", with: "_")
    }

    /// The rule's cutoff as SQL over the run's today (for a `date` column) or now: rows older
    /// than it are past their keep period (with `expiry`, past their expiry).
    static func cutoff(_ rule: RetentionPolicy.Rule, ageType: String) throws -> String {
        switch ageType {
        case "date":
            return rule.expiry ? today : "(\(today) - \(keepDays(rule)))"
        case "timestamp with time zone", "timestamp without time zone":
            return rule.expiry ? now : "(\(now) - make_interval(days => \(keepDays(rule))))"
        default:
            throw RetentionError.schema(
                rule: rule.name,
                reason: "age column \(rule.table).\(rule.age) is \(ageType); it must be a date or a timestamp")
        }
    }

    /// Rows under an active legal hold: on the row itself, or on a subject the data map says
    /// the row belongs to (for the whole subject, or for this table).
    static func notHeld(
        table: String, key: String, alias: String, scope: SubjectScope, holds: [(subject: UUID, table: String?)]
    ) -> String {
        var sql = "NOT " + LegalHoldSQL.rowHeld(table: table, key: key, alias: alias)
        // The held subjects are read where the statement runs, so a hold placed during the run
        // protects its rows from the next batch on.
        if scope.map.tables[table] != nil, holds.contains(where: { $0.table == nil || $0.table == table }) {
            let held = """
                ARRAY(SELECT h.subject FROM public.legal_holds h
                       WHERE h.released_at IS NULL AND h.subject IS NOT NULL
                         AND (h.table_name IS NULL OR h.table_name = \(SQLIdentifier.literal(table))))
                """
            // A row that names no one (a NULL reach column) is nobody's under a hold: the
            // predicate is NULL for it, and NOT NULL kept it for good while any hold stood.
            sql += "\n   AND NOT coalesce((\(scope.predicate(table, anyOf: held, alias: alias))), false)"
        }
        return sql
    }

    /// The media rows of the deleted rows that nothing references any more and no hold keeps.
    func unreferenced(_ m: Media, scope: SubjectScope, holds: [(subject: UUID, table: String?)]) -> String {
        var parts = m.referencedBy.map {
            "NOT EXISTS (SELECT 1 FROM public.\(q($0.table)) r WHERE r.\(q($0.column)) = m.\(q(m.primaryKey)))"
        }
        parts.append(Self.notHeld(table: m.table, key: m.primaryKey, alias: "m", scope: scope, holds: holds))
        return parts.joined(separator: "\n   AND ")
    }
}

private func q(_ identifier: String) -> String { SQLIdentifier.quote(identifier) }
