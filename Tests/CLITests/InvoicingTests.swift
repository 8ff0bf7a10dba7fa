import Foundation
import Postgres
import TestSupport
import Testing

/// The invoicing pipeline as finance runs it: the real binary, a real PostgreSQL, files on disk,
/// and the PDFs read back by poppler, qpdf and zbar.
@Suite("Invoicing pipeline", .serialized)
struct InvoicingTests {
    let storage: String
    let config: ConnectionConfiguration

    init() throws {
        storage = NSTemporaryDirectory() + "samia-storage-\(UUID().uuidString)"
        config = try TestCluster.shared().freshDatabase()
    }

    var env: [String: String] {
        SellerEnvironment.all.merging(["SAMIA_STORAGE_DIR": storage]) { $1 }
    }

    func load(orders: Int) throws { try Self.loadFixture(orders: orders, into: config) }

    /// The hand-checkable invoicing fixture (Fixtures/invoicing.sql) with `orders` paid orders.
    static func loadFixture(orders: Int, into config: ConnectionConfiguration) throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "Fixtures/invoicing.sql"
        ).path
        let r = try Shell.run(
            "/usr/bin/psql",
            ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", "orders=\(orders)", "-d", config.conninfo, "-f", fixture])
        #expect(r.status == 0, "\(r.stderr)")
    }

    func psql(_ sql: String) throws -> String { try SQL.psql(config.conninfo, sql) }

    @Test func issuesGaplessInvoicesAndCreditNotesWithRealPDFs() throws {
        try load(orders: 6)
        let run = try CLI.run(["invoices"], database: config, env: env)
        #expect(run.status == 0, "\(run.stderr)")
        let year = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: Date()).year!
        let numbers = try psql("SELECT string_agg(number, ',' ORDER BY number) FROM invoices")
        #expect(numbers == (1...6).map { String(format: "SAMIA-\(year)-%06d", $0) }.joined(separator: ","))
        #expect(
            try psql(
                "SELECT count(*) FROM invoices WHERE payment_intent_id IN (SELECT id FROM payment_intents WHERE status <> 'succeeded')"
            ) == "0")
        #expect(try psql("SELECT number FROM credit_notes") == "SAMIA-CN-\(year)-000001")
        // Totals add up exactly and the VAT follows the buyer's country (SA 15 %, KW 0 %, DE 19 %).
        #expect(try psql("SELECT count(*) FROM invoices WHERE subtotal_cents + vat_cents <> total_cents") == "0")
        #expect(try psql("SELECT DISTINCT vat_cents FROM invoices WHERE currency = 'SAR'") == "1500")
        #expect(try psql("SELECT DISTINCT vat_cents FROM invoices WHERE currency = 'KWD'") == "0")
        #expect(
            try psql("SELECT DISTINCT subtotal_cents || '/' || vat_cents FROM invoices WHERE currency = 'EUR'")
                == "2520/479")
        #expect(try psql("SELECT amount_cents || '/' || vat_cents FROM credit_notes") == "1250/0")
        // The figures per rate as issued, for the journal (issue 35): one rate here, the totals.
        #expect(
            try psql(
                "SELECT count(*) FROM invoices WHERE meta->'vat_by_rate' IS DISTINCT FROM jsonb_build_array(jsonb_build_object('rate', meta#>>'{document,lines,0,vat_rate}', 'net_minor', subtotal_cents, 'vat_minor', vat_cents))"
            ) == "0")
        #expect(
            try psql(
                #"SELECT meta->'vat_by_rate' = '[{"rate": "0", "net_minor": 1250, "vat_minor": 0}]' FROM credit_notes"#)
                == "t")

        // Every document has its PDF where the platform expects it, with the recorded hash.
        let media = try psql(
            "SELECT string_agg(url || ' ' || sha256 || ' ' || bytes, E'\\n' ORDER BY url) FROM media_assets WHERE kind = 'pdf'"
        )
        let lines = media.split(separator: "\n")
        #expect(lines.count == 6 * 2 + 1)
        for line in lines {
            let parts = line.split(separator: " ")
            let path = storage + "/" + parts[0]
            #expect(parts[0].hasPrefix("invoices/\(year)/"))
            let data = try #require(FileManager.default.contents(atPath: path))
            #expect(String(data.count) == parts[2])
            let check = try Shell.run("/usr/bin/qpdf", ["--check", path])
            #expect(check.status == 0, "\(path): \(check.stdout)")
        }
        #expect(
            try psql("SELECT count(*) FROM audit_log WHERE event IN ('invoice_issued', 'credit_note_issued')") == "7")

        // The Saudi invoice: Arabic text, the Allah ligature, and the ZATCA QR with the exact TLV.
        let saKey = try psql(
            "SELECT m.url FROM invoices i JOIN media_assets m ON m.id = i.pdf_media_id WHERE i.currency = 'SAR' ORDER BY i.id LIMIT 1"
        )
        let saPDF = storage + "/" + saKey
        let text = try PDFText.extract(saPDF)
        for expected in [
            "عبد الله الحربي", "فاتورة ضريبية مبسطة", "رقم الفاتورة", "شركة سامية للقراءات", "Simplified Tax Invoice",
            "Invoice number", "115.00 SAR", "15.00 SAR", "abdullah@example.com",
        ] {
            #expect(text.contains(expected), "missing \(expected)")
        }
        let png = storage + "/qr"
        #expect(try Shell.run("/usr/bin/pdftoppm", ["-r", "150", "-png", "-singlefile", saPDF, png]).status == 0)
        let qr = try Shell.run("/usr/bin/zbarimg", ["-q", "--raw", png + ".png"])
        let payload = qr.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let tlv = try #require(Data(base64Encoded: payload))
        var fields: [UInt8: String] = [:]
        var i = 0
        let bytes = [UInt8](tlv)
        while i + 2 <= bytes.count {
            let tag = bytes[i]
            let length = Int(bytes[i + 1])
            fields[tag] = String(decoding: bytes[(i + 2)..<(i + 2 + length)], as: UTF8.self)
            i += 2 + length
        }
        #expect(fields[1] == "شركة سامية للقراءات")
        #expect(fields[2] == "310122393500003")
        #expect(fields[4] == "115.00")
        #expect(fields[5] == "15.00")
        #expect(fields[3]?.hasSuffix("Z") == true)

        // The KWD credit note keeps three decimals and references the original invoice.
        let cnKey = try psql("SELECT m.url FROM credit_notes c JOIN media_assets m ON m.id = c.pdf_media_id")
        let cnText = try PDFText.extract(storage + "/" + cnKey)
        let original = try psql(
            "SELECT i.number FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id")
        for expected in [original, "1.250 KWD", "3.750 KWD", "2.500 KWD", "Credit Note", "إشعار دائن"] {
            #expect(cnText.contains(expected), "credit note is missing \(expected)")
        }

        // Re-running is a no-op.
        let again = try CLI.run(["invoices"], database: config, env: env)
        #expect(again.status == 0)
        #expect(try psql("SELECT count(*) FROM invoices") == "6")
        #expect(try psql("SELECT count(*) FROM media_assets WHERE kind = 'pdf'") == "13")

        // A lost object is rendered again to the identical bytes.
        let before = try #require(FileManager.default.contents(atPath: saPDF))
        try FileManager.default.removeItem(atPath: saPDF)
        let restore = try CLI.run(["invoices"], database: config, env: env)
        #expect(restore.status == 0, "\(restore.stderr)")
        #expect(FileManager.default.contents(atPath: saPDF) == before)
        #expect(try psql("SELECT meta->>'identical' FROM audit_log WHERE event = 'document_pdf_restored'") == "true")

        // A run checks the last INVOICE_PDF_CHECK_DAYS days only; --check-all-pdfs checks all.
        _ = try psql("UPDATE invoices SET created_at = now() - interval '30 days'")
        try FileManager.default.removeItem(atPath: saPDF)
        let recent = try CLI.run(["invoices"], database: config, env: env)
        #expect(recent.status == 0 && recent.stdout.contains("pdfs_restored=0"), "\(recent.stdout)")
        #expect(!FileManager.default.fileExists(atPath: saPDF))
        let longer = try CLI.run(
            ["invoices"], database: config, env: env.merging(["INVOICE_PDF_CHECK_DAYS": "31"]) { $1 })
        #expect(longer.stdout.contains("pdfs_restored=1"), "\(longer.stdout)")
        #expect(FileManager.default.contents(atPath: saPDF) == before)
        try FileManager.default.removeItem(atPath: saPDF)
        let all = try CLI.run(["invoices", "--check-all-pdfs"], database: config, env: env)
        #expect(all.status == 0 && all.stdout.contains("pdfs_restored=1"), "\(all.stdout)")
        #expect(FileManager.default.contents(atPath: saPDF) == before)
        let bad = try CLI.run(["invoices"], database: config, env: env.merging(["INVOICE_PDF_CHECK_DAYS": "0"]) { $1 })
        #expect(bad.status == 78 && bad.stderr.contains("INVOICE_PDF_CHECK_DAYS=0"), "\(bad.stderr)")
    }

    @Test func fourWorkersAndACrashLeaveNoGapAndNoDuplicate() throws {
        try load(orders: 40)
        // A worker is killed after taking its 3rd number, before committing (its audit row is
        // the last statement of the number's transaction).
        let crashed = try CrashPoint(
            config, table: "audit_log", timing: "AFTER INSERT",
            condition: "NEW.event = 'invoice_issued' AND NEW.meta->>'number' LIKE '%-000003'"
        ).crash(["invoices"], database: config, env: env)
        #expect(crashed.status == 128 + SIGKILL, "the crash did not happen: \(crashed.stderr)")
        #expect(try psql("SELECT count(*) FROM invoices") == "2")
        // Then four workers at once share the rest.
        let workers = try (0..<4).map { _ in try CLI.start(["invoices"], database: config, env: env) }
        for r in workers.map({ $0.wait() }) { #expect(r.status == 0, "\(r.stderr)") }
        // A run after the crash finishes the work.
        #expect(try CLI.run(["invoices"], database: config, env: env).status == 0)
        let year = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: Date()).year!
        #expect(try psql("SELECT count(*) FROM invoices") == "40")
        #expect(
            try psql("SELECT string_agg(number, ',' ORDER BY number) FROM invoices")
                == (1...40).map { String(format: "SAMIA-\(year)-%06d", $0) }.joined(separator: ","))
        #expect(try psql("SELECT count(DISTINCT payment_intent_id) FROM invoices") == "40")
        // The runs' counts add up: a payment another worker numbered first is not counted twice
        // (the crashed run's 2 committed invoices are in no finished run's stats).
        #expect(
            try psql(
                "SELECT sum((stats->>'invoices_issued')::int) FROM batch_runs WHERE job = 'invoices' AND status = 'succeeded'"
            ) == "38")
        #expect(try psql("SELECT last_value FROM document_sequences WHERE series = 'invoice'") == "40")
        #expect(try psql("SELECT count(*) FROM invoices WHERE pdf_media_id IS NULL") == "0")
        // Each invoice's receipt is a real reference (migration 0017), the same as in meta.
        #expect(
            try psql(
                "SELECT count(*) FROM invoices WHERE receipt_media_id IS NULL OR receipt_media_id <> (meta->>'receipt_media_id')::bigint"
            ) == "0")
    }

    @Test func aCrashAfterStoringBeforeRecordingIsRepaired() throws {
        try load(orders: 3)
        // Killed with the 2nd invoice's PDF in storage and its media row not yet written.
        let crashed = try CrashPoint(
            config, table: "media_assets", timing: "BEFORE INSERT", condition: "NEW.url LIKE '%-000002.pdf'"
        ).crash(["invoices"], database: config, env: env)
        #expect(crashed.status == 128 + SIGKILL, "the crash did not happen: \(crashed.stderr)")
        #expect(try psql("SELECT count(*) FROM invoices WHERE pdf_media_id IS NULL") == "2")
        #expect(try CLI.run(["invoices"], database: config, env: env).status == 0)
        #expect(try psql("SELECT count(*) FROM invoices WHERE pdf_media_id IS NULL") == "0")
        // 3 invoices + 3 receipts + 1 credit note.
        #expect(try psql("SELECT count(*) FROM media_assets WHERE kind = 'pdf'") == "7")
    }

    @Test func missingSettingsAndBadDataAreReported() throws {
        try load(orders: 3)
        var partial = env
        partial["INVOICE_VAT_NUMBER"] = nil
        let r = try CLI.run(["invoices"], database: config, env: partial)
        #expect(r.status == 78)
        #expect(r.stderr.contains("INVOICE_VAT_NUMBER"))
        #expect(try psql("SELECT count(*) FROM invoices") == "0")

        // A payment in a currency we do not know fails alone; the others are issued; exit 1.
        _ = try psql(
            "UPDATE payment_intents SET currency = 'XYZ' WHERE id = (SELECT min(id) FROM payment_intents WHERE status = 'succeeded')"
        )
        let run = try CLI.run(["invoices"], database: config, env: env)
        #expect(run.status == 1)
        #expect(try psql("SELECT count(*) FROM invoices") == "2")
        #expect(
            try psql("SELECT source || ':' || (error LIKE '%XYZ%') FROM document_failures") == "payment_intent:true")
        #expect(try psql("SELECT last_value FROM document_sequences WHERE series = 'invoice'") == "2")

        // Dry run counts and changes nothing.
        let dry = try CLI.run(["invoices", "--dry-run"], database: config, env: env)
        #expect(dry.status == 0)
        #expect(dry.stdout.contains("would issue 1 invoice(s)"))
        #expect(try psql("SELECT count(*) FROM invoices") == "2")
    }
}

