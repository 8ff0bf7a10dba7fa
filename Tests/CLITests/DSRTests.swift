import Foundation
import Postgres
import TestSupport
import Testing

/// Data-subject requests end to end through the real binary (Fixtures/dsr.sql): the workflow
/// and its audit trail, the export ZIP read back entry by entry with bsdtar (and 7z when
/// encrypted), masking of others' contacts, withheld columns, media with a hostile key, the
/// superadmin override, a crash mid-export, and the unmapped-table guard.
@Suite("Data-subject requests", .serialized)
struct DSRTests {
    let config: ConnectionConfiguration
    let dir = NSTemporaryDirectory() + "samia-dsr-\(UUID().uuidString)"
    var env: [String: String] = [:]
    static let subject = "aaaaaaaa-0000-4000-8000-000000000001"
    /// How the tests' requesters are verified on filing: approval needs it.
    static let verified = ["--identity", "account_session", "--evidence", "ticket-1"]
    static let superadmin = "aaaaaaaa-0000-4000-8000-000000000004"

    /// The objects the fixture's media rows name (B's upload included: it must stay out).
    static let objects: [String: String] = [
        "uploads/aaaaaaaa-0000-4000-8000-000000000001/order-1.jpg": "JPEG-A-1\u{0}\u{1}\u{2}",
        "readings/1/answer.mp3": "MP3-ANSWER-1",
        "uploads/aaaaaaaa-0000-4000-8000-000000000003/order-3.jpg": "JPEG-B",
        "invoices/2026/10/SAMIA-2026-000001.pdf": "%PDF-1.7 test body",
    ]

