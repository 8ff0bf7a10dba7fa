import Foundation
import Postgres
import TestSupport
import Testing

/// The RLS-parity report through the real binary, against the project's own schema and
/// policies on a small hand-made data set: first the correct schema (no false positive, counts
/// checked by hand), then deliberately broken variants, each of which must appear as the
/// right finding in the right cell.
@Suite("RLS parity", .serialized)
struct ParityTests {
    let config: ConnectionConfiguration
    let dir = NSTemporaryDirectory() + "samia-parity-\(UUID().uuidString)"
    var env: [String: String] = [:]
    static let client1 = "dddddddd-0000-4000-8000-000000000001"
    static let client2 = "dddddddd-0000-4000-8000-000000000002"
    static let reader = "dddddddd-0000-4000-8000-000000000003"
    static let monitor = "dddddddd-0000-4000-8000-000000000004"
    static let admin = "dddddddd-0000-4000-8000-000000000005"
    static let superadmin = "dddddddd-0000-4000-8000-000000000006"

    init() throws {
        config = try TestCluster.shared().freshDatabase()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        #expect(try CLI.run(["keygen", "--out", dir + "/signing.key"]).status == 0)
        env = [
            "SAMIA_SIGNING_KEY_FILE": dir + "/signing.key", "SAMIA_SIGNING_PUBLIC_KEY_FILE": dir + "/signing.key.pub",
            "SAMIA_ACCESS_MATRIX": TestCluster.repositoryRoot.appendingPathComponent("policy/access-matrix.yaml").path,
            "SAMIA_ACCESS_EXCEPTIONS": dir + "/exceptions.yaml",
        ]
        try "exceptions: []\n".write(toFile: dir + "/exceptions.yaml", atomically: true, encoding: .utf8)
        _ = try psql(
            """
            INSERT INTO public.profiles (id, email, first_name, role_id, created_at)
            SELECT v.id::uuid, v.email, 'Test', (SELECT r.id FROM public.roles r WHERE r.code = v.code), now() - v.age * interval '1 day'
              FROM (VALUES ('\(Self.client1)', 'c1@samia.example', 'client', 9), ('\(Self.client2)', 'c2@samia.example', 'client', 8),
                           ('\(Self.reader)', 'r@samia.example', 'reader', 7), ('\(Self.monitor)', 'm@samia.example', 'monitor', 6),
                           ('\(Self.admin)', 'a@samia.example', 'admin', 5), ('\(Self.superadmin)', 's@samia.example', 'superadmin', 4))
                   v(id, email, code, age);
            INSERT INTO public.services (code, name, is_active) VALUES ('tarot', 'Tarot', true), ('coffee', 'Coffee', false);
            INSERT INTO public.orders (user_id, service_id, status, assigned_reader)
            SELECT o.u::uuid, (SELECT id FROM public.services WHERE code = 'tarot'), o.s::public.order_status, o.r::uuid
              FROM (VALUES ('\(Self.client1)', 'new', NULL), ('\(Self.client1)', 'assigned', '\(Self.reader)'),
                           ('\(Self.client1)', 'delivered', '\(Self.reader)'), ('\(Self.client2)', 'assigned', '\(Self.reader)'),
                           ('\(Self.client2)', 'new', NULL)) o(u, s, r);
            INSERT INTO public.horoscopes (scope, zodiac, ref_date, text_content, approved_at) VALUES
              ('daily', 'aries', current_date, 'today, approved', now()),
              ('daily', 'taurus', current_date, 'today, not yet approved', NULL),
              ('daily', 'gemini', current_date - 30, 'a month ago', now() - interval '30 days'),
              ('daily', 'cancer', current_date - 90, 'three months ago', now() - interval '90 days');
            INSERT INTO public.notif_prefs (user_id) VALUES ('\(Self.client1)'), ('\(Self.reader)'), ('\(Self.monitor)'),
              ('\(Self.admin)'), ('\(Self.superadmin)');
            INSERT INTO public.notif_templates (channel, code, subject, body) VALUES ('email', 'welcome', 'Hi', 'Welcome');
            INSERT INTO public.promo_codes (code, percent_off) VALUES ('SPRING', 10);
            -- A policy without an expression grants nothing: no finding, no access.
            CREATE POLICY app_settings_nothing ON public.app_settings FOR SELECT TO authenticated;
            """)
    }

    func psql(_ sql: String) throws -> String { try SQL.psql(config.conninfo, sql) }