extension InvoicingTests {
    /// No document is dated before its supply: a run numbers what was paid by its clock. The
    /// demo replays a month night by night with `SAMIA_NOW`, which a database without the dev
    /// marker refuses (78) before numbering anything: backdated invoices are never real ones.
    @Test func aReplayNumbersOnlyWhatWasPaidByThenAndOnlyOnADevDatabase() throws {
        try load(orders: 6)
        let replay = env.merging(["SAMIA_NOW": "2026-11-01T13:30:00Z"]) { $1 }
        let night = try CLI.run(["invoices"], database: config, env: replay)
        #expect(night.status == 0, "\(night.stderr)")
        // Orders 1-3 were paid at 11:01, 12:01 and 13:01; the refund is later still.
        #expect(try psql("SELECT count(*) FROM invoices") == "3")
        #expect(try psql("SELECT DISTINCT created_at AT TIME ZONE 'UTC' FROM invoices") == "2026-11-01 13:30:00")
        #expect(try psql("SELECT count(*) FROM credit_notes") == "0")
        #expect(try CLI.run(["invoices"], database: config, env: env).status == 0)
        #expect(try psql("SELECT count(*) FROM invoices") == "6")
        #expect(try psql("SELECT count(*) FROM credit_notes") == "1")

        _ = try psql("DELETE FROM samia_dev.marker")
        _ = try psql(
            "INSERT INTO payment_intents (order_id, provider, provider_intent_id, amount_cents, currency, status, updated_at) SELECT min(id), 'stripe', 'pi_late', 500, 'SAR', 'succeeded', '2026-11-01 09:00Z' FROM orders"
        )
        let refused = try CLI.run(["invoices"], database: config, env: replay)
        #expect(refused.status == 78 && refused.stderr.contains("dev database only"), "\(refused.stderr)")
        #expect(try psql("SELECT count(*) FROM invoices") == "6")
    }
}