    init() throws {
        config = try TestCluster.shared().freshDatabase()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "Fixtures/dsr.sql"
        ).path
        let r = try Shell.run(
            "/usr/bin/psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", config.conninfo, "-f", fixture])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try CLI.run(["keygen", "--out", dir + "/signing.key"]).status == 0)
        for (key, body) in Self.objects {
            let path = dir + "/storage/" + key
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(body.utf8).write(to: URL(fileURLWithPath: path))
        }
        try Data((0..<32).map { UInt8($0 * 7 & 0xFF) }).write(to: URL(fileURLWithPath: dir + "/passphrase.key"))
        try Data("dsr-test-salt\n".utf8).write(to: URL(fileURLWithPath: dir + "/actor.salt"))
        env = [
            "SAMIA_SIGNING_KEY_FILE": dir + "/signing.key", "SAMIA_SIGNING_PUBLIC_KEY_FILE": dir + "/signing.key.pub",
            "SAMIA_STORAGE_DIR": dir + "/storage", "SAMIA_DPO_CONTACT": "privacy@samia.example (DPO)",
            "SAMIA_DSR_PASSPHRASE_KEY_FILE": dir + "/passphrase.key", "USER": "dpo-test",
            "SAMIA_METRICS_TEXTFILE": dir + "/metrics.prom", "SAMIA_ACTOR_SALT_FILE": dir + "/actor.salt",
        ]
    }

    func dsr(_ arguments: [String], env more: [String: String] = [:]) throws -> Shell.Result {
        try CLI.run(["dsr"] + arguments, database: config, env: env.merging(more) { $1 })
    }

    func psql(_ sql: String) throws -> String { try SQL.psql(config.conninfo, sql) }

    /// Files a request, approves it and returns its id.
    func approvedExport(_ extra: [String] = [], approve: [String] = []) throws -> String {
        let r = try dsr(["request", "export", "--subject", Self.subject] + Self.verified + extra)
        #expect(r.status == 0, "\(r.stderr)")
        let id = try psql("SELECT max(id) FROM public.dsr_requests")
        let a = try dsr(["approve", id] + approve)
        #expect(a.status == 0, "\(a.stderr)")
        return id
    }

    func entries(_ zip: String, passphrase: String? = nil) throws -> [String] {
        let r = try Shell.run("/usr/bin/bsdtar", (passphrase.map { ["--passphrase", $0] } ?? []) + ["-tf", zip])
        #expect(r.status == 0, "\(r.stderr)")
        return r.stdout.split(separator: "\n").map(String.init).sorted()
    }

    func extract(_ zip: String, passphrase: String? = nil) throws -> String {
        let out = dir + "/x-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let r = try Shell.run(
            "/usr/bin/bsdtar", (passphrase.map { ["--passphrase", $0] } ?? []) + ["-xf", zip, "-C", out])
        #expect(r.status == 0, "\(r.stderr)")
        return out
    }

    func csv(_ path: String) throws -> [[String: String]] {
        let rows = CSVText.parse(try String(contentsOfFile: path, encoding: .utf8))
        guard let header = rows.first else { return [] }
        return rows.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
    }

    @Test func theWorkflowChecksEveryTransitionAndAuditsIt() throws {
        let unknown = try dsr(["request", "export", "--subject", "bbbbbbbb-0000-4000-8000-000000000009"])
        #expect(unknown.status == 65 && unknown.stderr.contains("has no profile"), "\(unknown.stderr)")
        #expect(try psql("SELECT count(*) FROM public.dsr_requests") == "0")

        let filed = try dsr(
            ["request", "export", "--subject", Self.subject, "--requested-by", "dpo-1"] + Self.verified)
        #expect(filed.status == 0 && filed.stdout.contains("status: requested"), "\(filed.stdout) \(filed.stderr)")
        let id = try psql("SELECT id FROM public.dsr_requests")
        #expect(try psql("SELECT due_at = requested_at + interval '1 month' FROM public.dsr_requests") == "t")

        // Not yet approved: nothing to download; a second approval is refused.
        #expect(try dsr(["download", id, "--out", dir + "/early.zip"]).status == 65)
        #expect(try dsr(["approve", id, "--by", "dpo-2"]).status == 0)
        let again = try dsr(["approve", id])
        #expect(again.status == 65 && again.stderr.contains("is approved"), "\(again.stderr)")

        // --unmasked needs a superadmin's profile id.
        let other = try dsr(["request", "export", "--subject", Self.subject] + Self.verified)
        #expect(other.status == 0)
        let second = try psql("SELECT max(id) FROM public.dsr_requests")
        let notSuper = try dsr(["approve", second, "--unmasked", "--by", "aaaaaaaa-0000-4000-8000-000000000002"])
        #expect(notSuper.status == 65 && notSuper.stderr.contains("superadmin"), "\(notSuper.stderr)")
        #expect(try psql("SELECT status FROM public.dsr_requests WHERE id = \(second)") == "requested")

        // Extensions: one month, then one more, then no further (Art. 12(3)).
        #expect(try dsr(["extend", second, "--months", "1", "--reason", "complex request"]).status == 0)
        #expect(try dsr(["extend", second, "--months", "1", "--reason", "many requests"]).status == 0)
        let third = try dsr(["extend", second, "--months", "1", "--reason", "again"])
        #expect(third.status == 65 && third.stderr.contains("at most two months"), "\(third.stderr)")
        #expect(
            try psql(
                "SELECT extended_until = due_at + interval '2 months' FROM public.dsr_requests WHERE id = \(second)")
                == "t")
        #expect(try dsr(["reject", second, "--reason", "duplicate of #\(id)"]).status == 0)
        #expect(try dsr(["reject", second, "--reason", "twice"]).status == 65)

        // Overdue: nothing near its deadline, then one past it.
        let calm = try dsr(["list", "--overdue"])
        #expect(calm.status == 0 && calm.stdout.split(separator: "\n").count == 1, "\(calm.stdout)")
        _ = try psql("UPDATE public.dsr_requests SET due_at = now() - interval '1 day' WHERE id = \(id)")
        let late = try dsr(["list", "--overdue"])
        #expect(late.status == 1 && late.stdout.contains("\(id)\texport\tapproved"), "\(late.stdout)")
        #expect(try dsr(["show", id]).stdout.contains("approved: ") == true)

        #expect(
            try psql(
                "SELECT string_agg(event || ':' || entity_id, ',' ORDER BY id) FROM public.audit_log WHERE entity = 'dsr_requests'"
            )
                == "account_export_requested:\(id),dsr_identity_verified:\(id),dsr_approved:\(id),"
                + "account_export_requested:\(second),dsr_identity_verified:\(second),dsr_extended:\(second),dsr_extended:\(second),dsr_rejected:\(second)"
        )
        #expect(
            try psql(
                "SELECT count(*) FROM public.audit_log WHERE entity = 'dsr_requests' AND meta->>'subject' <> '\(Self.subject)'"
            )
                == "0")
    }

    @Test func threeWorkersAtOnceProcessEveryRequestExactlyOnce() throws {
        var ids: [String] = []
        for n in 1...4 {
            let r = try dsr(
                ["request", "export", "--subject", "aaaaaaaa-0000-4000-8000-00000000000\(n)"] + Self.verified)
            #expect(r.status == 0, "\(r.stderr)")
            let id = try psql("SELECT max(id) FROM public.dsr_requests")
            #expect(try dsr(["approve", id]).status == 0)
            ids.append(id)
        }
        let workers = try (0..<3).map { _ in try CLI.start(["dsr", "process"], database: config, env: env) }
        for r in workers.map({ $0.wait() }) { #expect(r.status == 0, "\(r.stderr)") }
        for id in ids {
            #expect(try psql("SELECT status, attempts FROM public.dsr_requests WHERE id = \(id)") == "done|1")
            for event in ["dsr_started", "account_export_ready"] {
                #expect(
                    try psql(
                        "SELECT count(*) FROM public.audit_log WHERE event = '\(event)' AND entity_id = '\(id)'")
                        == "1",
                    "\(event) for request \(id)")
            }
        }
        #expect(try psql("SELECT count(*) FROM public.batch_artifacts WHERE kind = 'dsr-export'") == "4")
        #expect(
            try psql("SELECT count(*) FROM public.batch_runs WHERE job = 'dsr-process' AND status = 'succeeded'") == "3"
        )
    }

    /// A credit note's PDF belongs to the platform's account, not the subject's: the export
    /// reaches it only through the subject's credit note (`<- credit_notes.pdf_media_id`).
    @Test func aCreditNotesPDFIsReachedThroughTheCreditNote() throws {
        let key = "credit-notes/2026/10/SAMIA-CN-2026-000001.pdf"
        _ = try psql(
            """
            INSERT INTO public.media_assets (id, owner_id, kind, url, bytes)
            VALUES (109, '\(Self.superadmin)', 'pdf', '\(key)', 11);
            INSERT INTO public.credit_notes (refund_id, invoice_id, order_id, number, amount_cents, vat_cents, currency, pdf_media_id)
            SELECT r.id, i.id, 1, 'SAMIA-CN-2026-000001', 1000, 130, 'SAR', 109
              FROM public.refunds r, public.invoices i WHERE r.order_id = 1 AND i.order_id = 1
            """)
        try FileManager.default.createDirectory(
            atPath: ((dir + "/storage/" + key) as NSString).deletingLastPathComponent, withIntermediateDirectories: true
        )
        try Data("%PDF-1.7 CN".utf8).write(to: URL(fileURLWithPath: dir + "/storage/" + key))

        let id = try approvedExport()
        let run = try dsr(["process"])
        #expect(run.status == 0, "\(run.stderr)")
        let zip = dir + "/export.zip"
        #expect(try dsr(["download", id, "--out", zip]).status == 0)
        #expect(try entries(zip).contains("media/" + key))
        // Personal data: the stored export and the downloaded copy are readable by their owner only.
        let stored = (FileManager.default.enumerator(atPath: dir + "/storage")?.allObjects as? [String] ?? [])
            .filter { $0.hasSuffix(".zip") }
        #expect(!stored.isEmpty)
        for path in stored.map({ dir + "/storage/" + $0 }) + [zip] {
            var info = stat()
            #expect(stat(path, &info) == 0)
            #expect(info.st_mode & 0o777 == 0o600, "\(path) is \(String(info.st_mode & 0o777, radix: 8))")
        }
        let out = try extract(zip)
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/media/" + key)) == Data("%PDF-1.7 CN".utf8))
        #expect(try csv(out + "/data/credit_notes.csv").map { $0["number", default: "?"] } == ["SAMIA-CN-2026-000001"])
        #expect(
            try csv(out + "/data/media_assets.csv").map { $0["id", default: "?"] }
                == ["101", "102", "104", "105", "106", "109"])
    }

    @Test func keysThatClashOnceSanitisedGetNamesOfTheirOwn() throws {
        // "clash/a b.jpg" and "clash/a_b.jpg" sanitise to one name; the second, being the third
        // object written (keys go in byte order), is numbered "media/3-a_b.jpg". A real key
        // "3-a_b.jpg" holds that name already, so the number must move on rather than fail the
        // export with a duplicate entry.
        let objects = ["3-a_b.jpg": "DECOY", "clash/a b.jpg": "SPACE", "clash/a_b.jpg": "UNDERSCORE"]
        try FileManager.default.createDirectory(atPath: dir + "/storage/clash", withIntermediateDirectories: true)
        var rows: [String] = []
        for (i, key) in objects.keys.sorted().enumerated() {
            rows.append("(\(200 + i), '\(Self.subject)', 'image', '\(key)', \(objects[key]!.utf8.count))")
            try Data(objects[key]!.utf8).write(to: URL(fileURLWithPath: dir + "/storage/" + key))
        }
        _ = try psql(
            "INSERT INTO public.media_assets (id, owner_id, kind, url, bytes) VALUES \(rows.joined(separator: ", "))")

        let id = try approvedExport()
        let run = try dsr(["process"])
        #expect(run.status == 0, "\(run.stderr)")
        let zip = dir + "/export.zip"
        #expect(try dsr(["download", id, "--out", zip]).status == 0)
        #expect(try Shell.run("/usr/bin/unzip", ["-tq", zip]).status == 0)
        let media = try entries(zip).filter { $0.hasPrefix("media/") }
        #expect(Set(media).count == media.count, "\(media)")
        // Every object is in the ZIP once, whatever name it got.
        let out = try extract(zip)
        let bodies = try media.map { try String(contentsOfFile: out + "/" + $0, encoding: .utf8) }
        for body in objects.values { #expect(bodies.filter { $0 == body }.count == 1, "\(body): \(media)") }
        #expect(try String(contentsOfFile: out + "/media/3-a_b.jpg", encoding: .utf8) == "DECOY")
        #expect(try String(contentsOfFile: out + "/media/clash/a_b.jpg", encoding: .utf8) == "SPACE")
        #expect(try String(contentsOfFile: out + "/media/4-a_b.jpg", encoding: .utf8) == "UNDERSCORE")
        #expect(try CLI.run(["verify", zip], env: env).status == 0)
    }

    @Test func theExportHoldsEverythingTheMapReachesAndNothingElse() throws {
        let id = try approvedExport()
        let run = try dsr(["process"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try psql("SELECT status, attempts FROM public.dsr_requests WHERE id = \(id)") == "done|1")
        #expect(!run.stderr.contains("amira") && !run.stderr.contains("Amira"), "personal data in the log")
        #expect(!run.stderr.contains("dsr_unindexed_reach"), "\(run.stderr)")

        let zip = dir + "/export.zip"
        let got = try dsr(["download", id, "--out", zip])
        #expect(got.status == 0, "\(got.stderr)")
        #expect(try Shell.run("/usr/bin/unzip", ["-tq", zip]).status == 0)
        let names = try entries(zip)
        let tables = [
            "assist_drafts", "astro_requests", "audit_log", "blocked_profiles", "calls", "credit_notes", "events_raw",
            "invoices", "media_assets", "moderation_actions", "notif_log", "notif_prefs", "orders", "payment_events",
            "payment_intents", "phone_verifications", "profiles", "refunds",
        ]
        #expect(
            names
                == (tables.flatMap { ["data/\($0).csv", "data/\($0).json"] } + [
                    "README.txt", "manifest.json", "manifest.sig",
                    "media/invoices/2026/10/SAMIA-2026-000001.pdf", "media/readings/1/answer.mp3",
                    "media/uploads/aaaaaaaa-0000-4000-8000-000000000001/order-1.jpg",
                ]).sorted())
        let out = try extract(zip)
        for (key, body) in Self.objects where !key.contains("000000000003") {
            #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/media/" + key)) == Data(body.utf8), "\(key)")
        }

        // Rows: A's and only A's; JSON holds the same rows as the CSV.
        let counts: [String: Int] = [
            "profiles": 1, "orders": 2, "media_assets": 5, "payment_intents": 1, "invoices": 1, "refunds": 1,
            "calls": 1, "notif_log": 1, "notif_prefs": 1, "phone_verifications": 1, "astro_requests": 1,
            "audit_log": 2, "credit_notes": 0, "moderation_actions": 1, "events_raw": 2, "payment_events": 2,
        ]
        for table in tables {
            let rows = try csv(out + "/data/\(table).csv")
            let json = try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: out + "/data/\(table).json")))
            #expect((json as? [[String: Any]])?.count == rows.count, "\(table).json")
            // Both formats list the same rows in the same (key) order.
            if rows.first?["id"] != nil {
                let ids = (json as? [[String: Any]])?.map { "\($0["id"] ?? "")" }
                #expect(ids == rows.map { $0["id", default: "?"] }, "\(table): JSON and CSV rows differ")
            }
            if let n = counts[table] { #expect(rows.count == n, "\(table): \(rows.count) rows") }
        }
        let orders = try csv(out + "/data/orders.csv")
        #expect(orders.map { $0["id", default: "?"] } == ["1", "2"])
        #expect(
            orders[0]["question_text"]
                == "Please read for my sister sa***@example.net too, call her on +44***23. Reply to amira@example.com")
        #expect(orders[1]["question_text"] == "Will I travel? سأسافر؟")
        let payments = try csv(out + "/data/payment_intents.csv")
        #expect(payments.first?["provider_intent_id"] == "pi_A1" && payments.first?["client_secret"] == nil)
        #expect(try csv(out + "/data/refunds.csv").first?["reason"] == "asked by phone from +96***67")
        let notif =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: out + "/data/notif_log.json"))) as? [[String: Any]]
        #expect((notif?.first?["payload"] as? [String: String])?["text"] == "Your reader re***@example.com replied")
        #expect(notif?.first?["target"] as? String == "amira@example.com")
        // Every place they live (issue 36, point 2): what others wrote about them, their
        // pseudonymous events (found through the salted hash), the webhooks naming their payments.
        #expect(
            try csv(out + "/data/audit_log.csv").map { $0["event", default: "?"] + "/" + $0["entity", default: ""] }
                == ["login/", "refund_created/refund"])
        #expect(try csv(out + "/data/moderation_actions.csv").map { $0["reason", default: "?"] } == ["reported twice"])
        #expect(
            try csv(out + "/data/events_raw.csv").map { $0["event", default: "?"] } == [
                "order_created", "call_started",
            ])
        let webhooks =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: out + "/data/payment_events.json"))) as? [[String: Any]]
        #expect(webhooks?.compactMap { ($0["payload"] as? [String: Any])?["id"] as? String } == ["pi_A1", "evt_A1"])
        let media = try csv(out + "/data/media_assets.csv").map { $0["id", default: "?"] }
        #expect(media == ["101", "102", "104", "105", "106"])
        let everything = try Shell.run(
            "/bin/grep", ["-r", "-l", "-e", "bob@example.org", "-e", "pi_B3", "-e", "root:x:", out])
        #expect(everything.stdout.isEmpty, "others' data in the export: \(everything.stdout)")

        let readme = try String(contentsOfFile: out + "/README.txt", encoding: .utf8)
        #expect(readme.contains("- data/orders.csv and .json: 2 row(s)"))
        #expect(readme.contains("payment_intents.client_secret: a live payment credential"))
        #expect(readme.contains("2 media file(s) your records name could not be found"))
        #expect(readme.contains("privacy@samia.example (DPO)") && readme.contains("Art. 77"))
        #expect(readme.contains("حقوقك") && readme.contains("الغرض: القراءات التي طلبتها"))

        let verify = try CLI.run(["verify", zip], env: env)
        #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
        #expect(
            try psql(
                "SELECT string_agg(event, ',' ORDER BY id) FROM public.audit_log WHERE entity = 'dsr_requests' AND entity_id = '\(id)'"
            )
                == "account_export_requested,dsr_identity_verified,dsr_approved,dsr_started,account_export_ready,"
                + "account_export_downloaded")
        #expect(
            try psql(
                "SELECT kind, expires_at::date = (now() + interval '14 days')::date FROM public.batch_artifacts")
                == "dsr-export|t")
        let metrics = try String(contentsOfFile: dir + "/metrics.prom", encoding: .utf8)
        #expect(metrics.contains("samia_dsr_requests_open{batch_job=\"dsr-process\"} 0"), "\(metrics)")
    }

    @Test func aFailedTableQueryFailsOnlyItsOwnExport() throws {
        // The tables are read on a second session beside the media. A query failing there fails
        // that request alone; the session is rolled back and serves the next export in the run.
        let first = try approvedExport()
        let second = try approvedExport()
        // The first export's read of orders on the tables session is cancelled from outside.
        let run = try CancelledRead.run(
            ["dsr", "process"], database: config, env: env, table: "orders", sessionSuffix: "/tables")
        #expect(run.status != 0, "\(run.stdout)")
        #expect(run.stderr.contains("finished partially: 1 failed, 1 succeeded"), "\(run.stderr)")
        // Tried once in this run: a failure waits for the next run, not used up at once.
        #expect(
            try psql(
                "SELECT status, attempts, error LIKE '%canceling statement%' FROM public.dsr_requests WHERE id = \(first)"
            )
                == "failed|1|t")
        #expect(try psql("SELECT status FROM public.dsr_requests WHERE id = \(second)") == "done")
        #expect(try psql("SELECT count(*) FROM public.batch_artifacts") == "1")
        let zip = dir + "/second.zip"
        #expect(try dsr(["download", second, "--out", zip]).status == 0)
        let names = try entries(zip)
        #expect(
            names.contains("data/orders.csv") && names.contains("data/orders.json") && names.contains("manifest.json"))
        #expect(names.contains { $0.hasPrefix("media/") }, "\(names)")
        let out = try extract(zip)
        #expect(
            try csv(out + "/data/orders.csv").count
                == Int(
                    try psql(
                        "SELECT count(*) FROM public.orders WHERE user_id = '\(Self.subject)'")))
        #expect(try CLI.run(["verify", zip], env: env).status == 0)
        // The next run retries the failed request, and the fault is gone.
        let retry = try dsr(["process"])
        #expect(retry.status == 0, "\(retry.stderr)")
        #expect(
            try psql("SELECT status, attempts, error IS NULL FROM public.dsr_requests WHERE id = \(first)")
                == "done|2|t")
    }

    @Test func encryptionTheOverrideAndACrashAreHandled() throws {
        // Encrypted: standard tools need the passphrase, which `dsr passphrase` derives again.
        let id = try approvedExport(["--encrypt"])
        // A crash after the ZIP is written and before it is recorded: the request stays running.
        let crashed = try CrashPoint(config, table: "batch_artifacts", timing: "BEFORE INSERT").crash(
            ["dsr", "process"], database: config, env: env)
        #expect(crashed.status == 128 + SIGKILL, "\(crashed.stderr)")
        #expect(try psql("SELECT status, attempts FROM public.dsr_requests WHERE id = \(id)") == "running|1")
        #expect(try psql("SELECT count(*) FROM public.batch_artifacts") == "0")
        let resumed = try dsr(["process"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try psql("SELECT status, attempts FROM public.dsr_requests WHERE id = \(id)") == "done|2")

        let zip = dir + "/encrypted.zip"
        #expect(try dsr(["download", id, "--out", zip]).status == 0)
        let passphrase = try dsr(["passphrase", id]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(passphrase.count == 27, "\(passphrase)")
        #expect(try Shell.run("/usr/bin/bsdtar", ["--passphrase", "wrong", "-xf", zip, "-C", dir]).status != 0)
        let out = try extract(zip, passphrase: passphrase)
        #expect(FileManager.default.fileExists(atPath: out + "/data/orders.csv"))
        let sevenZip = try Shell.run("/usr/bin/7z", ["t", "-p\(passphrase)", zip])
        #expect(sevenZip.status == 0 && sevenZip.stdout.contains("Everything is Ok"), "\(sevenZip.stdout)")
        #expect(
            try psql(
                "SELECT count(*) FROM public.audit_log WHERE event = 'dsr_passphrase_disclosed' AND entity_id = '\(id)'"
            )
                == "1")

        // A superadmin override shows others' contacts, and is audited.
        let raw = try approvedExport([], approve: ["--unmasked", "--by", Self.superadmin])
        #expect(try dsr(["process"]).status == 0)
        let rawZip = dir + "/raw.zip"
        #expect(try dsr(["download", raw, "--out", rawZip]).status == 0)
        let rawOut = try extract(rawZip)
        #expect(try csv(rawOut + "/data/orders.csv").first?["question_text"]?.contains("sara@example.net") == true)
        #expect(
            try psql(
                "SELECT actor FROM public.audit_log WHERE event = 'dsr_unmasked_override' AND entity_id = '\(raw)'")
                == Self.superadmin)
    }

    @Test func anUnmappedTableOrMissingConfigurationStopsProcessing() throws {
        let id = try approvedExport()
        let noContact = try dsr(["process"], env: ["SAMIA_DPO_CONTACT": ""])
        #expect(noContact.status == 78 && noContact.stderr.contains("SAMIA_DPO_CONTACT"), "\(noContact.stderr)")
        _ = try psql(
            "CREATE TABLE public.tarot_notes (id bigserial PRIMARY KEY, author uuid REFERENCES public.profiles(id), body text)"
        )
        let stopped = try dsr(["process"])
        #expect(stopped.status == 65 && stopped.stderr.contains("tarot_notes"), "\(stopped.stderr)")
        #expect(try psql("SELECT status FROM public.dsr_requests WHERE id = \(id)") == "approved")
        #expect(try psql("SELECT count(*) FROM public.batch_artifacts") == "0")
    }

    /// A reach column without an index does not stop processing (the schema is the platform's),
    /// but the run says which column, for on-call to act on.
    @Test func aReachColumnWithoutAnIndexIsLoggedAndTheExportStillRuns() throws {
        let id = try approvedExport()
        _ = try psql("DROP INDEX public.refunds_order_idx")
        let run = try dsr(["process"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("dsr_unindexed_reach") && run.stderr.contains("refunds.order_id"), "\(run.stderr)")
        #expect(try psql("SELECT status FROM public.dsr_requests WHERE id = \(id)") == "done")
    }

    /// A fingerprint of every table the fixture fills, to show a dry run or a rolled-back crash
    /// changed nothing.
    func fingerprint() throws -> String {
        try [
            "profiles", "orders", "media_assets", "payment_intents", "invoices", "refunds", "calls", "notif_log",
            "notif_prefs", "phone_verifications", "astro_requests", "storage_outbox",
        ].map { try psql("SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM public.\($0) t") }
            .joined(separator: ",")
    }

    /// Files an erasure (as $USER) and has someone else approve it: an erasure takes two people.
    func approvedErasure(_ subject: String = DSRTests.subject) throws -> String {
        #expect(try dsr(["request", "erase", "--subject", subject] + Self.verified).status == 0)
        let id = try psql("SELECT max(id) FROM public.dsr_requests")
        #expect(try dsr(["approve", id, "--by", "dpo-approver"]).status == 0)
        return id
    }

    func stored(_ key: String) -> Bool { FileManager.default.fileExists(atPath: dir + "/storage/" + key) }

    @Test func anErasureDeletesAnonymizesAndKeepsWhatTheLawRequires() throws {
        let id = try approvedErasure()
        let before = try fingerprint()
        let plan = try dsr(["process", "--dry-run"])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("orders\tdelete\t2\t1\t1\t1 (invoices.order_id)\t0"), "\(plan.stdout)")
        #expect(plan.stdout.contains("media_assets\tdelete\t5\t4\t0\t1 (invoices.pdf_media_id)\t0"), "\(plan.stdout)")
        #expect(plan.stdout.contains("profiles\tanonymize\t1\t0\t1\t0\t0"), "\(plan.stdout)")
        #expect(plan.stdout.contains("storage objects to delete: 4"), "\(plan.stdout)")
        #expect(try fingerprint() == before, "the dry run changed something")
        #expect(try psql("SELECT status FROM public.dsr_requests WHERE id = \(id)") == "approved")

        let run = try dsr(["process"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try psql("SELECT status FROM public.dsr_requests WHERE id = \(id)") == "done")
        // Their own order the invoice points at stays, emptied; the other one is gone; B's is untouched.
        #expect(
            try psql(
                "SELECT id, question_text IS NULL, input_media_id IS NULL, output_media_id IS NULL FROM public.orders ORDER BY id"
            )
                == "1|t|t|t\n3|f|f|t")
        #expect(
            try psql("SELECT question_text FROM public.orders WHERE id = 3") == "Bob's own question, bob@example.org")
        #expect(
            try psql(
                """
                SELECT (SELECT count(*) FROM public.calls) || ',' || (SELECT count(*) FROM public.astro_requests) || ','
                       || (SELECT count(*) FROM public.notif_log) || ',' || (SELECT count(*) FROM public.notif_prefs) || ','
                       || (SELECT count(*) FROM public.phone_verifications)
                """) == "0,0,1,0,0")
        #expect(
            try psql(
                """
                SELECT email ~ '^[0-9a-f]{64}$', phone IS NULL, first_name, last_name, dob IS NULL, zodiac IS NULL
                  FROM public.profiles WHERE id = '\(Self.subject)'
                """) == "t|t|[erased]|[erased]|t|t")
        #expect(try psql("SELECT count(*) FROM public.profiles WHERE first_name = '[erased]'") == "1")
        // Retained for the law, with what may go gone.
        #expect(
            try psql("SELECT provider_intent_id, client_secret IS NULL FROM public.payment_intents WHERE id = 1")
                == "pi_A1|t")
        #expect(try psql("SELECT reason FROM public.refunds") == "[erased]")
        #expect(try psql("SELECT billing_email FROM public.invoices") == "amira@example.com")
        #expect(try psql("SELECT string_agg(id::text, ',' ORDER BY id) FROM public.media_assets") == "103,106")
        #expect(!stored("uploads/aaaaaaaa-0000-4000-8000-000000000001/order-1.jpg") && !stored("readings/1/answer.mp3"))
        #expect(
            stored("invoices/2026/10/SAMIA-2026-000001.pdf")
                && stored("uploads/aaaaaaaa-0000-4000-8000-000000000003/order-3.jpg"))
        #expect(try psql("SELECT count(*), count(deleted_at) FROM public.storage_outbox") == "4|4")
        // Their events are unlinked (B's keep their hash); the webhooks stay as bookkeeping without
        // the payer's name, email and phone; what others wrote about them stays.
        #expect(try psql("SELECT count(*) FILTER (WHERE actor_hash IS NULL), count(*) FROM public.events_raw") == "2|3")
        #expect(
            try psql(
                "SELECT payload::text FROM public.payment_events WHERE payload->>'id' = 'evt_A1'")
                == #"{"id": "evt_A1", "data": {"object": {"id": "re_A1", "amount": 1000}}}"#)
        #expect(
            try psql("SELECT payload->>'receipt_email' FROM public.payment_events WHERE payload->>'id' = 'pi_B3'")
                == "bob@example.org")
        #expect(try psql("SELECT count(*) FROM public.audit_log WHERE entity = 'refund'") == "1")
        #expect(try psql("SELECT count(*) FROM public.moderation_actions") == "2")
        #expect(
            try psql(
                "SELECT committed_at IS NOT NULL, verified_at IS NOT NULL, verification->>'passed' FROM public.dsr_erasures"
            )
                == "t|t|true")
        #expect(
            try psql(
                "SELECT string_agg(event, ',' ORDER BY id) FROM public.audit_log WHERE entity = 'dsr_requests' AND entity_id = '\(id)'"
            )
                == "account_delete_requested,dsr_identity_verified,dsr_approved,dsr_started,account_delete_completed")

        // The proof: signed, counts and legal bases, no personal data.
        let zip = dir + "/proof.zip"
        #expect(try dsr(["download", id, "--out", zip]).status == 0)
        #expect(try CLI.run(["verify", zip], env: env).status == 0)
        let out = try extract(zip)
        let proof =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/proof.json")))
            as? [String: Any]
        let tables = proof?["tables"] as? [[String: Any]] ?? []
        let invoices = tables.first { $0["table"] as? String == "invoices" }
        #expect(
            invoices?["action"] as? String == "retain" && (invoices?["legalBasis"] as? String)?.contains("tax") == true)
        #expect((proof?["objects"] as? [String: Any])?["deleted"] as? Int == 4)
        #expect((proof?["verification"] as? [String: Any])?["passed"] as? Bool == true)
        // What remains, table by table and column by column, and why (counts only).
        let summary = try String(contentsOfFile: out + "/summary.txt", encoding: .utf8)
        #expect(summary.contains("invoices: 1 row(s)"), "\(summary)")
        #expect(
            summary.contains(
                "  billing_email: 1 row(s) with a value: retained: legal obligation: tax invoices (Art. 6(1)(c))"),
            "\(summary)")
        #expect(summary.contains("  reason: 0 row(s) with a value: cleared (redact)"), "\(summary)")
        #expect(summary.contains("  first_name: 0 row(s) with a value: cleared (redact)"), "\(summary)")
        #expect(summary.contains("  country: 1 row(s) with a value: kept by the anonymisation"), "\(summary)")
        let columns = (proof?["verification"] as? [String: Any])?["remainingColumns"] as? [String: Any]
        #expect(
            ((columns?["payment_events"] as? [[String: Any]])?.first?["why"] as? String)?.hasPrefix(
                "kept without its personal keys (billing_details, receipt_email") == true)
        let leak = try Shell.run(
            "/bin/grep", ["-r", "-i", "-l", "-e", "amira", "-e", "haddad", "-e", "966500", "-e", "sara@", out])
        #expect(leak.stdout.isEmpty, "personal data in the proof: \(leak.stdout)")

        // An export afterwards shows only what was kept, cleared.
        let export = try approvedExport()
        #expect(try dsr(["process"]).status == 0)
        let exportZip = dir + "/after.zip"
        #expect(try dsr(["download", export, "--out", exportZip]).status == 0)
        let after = try extract(exportZip)
        #expect(try csv(after + "/data/orders.csv").map { $0["question_text", default: "?"] } == [""])
        #expect(try csv(after + "/data/notif_log.csv").isEmpty)
        #expect(try csv(after + "/data/events_raw.csv").isEmpty)
    }

    /// Without the salt of the pseudonymous events no subject's events can be found: every
    /// request waits (78, naming the variable) instead of exporting or erasing without them.
    @Test func aMissingPseudonymSaltStopsProcessingBeforeAnything() throws {
        let id = try approvedErasure()
        let before = try fingerprint()
        var unset = env
        unset["SAMIA_ACTOR_SALT_FILE"] = nil
        let r = try CLI.run(["dsr", "process"], database: config, env: unset)
        #expect(r.status == 78 && r.stderr.contains("SAMIA_ACTOR_SALT_FILE is not set"), "\(r.stderr)")
        let empty = dir + "/empty.salt"
        try Data().write(to: URL(fileURLWithPath: empty))
        let blank = try dsr(["process"], env: ["SAMIA_ACTOR_SALT_FILE": empty])
        #expect(blank.status == 78 && blank.stderr.contains("cannot read a salt"), "\(blank.stderr)")
        #expect(try fingerprint() == before)
        #expect(try psql("SELECT status, attempts FROM public.dsr_requests WHERE id = \(id)") == "approved|0")
    }

    @Test func aHoldOnOneRowKeepsThatRowThroughAnErasure() throws {
        let place = try CLI.run(
            ["legal-hold", "place", "--table", "orders", "--key", "2", "--reason", "chargeback dispute"],
            database: config, env: env)
        #expect(place.status == 0, "\(place.stderr)")
        let id = try approvedErasure()
        let r = try dsr(["process"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try psql("SELECT status FROM public.dsr_requests WHERE id = \(id)") == "done")
        #expect(try psql("SELECT question_text FROM public.orders WHERE id = 2") == "Will I travel? سأسافر؟")
        #expect(
            try psql("SELECT plan->'tables' @> '[{\"table\": \"orders\", \"held\": 1}]' FROM public.dsr_erasures")
                == "t")
        #expect(
            try psql("SELECT question_text IS DISTINCT FROM 'Will I travel? سأسافر؟' FROM public.orders WHERE id = 1")
                != "f")
    }

    @Test func holdsCrashesAndAReadersErasureLeaveOthersRecordsWhole() throws {
        // A hold on one table of A's: those rows stay as they are.
        _ = try psql(
            """
            INSERT INTO public.legal_holds (subject, table_name, reason, placed_by)
            VALUES ('\(Self.subject)', 'notif_log', 'complaint #77 under investigation', 'legal')
            """)
        let id = try approvedErasure()
        let before = try fingerprint()
        // Killed in the middle of the destructive transaction: nothing changed but the ledger entry.
        let mid = try CrashPoint(config, table: "storage_outbox", timing: "BEFORE INSERT").crash(
            ["dsr", "process"], database: config, env: env)
        #expect(mid.status == 128 + SIGKILL, "\(mid.stderr)")
        #expect(try fingerprint() == before)
        #expect(try psql("SELECT committed_at IS NULL, plan IS NOT NULL FROM public.dsr_erasures") == "t|t")
        // Killed after the commit, before the objects went: rows are erased, objects queued.
        let after = try CrashPoint(config, table: "storage_outbox", timing: "BEFORE INSERT").crash(
            ["dsr", "process"], database: config, env: env, afterCommit: true)
        #expect(after.status == 128 + SIGKILL, "\(after.stderr)")
        #expect(try psql("SELECT count(*), count(deleted_at) FROM public.storage_outbox") == "4|0")
        #expect(stored("readings/1/answer.mp3"))
        let resumed = try dsr(["process"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try psql("SELECT status, attempts FROM public.dsr_requests WHERE id = \(id)") == "done|3")
        #expect(try psql("SELECT count(*), count(deleted_at) FROM public.storage_outbox") == "4|4")
        #expect(!stored("readings/1/answer.mp3"))
        #expect(try psql("SELECT count(*) FROM public.notif_log WHERE user_id = '\(Self.subject)'") == "1")
        #expect(
            try psql("SELECT plan->'tables' @> '[{\"table\": \"notif_log\", \"held\": 1}]' FROM public.dsr_erasures")
                == "t")

        // A hold on the whole subject: the erasure waits, held, and nothing changes.
        let bob = "aaaaaaaa-0000-4000-8000-000000000003"
        _ = try psql(
            "INSERT INTO public.legal_holds (subject, reason, placed_by) VALUES ('\(bob)', 'court order 12/2026', 'legal')"
        )
        let held = try approvedErasure(bob)
        let bobBefore = try psql("SELECT md5(p::text) FROM public.profiles p WHERE id = '\(bob)'")
        let refused = try dsr(["process"])
        #expect(refused.status == 0 && refused.stdout.contains("held by legal hold"), "\(refused.stderr)")
        #expect(
            try psql("SELECT status, error LIKE '%legal hold%' FROM public.dsr_requests WHERE id = \(held)")
                == "held|t")
        #expect(try psql("SELECT md5(p::text) FROM public.profiles p WHERE id = '\(bob)'") == bobBefore)

        // The reader's erasure: the clients' orders they handled, and the readings they recorded
        // for them, stay; the reader's profile is anonymized.
        _ = try psql("UPDATE public.dsr_requests SET status = 'rejected', rejection_reason = 'held' WHERE id = \(held)")
        _ = try psql(
            """
            INSERT INTO public.media_assets (id, owner_id, kind, url) VALUES
              (107, 'aaaaaaaa-0000-4000-8000-000000000002', 'audio', 'readings/3/answer.mp3'),
              (108, 'aaaaaaaa-0000-4000-8000-000000000002', 'image', 'uploads/reader/avatar.jpg');
            UPDATE public.orders SET output_media_id = 107 WHERE id = 3
            """)
        for key in ["readings/3/answer.mp3", "uploads/reader/avatar.jpg"] {
            try FileManager.default.createDirectory(
                atPath: ((dir + "/storage/" + key) as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true)
            try Data("x".utf8).write(to: URL(fileURLWithPath: dir + "/storage/" + key))
        }
        let reader = try approvedErasure("aaaaaaaa-0000-4000-8000-000000000002")
        let readerRun = try dsr(["process"])
        #expect(readerRun.status == 0, "\(readerRun.stderr)")
        #expect(try psql("SELECT status FROM public.dsr_requests WHERE id = \(reader)") == "done")
        #expect(
            try psql("SELECT string_agg(id::text || ':' || assigned_reader, ',' ORDER BY id) FROM public.orders")
                == "1:aaaaaaaa-0000-4000-8000-000000000002,3:aaaaaaaa-0000-4000-8000-000000000002")
        #expect(
            try psql("SELECT first_name FROM public.profiles WHERE id = 'aaaaaaaa-0000-4000-8000-000000000002'")
                == "[erased]")
        #expect(
            try psql("SELECT string_agg(id::text, ',' ORDER BY id) FROM public.media_assets WHERE id > 106") == "107")
        #expect(stored("readings/3/answer.mp3") && !stored("uploads/reader/avatar.jpg"))
    }

    /// The same export and erasure with the objects in an S3-compatible bucket (moto, checking
    /// signatures): media read from S3 into the ZIP, artefacts stored there, objects deleted.
    @Test func exportAndErasureWorkAgainstAnS3Bucket() throws {
        let moto = try MotoServer()
        defer { moto.stop() }
        for (key, body) in Self.objects { try moto.put(key, body) }
        var s3 = env.merging(moto.environment) { $1 }
        s3.removeValue(forKey: "SAMIA_STORAGE_DIR")
        let export = try approvedExport()
        let run = try dsr(["process"], env: s3)
        #expect(run.status == 0, "\(run.stderr)")
        let zip = dir + "/s3.zip"
        #expect(try dsr(["download", export, "--out", zip], env: s3).status == 0)
        let out = try extract(zip)
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: out + "/media/readings/1/answer.mp3"))
                == Data("MP3-ANSWER-1".utf8))
        #expect(try moto.keys().contains { $0.hasPrefix("artifacts/dsr-export/request-\(export)/") })

        let erase = try approvedErasure()
        let erased = try dsr(["process"], env: s3)
        #expect(erased.status == 0, "\(erased.stderr)")
        #expect(try psql("SELECT status FROM public.dsr_requests WHERE id = \(erase)") == "done")
        let keys = try moto.keys()
        #expect(
            !keys.contains("readings/1/answer.mp3")
                && !keys.contains("uploads/aaaaaaaa-0000-4000-8000-000000000001/order-1.jpg"))
        #expect(
            keys.contains("invoices/2026/10/SAMIA-2026-000001.pdf")
                && keys.contains("uploads/aaaaaaaa-0000-4000-8000-000000000003/order-3.jpg"))
        // The export made before the erasure is gone from the bucket with it.
        #expect(!keys.contains { $0.hasPrefix("artifacts/dsr-export/request-\(export)/") })

        // A dead endpoint: the export cannot read B's media; the request fails and says why.
        var dead = s3
        dead["SAMIA_S3_ENDPOINT"] = "http://127.0.0.1:9"
        let request = try dsr(
            ["request", "export", "--subject", "aaaaaaaa-0000-4000-8000-000000000003"] + Self.verified, env: dead)
        #expect(request.status == 0)
        let id = try psql("SELECT max(id) FROM public.dsr_requests")
        #expect(try dsr(["approve", id], env: dead).status == 0)
        let failed = try dsr(["process"], env: dead)
        #expect(failed.status == 1, "\(failed.stderr)")
        #expect(try psql("SELECT status FROM public.dsr_requests WHERE id = \(id)") == "failed")
        #expect(!failed.stderr.contains(moto.secretAccessKey))
    }
}

