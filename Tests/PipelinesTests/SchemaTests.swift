import Dev
import Foundation
import Logging
import Postgres
import Runner
import TestSupport
import Testing

@Suite("Schema, RLS and demo data", .tags(.database))
struct SchemaTests {
    static let asOf = Date(timeIntervalSince1970: 1_763_683_800)  // 2025-11-21T00:10:00Z

    func seeded() throws -> (ConnectionConfiguration, Connection) {
        let config = try TestCluster.shared().freshDatabase()
        _ = try DevDatabase(configuration: config, logger: Logger(label: "t")).seed(
            scale: 1, seed: 7, asOf: SchemaTests.asOf)
        return (config, try Connection(config))
    }

    @Test func seedIsDeterministicAndFillsEveryPlatformTable() throws {
        let (_, a) = try seeded()
        let (_, b) = try seeded()
        let fingerprint = """
            SELECT md5(string_agg(id::text || email || coalesce(first_name, '') || country, ',' ORDER BY id)) FROM profiles
            """
        #expect(try a.scalar(fingerprint, as: String.self) == b.scalar(fingerprint, as: String.self))
        let orders = "SELECT md5(string_agg(id || ':' || status || ':' || created_at, ',' ORDER BY id)) FROM orders"
        #expect(try a.scalar(orders, as: String.self) == b.scalar(orders, as: String.self))
        #expect(try a.scalar("SELECT count(*) FROM orders", as: Int64.self) == 10000)
        #expect(try a.scalar("SELECT count(*) FROM profiles", as: Int64.self) == 1000)
        for table in [
            "roles", "profiles", "services", "orders", "media_assets", "horoscopes", "calls", "moderation_actions",
            "phone_verifications", "audit_log", "payment_intents", "refunds", "promo_codes", "payment_events",
            "notif_templates", "notif_log", "notif_prefs", "app_settings", "api_rate_limits", "blocked_profiles",
            "astro_requests", "assist_drafts", "events_raw",
        ] {
            #expect(try a.scalar("SELECT count(*) FROM \(table)", as: Int64.self)! > 0, "\(table) is empty")
        }
        #expect(try a.scalar("SELECT count(DISTINCT status) FROM orders", as: Int64.self) == 8)
        #expect(
            try a.scalar(
                "SELECT count(DISTINCT currency) FROM payment_intents WHERE currency IN ('KWD','BHD','OMR','JOD')",
                as: Int64.self) == 4)
        #expect(
            try a.scalar(
                "SELECT count(*) FROM refunds r JOIN payment_intents p ON p.id = r.payment_intent_id WHERE r.amount_cents < p.amount_cents",
                as: Int64.self)! > 0)
        #expect(try a.scalar("SELECT count(DISTINCT zodiac) FROM horoscopes", as: Int64.self) == 12)
        #expect(
            try a.scalar("SELECT count(*) FROM profiles WHERE first_name ~ '[\\u0600-\\u06FF]'", as: Int64.self)! > 300)
        #expect(try a.scalar("SELECT count(*) FROM events_raw WHERE props::text ~ '@'", as: Int64.self) == 0)
    }

    /// The platform appends these rows as things happen, so a day's rows share pages; the
    /// benchmarks read days by range and would measure a layout the platform never has. A
    /// row that did not fit its page's end is followed there by later, smaller ones (a few in
    /// a thousand events); the generator's own order put about every other row out of place.
    @Test func seedLaysOutTimeAppendedTablesInTimeOrder() throws {
        let (_, db) = try seeded()
        for (table, column) in [
            ("orders", "created_at"), ("payment_intents", "created_at"), ("notif_log", "created_at"),
            ("moderation_actions", "created_at"), ("events_raw", "occurred_at"),
        ] {
            let row = try db.query(
                """
                SELECT count(*) FILTER (WHERE t < before), count(*) FROM (
                  SELECT \(column) AS t, lag(\(column)) OVER (ORDER BY ctid) AS before FROM public.\(table)) x
                """)[0]
            let (outOfOrder, rows) = (try row.decode(0, as: Int64.self), try row.decode(1, as: Int64.self))
            #expect(
                rows > 1000 && outOfOrder * 100 < rows,
                "\(table): \(outOfOrder) of \(rows) rows follow a newer one on disk")
        }
    }

    @Test func seedRefusesADatabaseNotCreatedByDevInit() throws {
        let config = try TestCluster.shared().freshDatabase(migrated: false)
        let error = #expect(throws: BatchError.self) {
            _ = try DevDatabase(configuration: config, logger: Logger(label: "t")).seed(scale: 1, seed: 1, asOf: Date())
        }
        #expect(error?.exitStatus == .configuration)
        let connection = try Connection(config)
        #expect(try connection.scalar("SELECT to_regclass('public.profiles') IS NULL", as: Bool.self) == true)
    }

    /// Runs `body` as an API role with JWT claims, the way PostgREST does, then rolls back.
    func asRole(_ c: Connection, role: String, sub: UUID?, _ sql: String) throws -> Int64 {
        try c.transaction { c in
            try c.query("SELECT set_config('role', $1, true)", [role])
            let claims =
                sub.map { "{\"sub\": \"\($0.uuidString.lowercased())\", \"role\": \"\(role)\"}" }
                ?? "{\"role\": \"anon\"}"
            try c.query("SELECT set_config('request.jwt.claims', $1, true)", [claims])
            let n: Int64 = try c.scalar(sql) ?? -1
            try c.execute("ROLLBACK")
            try c.execute("BEGIN")
            return n
        }
    }

    @Test func rlsFollowsTheAccessIntent() throws {
        let (_, c) = try seeded()
        let client: UUID = try #require(
            try c.scalar("SELECT user_id FROM orders GROUP BY user_id ORDER BY count(*) DESC LIMIT 1"))
        let own: Int64 = try #require(try c.scalar("SELECT count(*) FROM orders WHERE user_id = $1", [client]))
        #expect(try asRole(c, role: "authenticated", sub: client, "SELECT count(*) FROM orders") == own)
        #expect(try asRole(c, role: "authenticated", sub: client, "SELECT count(*) FROM profiles") == 1)
        #expect(try asRole(c, role: "authenticated", sub: client, "SELECT count(*) FROM audit_log") == 0)
        let reader: UUID = try #require(
            try c.scalar("SELECT assigned_reader FROM orders WHERE assigned_reader IS NOT NULL LIMIT 1"))
        let assigned: Int64 = try #require(
            try c.scalar("SELECT count(*) FROM orders WHERE assigned_reader = $1", [reader]))
        #expect(try asRole(c, role: "authenticated", sub: reader, "SELECT count(*) FROM orders") == assigned)
        let today = try #require(
            try c.scalar(
                "SELECT count(*) FROM horoscopes WHERE scope = 'daily' AND ref_date = current_date AND approved_at IS NOT NULL",
                as: Int64.self))
        #expect(try asRole(c, role: "anon", sub: nil, "SELECT count(*) FROM horoscopes") == today)
        let admin: UUID = try #require(
            try c.scalar("SELECT p.id FROM profiles p JOIN roles r ON r.id = p.role_id WHERE r.code = 'admin' LIMIT 1"))
        let escalate = """
            WITH u AS (UPDATE profiles SET role_id = (SELECT id FROM roles WHERE code = 'superadmin')
                        WHERE id = '\(client.uuidString.lowercased())' RETURNING 1) SELECT count(*) FROM u
            """
        #expect(throws: PostgresError.self) { _ = try asRole(c, role: "authenticated", sub: admin, escalate) }
        let anonRuns = #expect(throws: PostgresError.self) {
            _ = try asRole(c, role: "anon", sub: nil, "SELECT count(*) FROM batch_runs")
        }
        #expect(anonRuns?.sqlState == "42501")
    }
}