    func parity(_ arguments: [String] = [], out: String? = nil) throws -> Shell.Result {
        try CLI.run(["parity", "--out", out ?? dir + "/report"] + arguments, database: config, env: env)
    }

    func report(_ path: String? = nil) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: (path ?? dir + "/report") + "/report.json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    func cell(_ r: [String: Any], _ role: String, _ relation: String, _ command: String) -> [String: Any] {
        (r["cells"] as! [[String: Any]]).first {
            $0["role"] as? String == role && $0["relation"] as? String == relation
                && $0["command"] as? String == command
        } ?? [:]
    }

    func findings(_ r: [String: Any], _ code: String) -> [String] {
        (r["findings"] as! [[String: Any]]).filter { $0["code"] as? String == code }.compactMap {
            $0["relation"] as? String
        }
    }

    @Test func theProjectSchemaPassesWithoutFalsePositives() throws {
        let result = try parity()
        #expect(result.status == 0, "writes are probed by default: \(result.stdout)\n\(result.stderr)")
        let r = try report()
        let cells = r["cells"] as! [[String: Any]]
        #expect(cells.filter { $0["verdict"] as? String == "fail" }.isEmpty)
        let relations = Int(
            try psql(
                """
                SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
                """))!
        let functions = Int(
            try psql(
                """
                SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                 WHERE n.nspname = 'public' AND p.prokind = 'f' AND p.prorettype <> 'trigger'::regtype
                """))!
        #expect(functions == 1, "zodiac_for(date) alone: pgcrypto's functions left public (migration 0029)")
        #expect(
            cells.count == relations * 6 * 4 + functions * 6,
            "one cell per relation × role × command, and per exposed function × role")
        #expect(cell(r, "anon", "zodiac_for(date)", "execute")["verdict"] as? String == "pass")

        // Counts checked by hand against the fixture.
        let own = cell(r, "client", "orders", "select")["probe"] as! [String: Any]
        #expect(own["visible"] as? Int == 3 && own["expected"] as? Int == 3 && own["excess"] as? Int == 0)
        #expect((cell(r, "reader", "orders", "select")["probe"] as! [String: Any])["visible"] as? Int == 3)
        #expect((cell(r, "reader", "orders", "update")["probe"] as! [String: Any])["visible"] as? Int == 3)
        #expect((cell(r, "anon", "horoscopes", "select")["probe"] as! [String: Any])["visible"] as? Int == 1)
        // Monitors: the last 60 days, approved or not (aries, taurus, gemini), not three months ago.
        #expect((cell(r, "monitor", "horoscopes", "select")["probe"] as! [String: Any])["visible"] as? Int == 3)
        #expect((cell(r, "admin", "horoscopes", "select")["probe"] as! [String: Any])["visible"] as? Int == 4)
        #expect((cell(r, "anon", "services", "select")["probe"] as! [String: Any])["visible"] as? Int == 1)
        #expect(cell(r, "anon", "orders", "select")["verdict"] as? String == "pass")
        #expect((cell(r, "anon", "orders", "select")["catalog"] as! [String: Any])["access"] as? String == "denied")
        // Insert probes: a client may file its own new order, not someone else's, nor one in
        // another status; synthetic rows try both sides.
        let insert = cell(r, "client", "orders", "insert")
        #expect(insert["verdict"] as? String == "pass", "\(insert)")
        let insertProbe = insert["probe"] as! [String: Any]
        let inside = insertProbe["expected"] as? Int ?? 0, tried = insertProbe["tried"] as? Int ?? 0
        #expect(inside > 0 && tried > inside, "rows on both sides were tried: \(insertProbe)")
        #expect(insertProbe["visible"] as? Int == inside && insertProbe["excess"] as? Int == 0)
        #expect(cells.filter { $0["verdict"] as? String == "not-tested" }.isEmpty, "every cell is tested")
        // The profile update that used to recurse (fixed by migration 0012) now passes.
        #expect(cell(r, "client", "profiles", "update")["verdict"] as? String == "pass")
        // A policy without an expression denies, and is not reported as permissive.
        #expect(
            (cell(r, "client", "app_settings", "select")["catalog"] as! [String: Any])["access"] as? String == "no-rows"
        )
        #expect(findings(r, "always_true_write_policy").isEmpty)
        #expect(findings(r, "auth_call_per_row").isEmpty, "auth.uid() wrapped in a sub-select is fine")
        #expect(findings(r, "function_call_per_row").isEmpty, "has_role() runs once per statement (migration 0030)")
        #expect(findings(r, "rls_disabled_in_exposed_schema").isEmpty)
        #expect(!(r["side_effects"] as! [String]).isEmpty, "insert probes list the sequences they may advance")
        #expect(try psql("SELECT count(*) FROM public.orders") == "5", "every probe was rolled back")
        #expect(try psql("SELECT count(*) FROM public.audit_log WHERE event = 'parity_report_ready'") == "1")

        // The artefact: signed, with the PDF, HTML and Markdown saying the same thing.
        let verify = try CLI.run(["verify", dir + "/report"], env: env)
        #expect(verify.status == 0, "\(verify.stdout)")
        #expect(try Shell.run("/usr/bin/qpdf", ["--check", dir + "/report/report.pdf"]).status == 0)
        let text = try Shell.run("/usr/bin/pdftotext", ["-layout", dir + "/report/report.pdf", "-"]).stdout
        #expect(text.contains("RLS parity report") && text.contains("0 fail"))
        let html = try String(contentsOfFile: dir + "/report/report.html", encoding: .utf8)
        #expect(html.contains("0 fail") && html.contains("class=\"word\">PASS<"))
        #expect(!html.contains("src=") && !html.contains("<link") && html.contains("Content-Security-Policy"))
        let page = try HeadlessBrowser.load(URL(fileURLWithPath: dir + "/report/report.html"))
        #expect(page.console.isEmpty, "the real report's page logs nothing in Chromium: \(page.console)")
        #expect(page.dom.contains("<output id=\"shown\">\(cells.count)</output>"))
        let markdown = try String(contentsOfFile: dir + "/report/report.md", encoding: .utf8)
        #expect(markdown.contains("| orders | client | select | own |"))
    }

    @Test func brokenVariantsShowAsTheRightFindingInTheRightCell() throws {
        #expect(try parity().status == 0)
        // The tables and the view made below are declared (none for everyone): their cells are
        // judged on what the database does, not failed as undeclared.
        let declared = try matrixVariant(
            "denied:\n",
            "denied:\n  visits: \"test table\"\n  owned_notes: \"test table\"\n  order_overview: \"test view\"\n")
        let runParity = { [config, dir] () throws -> Shell.Result in
            try CLI.run(["parity", "--out", dir + "/report"], database: config, env: declared)
        }
        _ = try psql(
            """
            -- RLS off on a table the API can read.
            ALTER TABLE public.notif_templates DISABLE ROW LEVEL SECURITY;
            GRANT SELECT ON public.notif_templates TO anon;
            -- An always-true write policy.
            CREATE POLICY promo_anyone ON public.promo_codes FOR UPDATE TO authenticated USING (true) WITH CHECK (true);
            -- A missing grant.
            REVOKE SELECT ON public.notif_log FROM authenticated;
            -- A view without security_invoker.
            CREATE VIEW public.order_overview AS SELECT id, user_id, status FROM public.orders;
            GRANT SELECT ON public.order_overview TO authenticated;
            -- A SECURITY DEFINER function anyone may execute, with no fixed search_path.
            CREATE FUNCTION public.profile_by_email(e text) RETURNS uuid LANGUAGE sql SECURITY DEFINER
              AS 'SELECT id FROM public.profiles WHERE email = e';
            -- A role check run for every row, though it does not read the row.
            CREATE POLICY settings_staff ON public.app_settings FOR SELECT TO authenticated
              USING (false AND private.has_role('admin'));
            -- A partition read directly.
            CREATE TABLE public.visits (id bigint, day date, actor text, PRIMARY KEY (id, day)) PARTITION BY RANGE (day);
            CREATE TABLE public.visits_2026 PARTITION OF public.visits FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
            ALTER TABLE public.visits ENABLE ROW LEVEL SECURITY;
            GRANT SELECT ON public.visits, public.visits_2026 TO authenticated;
            INSERT INTO public.visits VALUES (1, '2026-06-01', 'someone');
            -- The owner bypasses RLS when it is not forced.
            CREATE TABLE public.owned_notes (id bigint PRIMARY KEY, body text);
            ALTER TABLE public.owned_notes ENABLE ROW LEVEL SECURITY;
            INSERT INTO public.owned_notes VALUES (1, 'note');
            ALTER TABLE public.owned_notes OWNER TO authenticated;
            """)
        try """
        exceptions:
          - { role: client, table: notif_templates, command: select, owner: growth, justification: "templates are public copy",
              approved_by: dpo, expires: "2020-01-01" }
          - { role: anon, table: notif_templates, command: select, owner: growth, justification: "templates are public copy",
              approved_by: dpo, expires: "2999-12-31" }
        """.write(toFile: dir + "/exceptions.yaml", atomically: true, encoding: .utf8)
        let result = try runParity()
        #expect(result.status == 1, "a failing cell without a live exception exits 1: \(result.stdout)\(result.stderr)")
        let r = try report()
        func verdict(_ role: String, _ relation: String, _ command: String) -> String {
            cell(r, role, relation, command)["verdict"] as? String ?? "?"
        }
        func reason(_ role: String, _ relation: String, _ command: String) -> String {
            cell(r, role, relation, command)["reason"] as? String ?? "?"
        }
        // RLS off with grants.
        #expect(findings(r, "rls_disabled_in_exposed_schema") == ["notif_templates"])
        #expect(verdict("anon", "notif_templates", "select") == "exception", "a live exception")
        #expect(verdict("client", "notif_templates", "select") == "fail", "an expired exception is a finding again")
        #expect(reason("client", "notif_templates", "select").contains("expired on 2020-01-01"))
        #expect(findings(r, "exception_expired") == ["notif_templates"])
        // USING (true) on a write.
        #expect(findings(r, "always_true_write_policy") == ["promo_codes"])
        #expect(verdict("client", "promo_codes", "update") == "fail")
        #expect(reason("client", "promo_codes", "update").contains("always true"))
        #expect(verdict("client", "promo_codes", "select") == "pass", "reads stay denied")
        // The missing grant: declared own, the catalog allows nothing.
        #expect(verdict("client", "notif_log", "select") == "fail")
        #expect(verdict("admin", "notif_log", "select") == "fail")
        #expect(verdict("anon", "notif_log", "select") == "pass", "declared none, and denied")
        #expect(reason("admin", "notif_log", "select").contains("no SELECT privilege"))
        // The view runs with its owner's rights: every order for every signed-in role.
        #expect(findings(r, "security_definer_view") == ["order_overview"])
        #expect(verdict("client", "order_overview", "select") == "fail")
        // The function.
        #expect(findings(r, "security_definer_function_mutable_search_path") == ["profile_by_email(text)"])
        #expect(findings(r, "security_definer_function_exposed") == ["profile_by_email(text)"])
        #expect(verdict("anon", "profile_by_email(text)", "execute") == "fail", "an undeclared RPC fails its cells")
        #expect(reason("anon", "profile_by_email(text)", "execute").contains("undeclared"))
        #expect(findings(r, "function_call_per_row") == ["app_settings"])
        // The partition read directly, while the parent is closed.
        #expect(findings(r, "partition_readable_directly") == ["visits_2026"])
        #expect(verdict("client", "visits_2026", "select") == "fail")
        #expect(verdict("client", "visits", "select") == "pass")
        // The owner without FORCE sees everything.
        #expect(findings(r, "owner_bypass_without_force") == ["owned_notes"])
        #expect(verdict("client", "owned_notes", "select") == "fail")
        #expect(reason("client", "owned_notes", "select").contains("owner"))
        // What changed since the last run, in the report and on stdout.
        let changes = r["changes"] as! [String]
        #expect(changes.contains { $0.hasPrefix("admin × notif_log × select: pass -> fail") }, "\(changes)")
        #expect(changes.contains { $0.contains("new finding [high] always_true_write_policy") })
        #expect(result.stdout.contains("FAIL admin × notif_log × select"))

        // Forcing RLS and fixing the grant mends those cells on the next run.
        _ = try psql(
            "ALTER TABLE public.owned_notes FORCE ROW LEVEL SECURITY; GRANT SELECT ON public.notif_log TO authenticated;"
        )
        _ = try runParity()
        let again = try report()
        #expect(cell(again, "client", "owned_notes", "select")["verdict"] as? String == "pass")
        #expect(cell(again, "admin", "notif_log", "select")["verdict"] as? String == "pass")
        #expect(findings(again, "owner_bypass_without_force").isEmpty)
    }

    @Test func mistakesAreRefusedBeforeAnythingIsWritten() throws {
        // Write probes never run on a database not marked as a clone.
        _ = try psql("DELETE FROM samia_dev.marker")
        let refused = try parity()
        #expect(refused.status == 78 && refused.stderr.contains("not marked as a clone"), "\(refused.stderr)")
        #expect(refused.stderr.contains("--reads-only"), "the message says the way out")
        #expect(!FileManager.default.fileExists(atPath: dir + "/report"))
        // A session cannot declare itself staging: PGOPTIONS (or conninfo options) are not the database's own.
        let faked = try CLI.run(
            ["parity", "--out", dir + "/report", "--probe-writes"], database: config,
            env: env.merging(["PGOPTIONS": "-c samia.environment=staging"]) { $1 })
        #expect(faked.status == 78 && faked.stderr.contains("not marked as a clone"), "\(faked.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/report"))
        // An output that cannot be made is 73 before any probe, not 1 after the whole run.
        try "not a directory".write(toFile: dir + "/plain", atomically: true, encoding: .utf8)
        let unwritable = try parity(out: dir + "/plain/report")
        #expect(unwritable.status == 73 && unwritable.stderr.contains("nothing was probed"), "\(unwritable.stderr)")
        #expect(try psql("SELECT count(*) FROM audit_log WHERE event = 'parity_report_ready'") == "0")
        // A role the auditor cannot become is 78 with the grant that fixes it; one that does
        // not exist is the matrix's mistake (65), never a refusal that passes.
        let auditor = "auditor_\(UInt32.random(in: 0...UInt32.max))"
        _ = try psql(
            "CREATE ROLE \(auditor) LOGIN BYPASSRLS; GRANT USAGE ON SCHEMA public TO \(auditor); "
                + "GRANT ALL ON ALL TABLES IN SCHEMA public TO \(auditor); GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO \(auditor)"
        )
        let outsider = try CLI.run(
            ["parity", "--out", dir + "/report", "--reads-only"],
            env: env.merging([
                "DATABASE_URL": config.conninfo.replacingOccurrences(of: "user=postgres", with: "user=\(auditor)")
            ]) { $1 })
        #expect(
            outsider.status == 78 && outsider.stderr.contains("GRANT") && outsider.stderr.contains("TO \(auditor)"),
            "\(outsider.stderr)")
        // Reads alone are an incomplete report: written, but it does not pass.
        let readsOnly = try parity(["--reads-only", "--format", "json"])
        #expect(readsOnly.status == 1 && readsOnly.stdout.contains("INCOMPLETE"), "\(readsOnly.stdout)")
        #expect(cell(try report(), "client", "orders", "insert")["verdict"] as? String == "not-tested")
        _ = try psql("ALTER DATABASE \(config.database) SET samia.environment = 'staging'")
        #expect(try parity(["--probe-writes", "--format", "json"]).status == 0, "the old flag is still understood")

        // A role the matrix does not declare, named with the file and line.
        let matrix = dir + "/matrix.yaml"
        try """
        roles:
          client: { db_role: authenticated, app_role: client }
        tables:
          orders:
            clinet: { select: all }
        """.write(toFile: matrix, atomically: true, encoding: .utf8)
        let typo = try parity(["--matrix", matrix])
        #expect(typo.status == 65 && typo.stderr.contains("matrix.yaml") && typo.stderr.contains("clinet"))
        #expect(typo.stderr.contains("line 5"), "\(typo.stderr)")
        // A table that does not exist, and a scope nobody defined.
        try """
        roles:
          client: { db_role: authenticated, app_role: client }
        tables:
          order: { client: { select: all } }
        """.write(toFile: matrix, atomically: true, encoding: .utf8)
        let missing = try parity(["--matrix", matrix])
        #expect(missing.status == 65 && missing.stderr.contains("tables.order"), "\(missing.stderr)")
        try """
        roles:
          client: { db_role: authenticated_users, app_role: client }
        tables:
          orders: { client: { select: all } }
        """.write(toFile: matrix, atomically: true, encoding: .utf8)
        let ghost = try parity(["--matrix", matrix])
        #expect(ghost.status == 65 && ghost.stderr.contains("client → authenticated_users"), "\(ghost.stderr)")
        try """
        roles:
          client: { db_role: authenticated, app_role: client }
        tables:
          orders: { client: { select: mine } }
        """.write(toFile: matrix, atomically: true, encoding: .utf8)
        let scope = try parity(["--matrix", matrix])
        #expect(scope.status == 65 && scope.stderr.contains("scope \"mine\""), "\(scope.stderr)")
        // A misspelt key would drop the column list (every column allowed); a repeated table
        // would replace the first: both refused with the line, before any probe.
        let strict: [(String, String)] = [
            (
                """
                roles:
                  client: { db_role: authenticated, app_role: client }
                tables:
                  orders:
                    client: { update: { scope: own, colums: [status] } }
                """, "unknown key \"colums\""
            ),
            (
                """
                roles:
                  client: { db_role: authenticated, app_role: client }
                tables:
                  orders: { client: { select: all } }
                  orders: { client: { select: none } }
                """, "\"orders\" appears twice (lines 4 and 5)"
            ),
            (
                """
                roles:
                  client: { db_role: authenticated, app_rol: client }
                tables: {}
                """, "unknown key \"app_rol\""
            ),
        ]
        for (text, message) in strict {
            try text.write(toFile: matrix, atomically: true, encoding: .utf8)
            let refusedKey = try parity(["--matrix", matrix])
            #expect(refusedKey.status == 65 && refusedKey.stderr.contains(message), "\(refusedKey.stderr)")
        }
        try "exceptions: []\nfinding: []\n".write(toFile: dir + "/exceptions.yaml", atomically: true, encoding: .utf8)
        let register = try parity()
        #expect(register.status == 65 && register.stderr.contains("unknown key \"finding\""), "\(register.stderr)")
        try "exceptions: []\n".write(toFile: dir + "/exceptions.yaml", atomically: true, encoding: .utf8)
        // No signing key: a configuration error, not an unsigned report.
        var unsigned = env
        unsigned["SAMIA_SIGNING_KEY_FILE"] = nil
        let noKey = try CLI.run(["parity", "--out", dir + "/unsigned"], database: config, env: unsigned)
        #expect(noKey.status == 78 && noKey.stderr.contains("SAMIA_SIGNING_KEY_FILE"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/unsigned"))
    }
}