extension DSRTests {
    /// A DPO's workflow guards (issue 36): whoever filed an erasure cannot approve it (65; a
    /// second person can), and an overdue request cannot be extended after the fact (65), while
    /// one still inside its first month can.
    @Test func anErasureTakesTwoPeopleAndAnOverdueRequestCannotBeExtended() throws {
        #expect(
            try dsr(["request", "erase", "--subject", Self.subject, "--requested-by", "dpo-1"] + Self.verified).status
                == 0)
        let erase = try psql("SELECT max(id) FROM public.dsr_requests")
        let own = try dsr(["approve", erase, "--by", " DPO-1"])
        #expect(own.status == 65 && own.stderr.contains("another person must approve it"), "\(own.stderr)")
        #expect(try psql("SELECT status FROM public.dsr_requests WHERE id = \(erase)") == "requested")
        #expect(try dsr(["approve", erase, "--by", "dpo-2"]).status == 0)

        #expect(try dsr(["request", "export", "--subject", Self.subject] + Self.verified).status == 0)
        let export = try psql("SELECT max(id) FROM public.dsr_requests")
        #expect(try dsr(["extend", export, "--months", "1", "--reason", "complex"]).status == 0)
        _ = try psql(
            "UPDATE public.dsr_requests SET requested_at = now() - interval '40 days', received_at = now() - interval '40 days', due_at = now() - interval '9 days', extended_until = NULL WHERE id = \(export)"
        )
        let late = try dsr(["extend", export, "--months", "1", "--reason", "too late"])
        #expect(late.status == 65 && late.stderr.contains("cannot be extended"), "\(late.stderr)")
        #expect(try psql("SELECT extended_until IS NULL FROM public.dsr_requests WHERE id = \(export)") == "t")
    }
}