extension InvoicingTests {
    /// An amount near the limit is invoiced exactly (the VAT code trapped on it, exit 132, and the
    /// run stayed `running`); one past it fails alone with the field named, and the others are
    /// invoiced: the run ends 1 with the count.
    @Test func aHugeOrderFailsAloneAndANearLimitOneIsExact() throws {
        try load(orders: 3)
        _ = try psql(
            """
            INSERT INTO payment_intents (order_id, provider, provider_intent_id, amount_cents, currency, status, updated_at)
            SELECT o.id, 'stripe', 'pi_' || v.tag, v.amount, 'SAR', 'succeeded', now() - interval '1 hour'
              FROM (SELECT min(id) AS id FROM orders WHERE user_id = '00000000-0000-0000-0000-0000000000a1') o,
                   (VALUES ('near', 999999999999999::bigint), ('huge', 9000000000000000000::bigint)) v(tag, amount)
            """)
        let run = try CLI.run(["invoices"], database: config, env: env)
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains("1 failed"), "\(run.stderr)")
        #expect(try psql("SELECT count(*) FROM invoices") == "4")
        #expect(
            try psql(
                "SELECT subtotal_cents || '/' || vat_cents FROM invoices i JOIN payment_intents p ON p.id = i.payment_intent_id WHERE p.provider_intent_id = 'pi_near'"
            ) == "869565217391303/130434782608696")
        #expect(try psql("SELECT error FROM document_failures").contains("too large"))
        #expect(try psql("SELECT status FROM batch_runs") == "partial")
    }
}

