import Foundation
import Postgres
import TestSupport
import Testing

/// `samia-batch datamap check` against the migrated schema: the shipped map passes, and every
/// kind of mistake is refused with the table or column to fix.
@Suite("Data map")
struct DataMapTests {
    let config: ConnectionConfiguration
    let dir = NSTemporaryDirectory() + "samia-datamap-\(UUID().uuidString)"
    static let shipped = TestCluster.repositoryRoot.appendingPathComponent("policy/data-map.yaml").path

    init() throws {
        config = try TestCluster.shared().freshDatabase()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    func check(_ map: String = DataMapTests.shipped) throws -> Shell.Result {
        try CLI.run(["datamap", "check", "--map", map], database: config)
    }

    /// The shipped map with `old` replaced by `new`.
    func variant(_ old: String, _ new: String) throws -> String {
        let text = try String(contentsOfFile: Self.shipped, encoding: .utf8)
        #expect(text.contains(old), "fixture text not found: \(old)")
        let path = dir + "/map-\(UUID().uuidString).yaml"
        try text.replacingOccurrences(of: old, with: new).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func theShippedMapCoversTheSchema() throws {
        let r = try check()
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("all covered"), "\(r.stdout)")
        #expect(!r.stdout.contains("leads no index"), "\(r.stdout)")
        #expect(
            r.stdout.contains(
                "retention rule horoscopes: horoscopes.ref_date, 60 days, media audio_media_id -> media_assets.url"),
            "\(r.stdout)")
    }

    /// A column the map finds a subject's rows by, left without an index, makes every export and
    /// erasure read its table whole: the check says which, and still passes (the schema is the
    /// platform's). Each hop of a path counts, in the table it belongs to.
    @Test func reachColumnsWithoutAnIndexAreNamed() throws {
        // A partial index does not count: it need not hold the subject's rows.
        let drop =
            "DROP INDEX public.audit_log_actor_idx; DROP INDEX public.orders_user_idx; "
            + "DROP INDEX public.orders_user_created_idx; "
            + "CREATE INDEX orders_user_partial_idx ON public.orders (user_id) WHERE status = 'delivered'"
        #expect(try Shell.run("/usr/bin/psql", ["-X", "-q", "-d", config.conninfo, "-c", drop]).status == 0)
        let r = try check()
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        let warnings = r.stdout.split(separator: "\n").filter { $0.contains("leads no index") }
        #expect(warnings.count == 2, "\(r.stdout)")
        #expect(warnings.first?.contains("reach column audit_log.actor leads no index") == true)
        #expect(warnings.last?.contains("reach column orders.user_id leads no index") == true)
    }

    @Test func retentionRulesAreCheckedAgainstTheSchema() throws {
        let cases: [(String, String, String)] = [
            ("age: ref_date", "age: ref_day", "retention rule horoscopes: column horoscopes.ref_day does not exist"),
            ("age: ref_date", "age: zodiac", "age column horoscopes.zodiac is text; it must be a date or a timestamp"),
            (
                "media: [audio_media_id]", "media: [text_content]",
                "media column horoscopes.text_content is not a foreign key"
            ),
            ("where: \"t.kind = 'dsr-export'\"", "where: \"t.knd = 'dsr-export'\"", "its condition does not plan"),
            ("table: api_rate_limits", "table: invoices", "table invoices is kept for legal reasons"),
            (
                "table: api_rate_limits", "table: dsr_erasures",
                "holds records kept for legal reasons (proof of erasure)"
            ),
            ("keep_days: 7\n", "keep_days: 0\n", "keep_days must be at least 1"),
            ("orphans: [\"horoscopes/\"]", "orphans: [\"\"]", "must be a relative folder ending in /"),
        ]
        for (old, new, message) in cases {
            let r = try check(try variant(old, new))
            #expect(r.status == 78 && r.stderr.contains(message), "\(new): \(r.stderr)")
        }
    }