extension DSRTests {
    /// Issue 36: an erasure with a column the map does not classify (it would be left behind
    /// while the proof says passed) refuses to start: 65, nothing erased, the request untouched.
    @Test func anErasureRefusesToStartWhileAColumnIsUnclassified() throws {
        let id = try approvedErasure()
        _ = try psql("ALTER TABLE public.profiles ADD COLUMN passport_no text")
        let before = try fingerprint()
        let r = try dsr(["process"])
        #expect(r.status == 65 && r.stderr.contains("profiles.passport_no"), "\(r.status) \(r.stderr)")
        #expect(try fingerprint() == before)
        #expect(try psql("SELECT status FROM public.dsr_requests WHERE id = \(id)") == "approved")
        #expect(try psql("SELECT count(*) FROM public.dsr_erasures") == "0")
    }
}

extension DSRTests {
    /// Issue 36: phone numbers written without `+` (local, `00`-prefixed, bracketed, dashed,
    /// Arabic-Indic digits) reached the export unmasked. Each is masked now; dates, amounts and
    /// order numbers in the same text are not.
    @Test func phonesInAnyCommonFormatAreMaskedAndOtherNumbersAreNot() throws {
        let text =
            "call 0501234567 or 00966-50-123-4567 or (050) 123-4567 or ٠٥٠١٢٣٤٥٦٧ or 050.123.4567; "
            + "booked 2026-10-05 10:00 for 1500 SAR, order 123456"
        _ = try psql("UPDATE public.orders SET question_text = '\(text)' WHERE id = 1")
        let id = try approvedExport()
        #expect(try dsr(["process"]).status == 0)
        let zip = dir + "/phones.zip"
        #expect(try dsr(["download", id, "--out", zip]).status == 0)
        let question = try csv(try extract(zip) + "/data/orders.csv").first { $0["id"] == "1" }?["question_text"]
        #expect(
            question
                == "call 05***67 or 0096***67 or (05***67 or ٠٥***٦٧ or 05***67; booked 2026-10-05 10:00 for 1500 SAR, order 123456",
            "\(question ?? "nil")")
    }
}