extension ParityTests {
    /// Fails closed (issue 37): a probe that fails with anything but insufficient_privilege is
    /// an error cell that fails the report, never a refusal that passes; a critical finding
    /// fails it too, unless the register accepts it with an owner and an unexpired date.
    @Test func probeErrorsAndCriticalFindingsFailTheReportUnlessAccepted() throws {
        #expect(try parity().status == 0)
        _ = try psql(
            """
            CREATE FUNCTION public.boom() RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'boom'; END $$;
            GRANT SELECT ON public.promo_codes TO anon;
            CREATE POLICY promo_boom ON public.promo_codes FOR SELECT TO anon USING (public.boom());
            """)
        let errored = try parity()
        #expect(errored.status == 1, "\(errored.stdout)\(errored.stderr)")
        let boom = cell(try report(), "anon", "promo_codes", "select")
        #expect(boom["verdict"] as? String == "error", "\(boom)")
        #expect((boom["reason"] as? String ?? "").contains("only 42501 counts as refused"), "\(boom)")
        #expect(errored.stdout.contains("ERROR anon × promo_codes × select"), "\(errored.stdout)")

        _ = try psql(
            """
            DROP POLICY promo_boom ON public.promo_codes; REVOKE SELECT ON public.promo_codes FROM anon;
            DROP FUNCTION public.boom(); -- an undeclared RPC would fail the report on its own
            CREATE POLICY settings_meta ON public.app_settings FOR SELECT TO authenticated
              USING (false AND current_setting('request.jwt.claims', true)::jsonb #>> '{user_metadata,tier}' = 'gold');
            """)
        let critical = try parity()
        #expect(critical.status == 1, "\(critical.stdout)\(critical.stderr)")
        #expect(critical.stdout.contains("CRITICAL policy_uses_user_metadata"), "\(critical.stdout)")
        let relation = findings(try report(), "policy_uses_user_metadata").first ?? "?"
        func register(expires: String) throws {
            try """
            exceptions: []
            findings:
              - { code: policy_uses_user_metadata, relation: "\(relation)", owner: platform, approved_by: ciso,
                  justification: "the policy is disabled by its own false guard", expires: "\(expires)" }
            """.write(toFile: dir + "/exceptions.yaml", atomically: true, encoding: .utf8)
        }
        try register(expires: "2999-12-31")
        let accepted = try parity()
        #expect(accepted.status == 0, "\(accepted.stdout)\(accepted.stderr)")
        #expect(
            try String(contentsOfFile: dir + "/report/report.md", encoding: .utf8).contains(
                "accepted until 2999-12-31 by ciso"))
        try register(expires: "2020-01-01")
        let expired = try parity()
        #expect(
            expired.status == 1 && expired.stdout.contains("CRITICAL policy_uses_user_metadata"), "\(expired.stdout)")
        #expect(findings(try report(), "exception_expired") == [relation])
    }
}