    @Test func aNewTableThatReferencesAPersonStopsTheCheck() throws {
        let sql =
            "CREATE TABLE public.loyalty_points (id bigserial PRIMARY KEY, order_id bigint REFERENCES public.orders(id))"
        #expect(try Shell.run("/usr/bin/psql", ["-X", "-q", "-d", config.conninfo, "-c", sql]).status == 0)
        let r = try check()
        // The database holds something the map does not classify: a data error (issue 36).
        #expect(r.status == 65, "\(r.status) \(r.stderr)")
        #expect(r.stderr.contains("loyalty_points (via loyalty_points.order_id → orders."), "\(r.stderr)")
        // Excluding it with a reason settles it; excluding without one does not.
        let excluded = try variant(
            "excluded:\n",
            "excluded:\n  loyalty_points: \"points balance only; no personal data beyond the order link\"\n")
        #expect(try check(excluded).status == 0)
        let noReason = try variant("excluded:\n", "excluded:\n  loyalty_points: \"\"\n")
        let bad = try check(noReason)
        #expect(bad.status == 78 && bad.stderr.contains("loyalty_points: excluded without a reason"), "\(bad.stderr)")
    }

    @Test func mistakesInTheMapNameWhatToFix() throws {
        let cases: [(String, String, String)] = [
            ("question_text: free_text", "question_txt: free_text", "column orders.question_txt does not exist"),
            ("question_text: free_text", "question_text: gossip", "question_text: unknown category \"gossip\""),
            (
                "reach: [owner_id, ", "reach: [kind, ",
                "reach \"kind\": media_assets.kind does not reference profiles.id"
            ),
            (
                "\"<- orders.output_media_id\"", "\"<- orders.service_id\"",
                "reach \"<- orders.service_id\": orders.service_id has no foreign key to media_assets"
            ),
            (
                "withheld: { client_secret:", "withheld: { client_secrt:",
                "column payment_intents.client_secrt does not exist"
            ),
            (
                "reach: [\"order_id -> orders.user_id\"]\n    personal: { provider_intent_id",
                "reach: [\"order_id -> refunds.order_id\"]\n    personal: { provider_intent_id",
                "payment_intents.order_id has no foreign key to refunds"
            ),
            (
                "erasure: { action: delete }\n    facts: { purpose: \"messages",
                "erasure: { action: shred }\n    facts: { purpose: \"messages", "\"shred\" is not delete"
            ),
            (
                "erasure: { action: delete, owner: [\"order_id -> orders.user_id\"] }\n    facts: { purpose: \"call",
                "erasure: { action: delete, owner: [user_id] }\n    facts: { purpose: \"call",
                "erasure owner \"user_id\" is not one of the reach entries"
            ),
            (
                "phone: \"null\", first_name: redact", "phone: \"null\", first_name: redact, role_id: \"null\"",
                "role_id is NOT NULL; it cannot be erased with null"
            ),
            (
                "first_name: redact, last_name", "first_name: redact, email_verified: redact, last_name",
                "email_verified is boolean; redact needs a text column"
            ),
            ("  horoscopes: \"editorial", "  horoscope: \"editorial", "table horoscope does not exist"),
        ]
        for (old, new, message) in cases {
            let r = try check(try variant(old, new))
            #expect(r.status == 78, "\(new): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains(message), "\(new): \(r.stderr)")
        }
        let removed = try variant("  horoscopes: \"editorial", "  # horoscopes: \"editorial")
        let r = try check(removed)
        #expect(r.status == 65 && r.stderr.contains("horoscopes (via horoscopes."), "\(r.stderr)")
    }
}