extension DSRTests {
    /// Issue 36: an erasure under a legal hold burnt its attempts and ended `failed`, and nothing
    /// took it up after the hold was released. It waits `held` now, its attempts untouched
    /// however often `dsr process` runs, and is erased by the first run after the release.
    @Test func aHeldErasureWaitsWithoutUsingAttemptsAndResumesOnRelease() throws {
        _ = try psql(
            "INSERT INTO public.legal_holds (subject, reason, placed_by) VALUES ('\(Self.subject)', 'court order', 'legal')"
        )
        let id = try approvedErasure()
        let before = try fingerprint()
        let first = try dsr(["process"])
        #expect(first.status == 0 && first.stdout.contains("erasure #\(id): held by legal hold #"), "\(first.stdout)")
        // Later runs leave it waiting, say so, and use none of its attempts.
        for _ in 0..<3 {
            let r = try dsr(["process"])
            #expect(r.status == 0 && r.stdout.contains("1 erasure(s) waiting on a legal hold: #\(id)"), "\(r.stdout)")
        }
        #expect(try psql("SELECT status, attempts FROM public.dsr_requests WHERE id = \(id)") == "held|0")
        #expect(try fingerprint() == before)
        #expect(try psql("SELECT count(*) FROM public.audit_log WHERE event = 'dsr_held'") == "1")
        let list = try dsr(["list"])
        #expect(list.stdout.contains("held"), "\(list.stdout)")
        _ = try psql("UPDATE public.legal_holds SET released_at = now()")
        let resumed = try dsr(["process"])
        #expect(
            resumed.status == 0 && resumed.stdout.contains("erasure #\(id): done"),
            "\(resumed.stdout) \(resumed.stderr)")
        #expect(try psql("SELECT status, attempts FROM public.dsr_requests WHERE id = \(id)") == "done|1")
        #expect(try fingerprint() != before)
    }
}