extension InvoicingTests {
    /// A buyer whose name no installed font can draw is refused before a number is taken: the
    /// others are numbered without a gap, and the failure names the field and the character.
    @Test func anUndrawableNameIsRefusedBeforeItIsNumbered() throws {
        try load(orders: 6)
        _ = try psql("UPDATE profiles SET first_name = 'Layla 🫨' WHERE id = '00000000-0000-0000-0000-0000000000a2'")
        let run = try CLI.run(["invoices"], database: config, env: env)
        #expect(run.status == 1, "\(run.stderr)")
        #expect(try psql("SELECT count(*) FROM invoices") == "4")
        #expect(try psql("SELECT max(substr(number, 12)::int) FROM invoices") == "4", "gapless")
        #expect(try psql("SELECT count(*) FROM invoices WHERE pdf_media_id IS NULL") == "0")
        let failures = try psql("SELECT string_agg(error, ' | ') FROM document_failures")
        #expect(failures.contains("buyer.name") && failures.contains("U+1FAE8"), "\(failures)")
    }
}

extension InvoicingTests {
    /// Tamper evidence (issue 34): a stored PDF whose bytes changed after the fact is reported,
    /// audited and left as it is (never silently rendered over), and the run fails; what a
    /// killed writer left half-written is removed before work, a live writer's file is not.
    @Test func anAlteredPDFIsReportedNotOverwrittenAndStaleTemporariesGo() throws {
        try load(orders: 3)
        #expect(try CLI.run(["invoices"], database: config, env: env).status == 0)
        let key = try psql(
            "SELECT m.url FROM invoices i JOIN media_assets m ON m.id = i.pdf_media_id ORDER BY i.id LIMIT 1")
        let path = storage + "/" + key
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes.append(contentsOf: Array("% a quiet edit\n".utf8))
        try bytes.write(to: URL(fileURLWithPath: path))
        let folder = (path as NSString).deletingLastPathComponent
        let stale = folder + "/SAMIA-2026-999999.pdf.tmp-999999-1"
        let live = folder + "/SAMIA-2026-999998.pdf.tmp-\(getpid())-2"
        for file in [stale, live] { try Data("half".utf8).write(to: URL(fileURLWithPath: file)) }

        for arguments in [["invoices"], ["invoices", "--check-all-pdfs"]] {
            let run = try CLI.run(arguments, database: config, env: env)
            #expect(run.status == 1, "\(arguments): \(run.stderr)")
            #expect(run.stderr.contains("document_pdf_altered"), "\(run.stderr)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == bytes, "the altered file is evidence: kept")
        }
        #expect(try psql("SELECT count(*) FROM audit_log WHERE event = 'document_pdf_altered'") == "2")
        #expect(!FileManager.default.fileExists(atPath: stale))
        #expect(FileManager.default.fileExists(atPath: live))
    }
}