extension DataMapTests {
    /// Issue 36: a column added to a mapped table, or a table with no foreign key to the subject,
    /// was neither exported nor erased and the check passed. Now each is named (65) until the DPO
    /// classifies it.
    @Test func anUnclassifiedColumnOrTableStopsTheCheck() throws {
        let sql = "ALTER TABLE public.profiles ADD COLUMN passport_no text"
        #expect(try Shell.run("/usr/bin/psql", ["-X", "-q", "-d", config.conninfo, "-c", sql]).status == 0)
        let column = try check()
        #expect(column.status == 65, "\(column.status) \(column.stderr)")
        #expect(column.stderr.contains("columns not classified") && column.stderr.contains("profiles.passport_no"))
        let classified = try variant(
            "      email: contact.email\n", "      email: contact.email\n      passport_no: document\n")
        #expect(try check(classified).status == 0)
        // A table holding emails with no foreign key to profiles.
        let table =
            "CREATE TABLE public.newsletter_imports (id bigserial PRIMARY KEY, address text, imported_at timestamptz)"
        #expect(try Shell.run("/usr/bin/psql", ["-X", "-q", "-d", config.conninfo, "-c", table]).status == 0)
        let r = try check(classified)
        #expect(
            r.status == 65
                && r.stderr.contains("tables neither mapped, excluded nor listed as not_personal: newsletter_imports"),
            "\(r.stderr)")
        // Declaring a table not personal takes a reason.
        let text = try String(contentsOfFile: classified, encoding: .utf8)
        let reasonless = dir + "/reasonless.yaml"
        try text.replacingOccurrences(
            of: "not_personal:\n  _migrations:", with: "not_personal:\n  newsletter_imports: \"\"\n  _migrations:"
        )
        .write(toFile: reasonless, atomically: true, encoding: .utf8)
        let noReason = try check(reasonless)
        #expect(
            noReason.status == 78 && noReason.stderr.contains("not_personal without a reason"), "\(noReason.stderr)")
    }
}

extension DataMapTests {
    /// Personal-data detection helps the DPO classify (issue 36, point 1): an unclassified
    /// column or a new table is named with what its name and sampled values look like, and a
    /// column the map calls not personal whose values look personal is warned about.
    @Test func unclassifiedColumnsComeWithWhatTheyLookLike() throws {
        _ = try SQL.psql(
            config.conninfo,
            """
            ALTER TABLE public.profiles ADD COLUMN backup_contact text;
            INSERT INTO public.profiles (id, email, backup_contact) VALUES
              ('dddddddd-0000-4000-8000-000000000001', 'a@example.com', '+966 50 123 4567'),
              ('dddddddd-0000-4000-8000-000000000002', 'b@example.com', '00971501234567');
            CREATE TABLE public.leads (id serial PRIMARY KEY, who text, iban text, note text);
            INSERT INTO public.leads (who, iban, note) VALUES
              ('Layla Haddad', 'GB82 WEST 1234 5698 7654 32', 'called twice'),
              ('Omar Saeed', 'DE89370400440532013000', 'no answer');
            """)
        let r = try check()
        #expect(r.status == 65, "\(r.stderr)")
        for hint in [
            "profiles.backup_contact looks like contact.phone (2 of 2 sampled values)",
            "leads.iban looks like payment_reference (column name; 2 of 2 sampled values)",
            "leads.who looks like name (2 of 2 sampled values)",
        ] {
            #expect(r.stderr.contains(hint), "missing \(hint): \(r.stderr)")
        }
        #expect(!r.stderr.contains("leads.note looks"), "\(r.stderr)")
        // Classified, the check passes, and warns where "not personal" holds emails.
        _ = try SQL.psql(
            config.conninfo,
            """
            DROP TABLE public.leads;
            ALTER TABLE public.profiles DROP COLUMN backup_contact;
            INSERT INTO public.notif_log (user_id, channel, template_code, target, payload, status)
            VALUES ('dddddddd-0000-4000-8000-000000000001', 'email', 'layla@example.com', 'a@example.com', '{}', 'sent')
            """)
        let ok = try check()
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(
            ok.stdout.contains(
                "warning: notif_log.template_code: looks like contact.email (1 sampled value(s)), but the map calls it not personal"
            ), "\(ok.stdout)")
    }
}