extension DSRTests {
    /// Issue 36: an export ZIP made before the subject's erasure survived it and could still be
    /// downloaded. The erasure deletes it from the store and the registry, the proof counts it,
    /// and a download says why it is gone.
    @Test func anErasureDeletesTheSubjectsEarlierExports() throws {
        let export = try approvedExport()
        #expect(try dsr(["process"]).status == 0)
        let key = try psql("SELECT storage_key FROM public.batch_artifacts WHERE kind = 'dsr-export'")
        #expect(stored(key))
        let erase = try approvedErasure()
        let r = try dsr(["process"])
        #expect(r.status == 0 && r.stdout.contains("erasure #\(erase): done"), "\(r.stdout) \(r.stderr)")
        #expect(!stored(key), "the export ZIP is still in the store")
        #expect(try psql("SELECT count(*) FROM public.batch_artifacts WHERE kind = 'dsr-export'") == "0")
        #expect(try psql("SELECT plan->>'earlierExports' FROM public.dsr_erasures") == "1")
        let download = try dsr(["download", export, "--out", dir + "/late.zip"])
        #expect(
            download.status == 65 && download.stderr.contains("export deleted by erasure #\(erase)"),
            "\(download.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/late.zip"))
    }
}

extension DSRTests {
    /// Issue 36: the payment receipt printed with a retained tax invoice was the subject's own
    /// media row, referenced only from invoices.meta, and the erasure deleted it and its object
    /// while keeping the invoice. With invoices.receipt_media_id (migration 0017) it is kept, as
    /// the invoice's PDF is.
    @Test func anErasureKeepsTheReceiptOfARetainedInvoice() throws {
        let key = "invoices/2026/10/SAMIA-2026-000001-receipt.pdf"
        _ = try psql(
            """
            INSERT INTO public.media_assets (id, owner_id, kind, url, bytes)
            VALUES (107, '\(Self.subject)', 'pdf', '\(key)', 7);
            UPDATE public.invoices SET receipt_media_id = 107,
                   meta = meta || jsonb_build_object('receipt_media_id', 107) WHERE number = 'SAMIA-2026-000001'
            """)
        try FileManager.default.createDirectory(
            atPath: ((dir + "/storage/" + key) as NSString).deletingLastPathComponent, withIntermediateDirectories: true
        )
        try Data("receipt".utf8).write(to: URL(fileURLWithPath: dir + "/storage/" + key))
        let id = try approvedErasure()
        let r = try dsr(["process"])
        #expect(r.status == 0 && r.stdout.contains("erasure #\(id): done"), "\(r.stdout) \(r.stderr)")
        #expect(try psql("SELECT count(*) FROM public.media_assets WHERE id = 107") == "1")
        #expect(stored(key), "the retained invoice's receipt was deleted from the store")
        #expect(
            try psql(
                "SELECT plan->'tables' @> '[{\"table\": \"media_assets\", \"keptBy\": [\"invoices.receipt_media_id\"]}]' FROM public.dsr_erasures"
            ) == "t")
    }
}

extension DSRTests {
    /// Issue 36, point 1: a key in a JSON column's data that the map declares neither personal
    /// nor not personal (a passport number in an analytics event, a tax id deep in a webhook
    /// payload that `strip` would have kept) stops `datamap check` and the erasure with 65,
    /// naming table, column and key; nothing is erased. Keys under a key already declared
    /// personal (`billing_details.line9`) need no entry.
    @Test func aJSONKeyTheMapDoesNotDeclareStopsTheErasure() throws {
        let id = try approvedErasure()
        _ = try psql(
            """
            INSERT INTO public.events_raw (occurred_at, event, props)
              VALUES ('2026-10-03 10:00Z', 'order_created', '{"ms": 3, "passport_no": "X1234567"}');
            INSERT INTO public.payment_events (provider, event_type, payload, signature_valid)
              VALUES ('stripe', 'charge.updated', '{"id": "pi_A1", "data": {"object": {"tax_id": "DE123456789",
                      "billing_details": {"line9": "Somewhere 1"}}}}', true);
            """)
        let before = try fingerprint()
        let check = try CLI.run(["datamap", "check"], database: config, env: env)
        #expect(check.status == 65, "\(check.status) \(check.stderr)")
        for key in ["events_raw.props: passport_no", "payment_events.payload: data.object.tax_id"] {
            #expect(check.stderr.contains(key), "\(key): \(check.stderr)")
        }
        #expect(!check.stderr.contains("line9") && !check.stderr.contains("X1234567"))
        #expect(check.stderr.contains("events_raw.props: passport_no looks like identifier"))
        // `dsr process` reads the paths the triggers noted as the rows were written (migration 0032).
        #expect(
            try psql(
                "SELECT string_agg(path, ',' ORDER BY path) FROM private.samia_json_key_paths WHERE path LIKE '%tax_id' OR path = 'passport_no'"
            )
                == "data.object.tax_id,passport_no")
        let r = try dsr(["process"])
        #expect(r.status == 65 && r.stderr.contains("events_raw.props: passport_no"), "\(r.status) \(r.stderr)")
        #expect(try fingerprint() == before)
        #expect(try psql("SELECT status FROM public.dsr_requests WHERE id = \(id)") == "approved")
        #expect(try psql("SELECT count(*) FROM public.events_raw WHERE actor_hash IS NULL") == "1")
        // Declared, the same data passes and the erasure runs.
        let map = try String(
            contentsOf: TestCluster.repositoryRoot.appendingPathComponent("policy/data-map.yaml"), encoding: .utf8
        )
        .replacingOccurrences(of: "props: [amount_minor,", with: "props: [passport_no, amount_minor,")
        .replacingOccurrences(of: "payload: [id, object,", with: "payload: [tax_id, id, object,")
        try map.write(toFile: dir + "/data-map.yaml", atomically: true, encoding: .utf8)
        let declared = try dsr(["process"], env: ["SAMIA_DATA_MAP": dir + "/data-map.yaml"])
        #expect(declared.status == 0, "\(declared.stderr)")
    }

    /// Issue 36, point 4: values under JSON keys declared personal were masked only where they
    /// looked like an email or a phone: another person's name in the subject's payment webhook
    /// reached the export as written. Each string or number under a personal key is masked now
    /// unless it is the subject's own (their name, email, phone stay), and the rest of the
    /// document is untouched. The masks ran over the document's text, so a phone-like JSON
    /// number (a webhook's `created` timestamp) became `17***00` and the export failed.
    @Test func valuesUnderPersonalJSONKeysAreMaskedUnlessTheyAreTheSubjects() throws {
        _ = try psql(
            """
            INSERT INTO public.payment_events (provider, event_type, payload, signature_valid)
              VALUES ('stripe', 'charge.dispute.created', '{"id": "pi_A1", "amount": 11500, "created": 1733600000, "data": {"object": {
                      "customer_name": "Zed Quill", "metadata": {"gift_for": "Nora Vale", "seat": 4},
                      "outcome": [{"seller_message": "call\\n0501234567 or x.y@example.org", "risk_level": "normal"}],
                      "billing_details": {"name": "Amira Haddad", "email": "zed.quill@example.net",
                                          "phone": 4915123456789}}}}', true);
            """)
        let id = try approvedExport()
        #expect(try dsr(["process"]).status == 0)
        let zip = dir + "/json-keys.zip"
        #expect(try dsr(["download", id, "--out", zip]).status == 0)
        let path = try extract(zip) + "/data/payment_events.json"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        // Free text deep in a list under keys that are not personal, after an escaped newline:
        // still found (the quick check reads the strings as they are, not the document's text).
        for other in ["Zed Quill", "Nora Vale", "zed.quill@example.net", "4915123456789", "0501234567", "x.y@example"] {
            #expect(!text.contains(other), "\(other) in \(text)")
        }
        let rows =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [[String: Any]]
        let dispute =
            rows?.first { $0["event_type"] as? String == "charge.dispute.created" }?["payload"] as? [String: Any]
        let object = (dispute?["data"] as? [String: Any])?["object"] as? [String: Any]
        #expect(object?["customer_name"] as? String == "Z***")
        #expect((object?["billing_details"] as? [String: Any])?["name"] as? String == "Amira Haddad")
        #expect(((object?["billing_details"] as? [String: Any])?["email"] as? String)?.hasPrefix("ze***@") == true)
        #expect(dispute?["amount"] as? Int == 11500 && dispute?["id"] as? String == "pi_A1")
        // A number outside the personal keys stays a number (the text patterns made it `17***00`).
        #expect(dispute?["created"] as? Int == 1_733_600_000)
        let outcome = (object?["outcome"] as? [[String: Any]])?.first
        #expect(outcome?["seller_message"] as? String == "call\n05***67 or x.***@example.org")
        #expect(outcome?["risk_level"] as? String == "normal")
    }
}