extension ParityTests {
    /// The shipped matrix with `old` replaced by `new`, as SAMIA_ACCESS_MATRIX.
    func matrixVariant(_ old: String, _ new: String) throws -> [String: String] {
        let shipped = TestCluster.repositoryRoot.appendingPathComponent("policy/access-matrix.yaml").path
        let text = try String(contentsOfFile: shipped, encoding: .utf8)
        #expect(text.contains(old), "fixture text not found: \(old)")
        let path = dir + "/matrix-\(UUID().uuidString).yaml"
        try text.replacingOccurrences(of: old, with: new).write(toFile: path, atomically: true, encoding: .utf8)
        return env.merging(["SAMIA_ACCESS_MATRIX": path]) { $1 }
    }

    /// Issue 37: a table the matrix does not mention passed as deny-by-default; its cells fail
    /// now, until it is declared (under tables, or under denied with a reason).
    @Test func aTableTheMatrixDoesNotMentionFailsItsCells() throws {
        _ = try psql(
            "CREATE TABLE public.loyalty_points (id bigserial PRIMARY KEY, user_id uuid, points integer); "
                + "ALTER TABLE public.loyalty_points ENABLE ROW LEVEL SECURITY; "
                + "GRANT SELECT ON public.loyalty_points TO authenticated")
        let r = try parity()
        #expect(r.status == 1, "\(r.status) \(r.stderr)")
        let undeclared = cell(try report(), "client", "loyalty_points", "select")
        #expect(undeclared["verdict"] as? String == "fail", "\(undeclared)")
        #expect((undeclared["reason"] as? String)?.hasPrefix("undeclared: the matrix lists loyalty_points") == true)
        let declared = try matrixVariant(
            "denied:\n", "denied:\n  loyalty_points: \"points are read through the loyalty service only\"\n")
        let ok = try CLI.run(["parity", "--out", dir + "/declared"], database: config, env: declared)
        #expect(ok.status == 0, "\(ok.stdout) \(ok.stderr)")
        #expect(
            cell(try report(dir + "/declared"), "client", "loyalty_points", "select")["verdict"] as? String == "pass")
    }

    /// Issue 37: a scope naming a column that does not exist left its cell silently untested; a
    /// grant's column list naming one allowed it quietly. Both are refused (65) with the file,
    /// the table's line and the cell, before any probe; so is a denied table without a reason.
    @Test func scopesAndColumnsAreCheckedAgainstTheSchema() throws {
        let cases: [([String: String], [String])] = [
            (
                try matrixVariant("own: \"t.id = :uid\"", "own: \"t.idd = :uid\""),
                ["tables.profiles.client.select (line ", "scope \"own\" does not hold on profiles", "idd"]
            ),
            (
                try matrixVariant(
                    "client: { select: own, insert: own-as-client, update: own-same-role }",
                    "client: { select: own, insert: own-as-client, update: { scope: own-same-role, columns: [first_name, shoe_size] } }"
                ),
                ["tables.profiles.client.update", "columns shoe_size are not columns of profiles"]
            ),
            (
                try matrixVariant("  promo_codes: \"promotion", "  promo_codez: \"promotion"),
                ["denied.promo_codez names no table"]
            ),
            (
                try matrixVariant(
                    "  promo_codes: \"promotion codes: checked by the checkout service with the service role\"",
                    "  promo_codes: \"\""), ["a denied table needs a reason"]
            ),
        ]
        for (variant, words) in cases {
            let r = try CLI.run(["parity", "--out", dir + "/refused"], database: config, env: variant)
            #expect(r.status == 65, "\(words): \(r.status) \(r.stderr)")
            for word in words { #expect(r.stderr.contains(word), "\(word): \(r.stderr)") }
            #expect(!FileManager.default.fileExists(atPath: dir + "/refused"))
        }
    }

    /// The defects a copy of an existing row cannot show, planted as the shipped schema had them
    /// before migration 0018: each is found by a synthetic row, named with the change that
    /// got through, and nothing is kept.
    @Test func syntheticRowsFindWriteHolesThatCopiesMiss() throws {
        _ = try psql(
            """
            -- Any signed-in role may file an order in its own name (only clients order).
            DROP POLICY orders_own_insert ON public.orders;
            CREATE POLICY orders_own_insert ON public.orders FOR INSERT TO authenticated
              WITH CHECK (user_id = (SELECT auth.uid()) AND status = 'new');
            -- A WITH CHECK that does not name the admin: ORed with profiles_own_update's USING, a
            -- client reaches its own profile and passes this check with any role but superadmin.
            DROP POLICY profiles_admin_update ON public.profiles;
            CREATE POLICY profiles_admin_update ON public.profiles FOR UPDATE TO authenticated
              USING (private.has_role('admin', 'superadmin'))
              WITH CHECK (private.has_role('superadmin') OR role_id <> (SELECT r.id FROM public.roles r WHERE r.code = 'superadmin'));
            -- An update with no real WITH CHECK: a reader hands an order to someone else.
            DROP POLICY orders_reader_update ON public.orders;
            CREATE POLICY orders_reader_update ON public.orders FOR UPDATE TO authenticated
              USING (assigned_reader = (SELECT auth.uid())) WITH CHECK (true);
            """)
        let before = try psql("SELECT count(*), string_agg(role_id::text, ',' ORDER BY id) FROM public.profiles")
        let orders = try psql(
            "SELECT string_agg(id || ':' || coalesce(assigned_reader::text, '-'), ',' ORDER BY id) FROM public.orders")
        let result = try parity()
        #expect(result.status == 1, "\(result.stdout)\n\(result.stderr)")
        let r = try report()
        func failing(_ role: String, _ relation: String, _ command: String) -> String {
            let c = cell(r, role, relation, command)
            return c["verdict"] as? String == "fail" ? (c["reason"] as? String ?? "") : "not failing: \(c)"
        }
        for role in ["reader", "monitor", "admin"] {
            let reason = failing(role, "orders", "insert")
            #expect(
                reason.contains("user_id = the prober's own id") && reason.contains("(outside the scope)"),
                "\(role): \(reason)")
        }
        let escalation = failing("client", "profiles", "update")
        #expect(escalation.contains("role_id = "), "\(escalation)")
        #expect(escalation.contains("inside the scope before, outside after"), "\(escalation)")
        let demotion = failing("admin", "profiles", "update")
        #expect(demotion.contains("outside the scope before"), "\(demotion)")
        let handover = failing("reader", "orders", "update")
        #expect(handover.contains("assigned_reader = another user's id"), "\(handover)")
        #expect(cell(r, "client", "orders", "insert")["verdict"] as? String == "pass", "clients still order")
        #expect(result.stdout.contains("FAIL client × profiles × update"))
        // Every trial was rolled back: the same profiles with the same roles, the same orders.
        #expect(try psql("SELECT count(*), string_agg(role_id::text, ',' ORDER BY id) FROM public.profiles") == before)
        #expect(
            try psql(
                "SELECT string_agg(id || ':' || coalesce(assigned_reader::text, '-'), ',' ORDER BY id) FROM public.orders"
            )
                == orders)
    }

    /// Probes carry the claims a Supabase session has: with `auth.users`, the user's
    /// app_metadata and user_metadata reach policies through `auth.jwt()` as they would.
    @Test func probesCarryTheSessionClaimsSupabaseWouldSet() throws {
        _ = try psql(
            """
            CREATE TABLE auth.users (id uuid PRIMARY KEY, email text, raw_app_meta_data jsonb, raw_user_meta_data jsonb);
            INSERT INTO auth.users VALUES ('\(Self.client1)', 'c1@samia.example', '{"provider": "email", "plan": "gold"}', '{"locale": "ar"}');
            -- A policy that trusts a claim: gold clients read every horoscope, approved or not.
            CREATE POLICY horoscopes_gold ON public.horoscopes FOR SELECT TO authenticated
              USING ((auth.jwt() -> 'app_metadata' ->> 'plan') = 'gold');
            """)
        let result = try parity()
        #expect(result.status == 1, "\(result.stdout)\n\(result.stderr)")
        let r = try report()
        let probe = cell(r, "client", "horoscopes", "select")["probe"] as? [String: Any] ?? [:]
        let claims = probe["claims"] as? String ?? ""
        #expect(claims.contains("\"plan\": \"gold\"") && claims.contains("\"locale\": \"ar\""), "\(claims)")
        #expect(claims.contains("\"aud\": \"authenticated\"") && claims.contains("c1@samia.example"), "\(claims)")
        #expect(
            cell(r, "client", "horoscopes", "select")["verdict"] as? String == "fail", "the gold claim opens every row")
        #expect(
            cell(r, "reader", "horoscopes", "select")["verdict"] as? String == "pass", "no gold claim, no extra rows")
        let notes = ((r["header"] as? [String: Any])?["identities"] as? [String: String]) ?? [:]
        #expect(notes["reader"]?.contains("no auth.users row") == true, "\(notes)")
    }
}