extension InvoicingTests {
    /// Partial credit notes that together credit a whole invoice credit exactly its VAT (each
    /// rounded on its own drifted by a minor unit), and each prints the invoice's own value,
    /// what was credited before, and what remains.
    @Test func partialCreditNotesAddUpToTheInvoicesVAT() throws {
        try load(orders: 3)
        #expect(try CLI.run(["invoices"], database: config, env: env).status == 0)
        let payment = try psql(
            "SELECT pi.id FROM payment_intents pi JOIN invoices i ON i.payment_intent_id = pi.id WHERE pi.currency = 'SAR'"
        )
        _ = try psql(
            """
            INSERT INTO refunds (order_id, payment_intent_id, provider_refund_id, amount_cents, currency, reason, status, created_at)
            SELECT pi.order_id, pi.id, 're_part_' || v.n, v.amount, 'SAR', 'partial', 'succeeded', now() - interval '1 minute'
              FROM payment_intents pi, (VALUES (1, 3333), (2, 3333), (3, 4834)) v(n, amount) WHERE pi.id = \(payment)
             ORDER BY v.n
            """)
        #expect(try CLI.run(["invoices"], database: config, env: env).status == 0)
        let notes = try psql(
            "SELECT string_agg(c.vat_cents::text, ',' ORDER BY c.id) FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id WHERE i.payment_intent_id = \(payment)"
        )
        #expect(notes == "435,434,631", "\(notes)")
        #expect(
            try psql("SELECT vat_cents FROM invoices WHERE payment_intent_id = \(payment)")
                == "1500")
        let second = try psql(
            "SELECT m.url FROM credit_notes c JOIN media_assets m ON m.id = c.pdf_media_id JOIN refunds r ON r.id = c.refund_id WHERE r.provider_refund_id = 're_part_2'"
        )
        let text = try Shell.run("/usr/bin/pdftotext", ["-layout", storage + "/" + second, "-"]).stdout
        #expect(text.contains("Original value") && text.contains("115.00"), "\(text)")
        #expect(text.contains("Credited before") && text.contains("33.33"), "\(text)")
        #expect(text.contains("48.34"), "what remains after this note: \(text)")
    }
}