extension DSRTests {
    /// Found sweeping the demo's export (issue 36, point 4): the subject's own invoice snapshots
    /// reached them garbled, their numbers (`SAMIA-20***02`) and the seller's VAT number
    /// (`30***03`) masked as if they were other people's phones, and document numbers and UUIDs
    /// in free text were masked the same way. A document issued to the subject is exported as
    /// issued now, and digits that continue a document number or id are not a phone.
    @Test func theSubjectsOwnDocumentsAndDocumentNumbersAreNotMasked() throws {
        let snapshot = """
            {"number": "SAMIA-2026-000102", "seller": {"vat_number": "300000000000003", "email": "billing@samia.example"},
             "buyer": {"name": "Amira Haddad", "email": "amira@example.com"}}
            """
        _ = try psql(
            """
            UPDATE public.invoices SET meta = '\(snapshot)' WHERE number = 'SAMIA-2026-000001';
            UPDATE public.orders SET question_text = 'about SAMIA-2026-000102, INV/20260001234 and aaaaaaaa-0000-4000-8000-000000000003; call 0501234567'
             WHERE id = 1;
            """)
        let id = try approvedExport()
        #expect(try dsr(["process"]).status == 0)
        let zip = dir + "/documents.zip"
        #expect(try dsr(["download", id, "--out", zip]).status == 0)
        let out = try extract(zip)
        let question = try csv(out + "/data/orders.csv").first { $0["id"] == "1" }?["question_text"]
        #expect(
            question
                == "about SAMIA-2026-000102, INV/20260001234 and aaaaaaaa-0000-4000-8000-000000000003; call 05***67",
            "\(question ?? "nil")")
        let meta = try csv(out + "/data/invoices.csv").first?["meta"]
        #expect(try psql("SELECT '\(meta ?? "")'::jsonb = '\(snapshot)'::jsonb") == "t", "\(meta ?? "nil")")
    }

    /// A `document` column is exported unmasked, so the map may give the category only where
    /// every row reached is the subject's own: 78 naming the table otherwise.
    @Test func aDocumentColumnOthersCouldReachIsRefused() throws {
        let map = try String(
            contentsOf: TestCluster.repositoryRoot.appendingPathComponent("policy/data-map.yaml"), encoding: .utf8
        ).replacingOccurrences(
            of: "    personal: { question_text: free_text }", with: "    personal: { question_text: document }")
        try map.write(toFile: dir + "/data-map.yaml", atomically: true, encoding: .utf8)
        let r = try CLI.run(
            ["datamap", "check"], database: config, env: env.merging(["SAMIA_DATA_MAP": dir + "/data-map.yaml"]) { $1 })
        #expect(
            r.status == 78 && r.stderr.contains("table orders: question_text: a document is exported as issued"),
            "\(r.stderr)")
    }
}

extension DSRTests {
    /// Issue 36, point 3: a request recorded only when it was typed in (its month started late),
    /// and was approved without any record of who the requester was shown to be. Now it is filed
    /// with when it was received (the deadline runs from there; a future time is refused), and
    /// approval waits for the identity check: method, evidence reference and verifier, audited.
    @Test func aRequestRunsFromReceiptAndIsApprovedOnlyOnceTheRequesterIsVerified() throws {
        let future = try dsr(["request", "export", "--subject", Self.subject, "--received-at", "2999-01-01T00:00:00Z"])
        #expect(future.status == 65 && future.stderr.contains("in the future"), "\(future.stderr)")
        let badMethod = try dsr([
            "request", "export", "--subject", Self.subject, "--identity", "vibes", "--evidence", "x",
        ])
        #expect(badMethod.status == 64 && badMethod.stderr.contains("account_session"), "\(badMethod.stderr)")
        let badTime = try dsr(["request", "export", "--subject", Self.subject, "--received-at", "2026-02-30T09:00:00Z"])
        #expect(badTime.status == 64 && badTime.stderr.contains("--received-at"), "\(badTime.stderr)")
        #expect(try psql("SELECT count(*) FROM public.dsr_requests") == "0")

        let received = try psql("SELECT to_char(now() - interval '9 days', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') ")
        let filed = try dsr(["request", "export", "--subject", Self.subject, "--received-at", received])
        #expect(filed.status == 0 && filed.stdout.contains("identity: NOT VERIFIED"), "\(filed.stdout) \(filed.stderr)")
        let id = try psql("SELECT max(id) FROM public.dsr_requests")
        #expect(
            try psql(
                "SELECT due_at = received_at + interval '1 month' AND received_at < requested_at - interval '8 days' FROM public.dsr_requests WHERE id = \(id)"
            )
                == "t")
        let early = try dsr(["approve", id, "--by", "dpo-2"])
        #expect(early.status == 65 && early.stderr.contains("dsr verify \(id)"), "\(early.stderr)")
        #expect(try psql("SELECT status FROM public.dsr_requests WHERE id = \(id)") == "requested")

        let verify = try dsr(["verify", id, "--method", "email_challenge", "--evidence", "SUP-4411", "--by", "agent-7"])
        #expect(
            verify.status == 0 && verify.stdout.contains("identity: email_challenge, evidence SUP-4411"),
            "\(verify.stdout)")
        #expect(try dsr(["verify", id, "--method", "in_person", "--evidence", "x"]).status == 65)
        #expect(try dsr(["approve", id, "--by", "dpo-2"]).status == 0)
        #expect(
            try psql(
                "SELECT meta->>'method' || ' ' || (meta->>'evidence') || ' ' || (meta->>'by') FROM public.audit_log WHERE event = 'dsr_identity_verified'"
            ) == "email_challenge SUP-4411 agent-7")
    }

    /// Issue 36, point 3: an extension within the first month prints the notice the subject must
    /// be sent, in English and Arabic, with the request, its receipt, the new deadline and the
    /// reason; the same figures in both.
    @Test func anExtensionPrintsTheSubjectsNoticeInEnglishAndArabic() throws {
        #expect(
            try dsr(
                ["request", "erase", "--subject", Self.subject, "--received-at", "2026-12-01T09:00:00Z"] + Self.verified
            ).status == 0)
        let id = try psql("SELECT max(id) FROM public.dsr_requests")
        let r = try dsr(["extend", id, "--months", "2", "--reason", "many requests this month"])
        if try psql("SELECT now() > '2027-01-01T09:00:00Z'::timestamptz") == "t" {
            #expect(r.status == 65, "past its first month, the extension is refused")
            return
        }
        #expect(r.status == 0, "\(r.stderr)")
        let deadline = try psql(
            "SELECT to_char(extended_until AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM public.dsr_requests WHERE id = \(id)")
        #expect(deadline == "2027-03-01")
        let parts = r.stdout.components(separatedBy: "\nArabic:\n")
        #expect(parts.count == 2)
        let english = parts.first ?? ""
        let arabic = parts.last ?? ""
        for text in [english, arabic] {
            #expect(text.contains("#\(id)") && text.contains("2026-12-01") && text.contains(deadline))
            #expect(text.contains("many requests this month"))
        }
        #expect(english.contains("request to erase your personal data") && english.contains("by 2 month(s)"))
        #expect(arabic.contains("طلبك محو بياناتك الشخصية") && arabic.contains("المادة 12(4)"))
    }
}

extension DSRTests {
    /// Issue 36, point 3: rectification, restriction and objection had no place in the register.
    /// They are filed with what the subject asks, run on the same one-month clock, are left
    /// alone by `dsr process` (people carry them out), and are closed with what was done and a
    /// reference to its evidence; export and erasure cannot be closed by hand.
    @Test func rectifyRestrictAndObjectAreTrackedWithDeadlinesAndEvidence() throws {
        let bare = try dsr(["request", "rectify", "--subject", Self.subject] + Self.verified)
        #expect(bare.status == 64 && bare.stderr.contains("--details"), "\(bare.stderr)")
        var ids: [String] = []
        for kind in ["rectify", "restrict", "object"] {
            let r = try dsr(
                ["request", kind, "--subject", Self.subject, "--details", "\(kind): as asked in SUP-9"] + Self.verified)
            #expect(r.status == 0 && r.stdout.contains("asks: \(kind): as asked in SUP-9"), "\(r.stderr)")
            ids.append(try psql("SELECT max(id) FROM public.dsr_requests"))
            #expect(try dsr(["approve", ids.last!, "--by", "dpo-2"]).status == 0)
        }
        #expect(try psql("SELECT bool_and(due_at = received_at + interval '1 month') FROM public.dsr_requests") == "t")
        #expect(try dsr(["process"]).status == 0)
        #expect(
            try psql("SELECT string_agg(status, ',' ORDER BY id) FROM public.dsr_requests")
                == "approved,approved,approved")
        let listed = try dsr(["list"])
        for (id, kind) in zip(ids, ["rectify", "restrict", "object"]) {
            #expect(listed.stdout.contains("\(id)\t\(kind)\tapproved\t"), "\(listed.stdout)")
        }

        let done = try dsr([
            "complete", ids[0], "--outcome", "last name corrected", "--evidence", "CHG-77", "--by", "agent-3",
        ])
        #expect(done.status == 0 && done.stdout.contains("done: last name corrected (evidence CHG-77, by agent-3)"))
        #expect(
            try psql("SELECT status, outcome_evidence, completed_by FROM public.dsr_requests WHERE id = \(ids[0])")
                == "done|CHG-77|agent-3")
        #expect(try dsr(["complete", ids[0], "--outcome", "again", "--evidence", "x"]).status == 65)
        let objection = try dsr(["reject", ids[2], "--reason", "compelling legitimate grounds: fraud prevention"])
        #expect(objection.status == 0)

        _ = try approvedExport()
        let export = try psql("SELECT max(id) FROM public.dsr_requests")
        let byHand = try dsr(["complete", export, "--outcome", "sent", "--evidence", "x"])
        #expect(byHand.status == 65 && byHand.stderr.contains("dsr process"), "\(byHand.stderr)")
        #expect(
            try psql(
                "SELECT string_agg(event, ',' ORDER BY id) FROM public.audit_log WHERE entity_id = '\(ids[0])' AND entity = 'dsr_requests'"
            )
                == "dsr_rectify_requested,dsr_identity_verified,dsr_approved,dsr_completed")
    }

    /// Issue 36, point 3: Art. 19 notices. A finished erasure owes a notice to every processor
    /// and recipient of the data map whose tables held the subject's data (here all four); `dsr notices` lists them and exits 1 while any is not
    /// recorded, `dsr notify` records each once (who, when, evidence), audited. Unknown
    /// recipients, a second record and notices for an export are refused.
    @Test func anErasureOwesArt19NoticesToEveryRecipient() throws {
        let id = try approvedErasure()
        #expect(try dsr(["process"]).status == 0)
        let before = try dsr(["notices", id])
        #expect(
            before.status == 1 && before.stdout.contains("0 of 4 recipient(s) told"),
            "\(before.stdout) \(before.stderr)")
        for key in ["hosting", "messaging", "payment_providers"] {
            #expect(
                try dsr(["notify", id, "--recipient", key, "--evidence", "MSG-\(key)", "--by", "dpo-2"]).status == 0)
        }
        let unknown = try dsr(["notify", id, "--recipient", "printer", "--evidence", "x"])
        #expect(unknown.status == 65 && unknown.stderr.contains("readers"), "\(unknown.stderr)")
        #expect(try dsr(["notify", id, "--recipient", "hosting", "--evidence", "again"]).status == 65)
        let three = try dsr(["notices", id])
        #expect(three.status == 1 && three.stdout.contains("readers\trecipient\tNOT TOLD"))
        #expect(try dsr(["notify", id, "--recipient", "readers", "--evidence", "MSG-r"]).status == 0)
        let all = try dsr(["notices", id])
        #expect(
            all.status == 0 && all.stdout.contains("4 of 4 recipient(s) told")
                && all.stdout.contains("evidence MSG-hosting"))
        #expect(try psql("SELECT count(*) FROM public.audit_log WHERE event = 'dsr_recipient_notified'") == "4")
        let export = try approvedExport()
        let wrong = try dsr(["notices", export])
        #expect(wrong.status == 65 && wrong.stderr.contains("Art. 19"), "\(wrong.stderr)")
    }

    /// A recipient none of whose tables held the subject's data is owed no notice: every
    /// recipient was listed, and telling one that never had the data tells it of the subject.
    /// For an erasure the recorded plan says which tables held rows (they are gone after it);
    /// for a rectification, the rows as they are.
    @Test func onlyRecipientsThatHeldTheSubjectsDataAreOwedANotice() throws {
        _ = try psql(
            """
            DELETE FROM public.notif_log WHERE user_id = '\(Self.subject)';
            DELETE FROM public.phone_verifications WHERE profile_id = '\(Self.subject)';
            """)
        let id = try approvedErasure()
        #expect(try dsr(["process"]).status == 0)
        let erased = try dsr(["notices", id])
        #expect(erased.status == 1 && erased.stdout.contains("0 of 3 recipient(s) told"), "\(erased.stdout)")
        #expect(erased.stdout.contains("messaging\tprocessor\tnone owed"), "\(erased.stdout)")
        for key in ["hosting", "payment_providers", "readers"] {
            #expect(try dsr(["notify", id, "--recipient", key, "--evidence", "MSG-\(key)"]).status == 0)
        }
        let all = try dsr(["notices", id])
        #expect(all.status == 0 && all.stdout.contains("3 of 3 recipient(s) told"), "\(all.stdout)")

        let other = try psql(
            "SELECT p.id FROM public.profiles p WHERE p.id <> '\(Self.subject)' AND NOT EXISTS (SELECT 1 FROM public.orders o WHERE o.user_id = p.id OR o.assigned_reader = p.id) AND NOT EXISTS (SELECT 1 FROM public.media_assets m WHERE m.owner_id = p.id) LIMIT 1"
        )
        #expect(!other.isEmpty)
        #expect(
            try dsr(["request", "rectify", "--subject", other, "--details", "name"] + Self.verified).status == 0)
        let rectify = try psql("SELECT max(id) FROM public.dsr_requests")
        #expect(try dsr(["approve", rectify, "--by", "dpo-2"]).status == 0)
        #expect(try dsr(["complete", rectify, "--outcome", "corrected", "--evidence", "CHG-1"]).status == 0)
        let rectified = try dsr(["notices", rectify])
        #expect(rectified.stdout.contains("readers\trecipient\tnone owed"), "\(rectified.stdout)")
    }

    /// The map's `recipients` name mapped tables and a known kind: 78 otherwise.
    @Test func aRecipientOfUnmappedTablesIsRefused() throws {
        let map = try String(
            contentsOf: TestCluster.repositoryRoot.appendingPathComponent("policy/data-map.yaml"), encoding: .utf8
        ).replacingOccurrences(of: "tables: [notif_log, phone_verifications]", with: "tables: [notif_log, newsletter]")
        try map.write(toFile: dir + "/data-map.yaml", atomically: true, encoding: .utf8)
        let r = try CLI.run(
            ["datamap", "check"], database: config, env: env.merging(["SAMIA_DATA_MAP": dir + "/data-map.yaml"]) { $1 })
        #expect(
            r.status == 78 && r.stderr.contains("recipients.messaging: newsletter is not a mapped table"), "\(r.stderr)"
        )
    }
}

extension DSRTests {
    /// The registry misses keys written while triggers do not fire (a restore or bulk load with
    /// `session_replication_role = replica`); `datamap check` reads the documents themselves
    /// (as the nightly retention does) and finds them.
    @Test func keysWrittenWhileTriggersDidNotFireAreFoundByTheCheck() throws {
        _ = try psql(
            """
            SET session_replication_role = replica;
            INSERT INTO public.events_raw (occurred_at, event, props) VALUES ('2026-10-03 10:00Z', 'x', '{"nickname": "Zed"}');
            """)
        #expect(try psql("SELECT count(*) FROM private.samia_json_key_paths WHERE path = 'nickname'") == "0")
        let check = try CLI.run(["datamap", "check"], database: config, env: env)
        #expect(check.status == 65 && check.stderr.contains("events_raw.props: nickname"), "\(check.stderr)")
    }
}
