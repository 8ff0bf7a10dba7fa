import Foundation
import Postgres
import TestSupport
import Testing

/// Issue 36, point 4, on the demo's data: one client's whole export is swept for every other
/// person's email and phone from the seed, after the client's own rows were made to mention
/// twenty of them in the ways people write contacts (with or without `+` or `00`, grouped by
/// spaces or dashes, in Arabic-Indic digits) and a payment webhook of theirs names others under
/// personal JSON keys. None is found; the planted text itself is there, masked.
@Suite("DSR export masking swept over the seed")
struct DSRMaskingSweepTests {
    static let verified = DSRTests.verified
    @Test func noOtherSubjectsEmailOrPhoneIsInTheExport() throws {
        let db = try TestCluster.shared().freshDatabase()
        let dir = NSTemporaryDirectory() + "samia-sweep-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/storage", withIntermediateDirectories: true)
        let seeded = try CLI.run(["dev", "seed", "--scale", "1", "--seed", "42"], database: db)
        #expect(seeded.status == 0, "\(seeded.stderr)")
        let psql = { (sql: String) in try SQL.psql(db.conninfo, sql) }
        let subject = try psql(
            "SELECT user_id FROM public.orders WHERE question_text IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
        )
        let others = try psql(
            "SELECT lower(email) || '|' || phone || '|' || first_name || ' ' || last_name FROM public.profiles WHERE id <> '\(subject)' AND email IS NOT NULL AND phone IS NOT NULL ORDER BY id"
        ).split(separator: "\n").map { $0.split(separator: "|").map(String.init) }
        #expect(others.count > 900)
        try plant(others: Array(others.prefix(20)), subject: subject, psql: psql)
        #expect(try CLI.run(["keygen", "--out", dir + "/signing.key"]).status == 0)
        try Data((0..<32).map { UInt8($0) }).write(to: URL(fileURLWithPath: dir + "/passphrase.key"))
        try Data("demo-salt".utf8).write(to: URL(fileURLWithPath: dir + "/actor.salt"))
        let env = [
            "SAMIA_SIGNING_KEY_FILE": dir + "/signing.key", "SAMIA_STORAGE_DIR": dir + "/storage",
            "SAMIA_DPO_CONTACT": "privacy@samia.example", "SAMIA_DSR_PASSPHRASE_KEY_FILE": dir + "/passphrase.key",
            "SAMIA_ACTOR_SALT_FILE": dir + "/actor.salt", "USER": "dpo-test",
        ]
        let dsr = { (args: [String]) in try CLI.run(["dsr"] + args, database: db, env: env) }
        #expect(try dsr(["request", "export", "--subject", subject] + Self.verified).status == 0)
        let id = try psql("SELECT max(id) FROM public.dsr_requests")
        #expect(try dsr(["approve", id, "--by", "dpo-approver"]).status == 0)
        let processed = try dsr(["process"])
        #expect(processed.status == 0, "\(processed.stderr)")
        #expect(try dsr(["download", id, "--out", dir + "/export.zip"]).status == 0)
        let text = try exportText(dir + "/export.zip", into: dir + "/x")
        #expect(text.contains("***@") && text.contains("contact"), "the planted text is in the export, masked")
        let digits = Self.joinedDigits(text)
        for other in others {
            #expect(!text.contains(other[0]), "\(other[0]) in the export")
            #expect(!digits.contains(String(other[1].filter(\.isNumber))), "\(other[1]) in the export")
        }
        for other in others.prefix(20) { #expect(!text.contains(other[2]), "\(other[2]) in the export") }
    }

    /// The subject's orders mention others' contacts in five ways; a webhook of their payment
    /// names others under personal keys.
    private func plant(others: [[String]], subject: String, psql: (String) throws -> String) throws {
        let arabic = { (s: String) in
            String(s.map { c in c.wholeNumberValue.map { Character(UnicodeScalar(0x0660 + $0)!) } ?? c })
        }
        for (i, other) in others.enumerated() {
            let phone = other[1]
            let written = [
                phone, String(phone.dropFirst()), "00" + phone.dropFirst(),
                String(phone.dropFirst()).enumerated().map { $0.offset % 3 == 2 ? "\($0.element) " : "\($0.element)" }
                    .joined(),
                arabic(String(phone.dropFirst())),
            ][i % 5]
            _ = try psql(
                """
                UPDATE public.orders SET question_text = coalesce(question_text, '') || ' contact ' || '\(other[0].uppercased())'
                       || ' or ' || '\(written)'
                 WHERE id = (SELECT id FROM public.orders WHERE user_id = '\(subject)' ORDER BY id OFFSET \(i) LIMIT 1)
                """)
        }
        _ = try psql(
            """
            INSERT INTO public.payment_events (provider, event_type, payload, signature_valid)
            SELECT 'stripe', 'charge.dispute.created', jsonb_build_object('id', pi.provider_intent_id, 'data',
                   jsonb_build_object('object', jsonb_build_object('customer_name', '\(others[0][2])',
                     'billing_details', jsonb_build_object('name', '\(others[1][2])', 'email', '\(others[1][0])')))), true
              FROM public.payment_intents pi JOIN public.orders o ON o.id = pi.order_id
             WHERE o.user_id = '\(subject)' ORDER BY pi.id LIMIT 1
            """)
    }

    /// Every text file of the ZIP, lower-cased where the emails are compared.
    private func exportText(_ zip: String, into out: String) throws -> String {
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let r = try Shell.run("/usr/bin/bsdtar", ["-xf", zip, "-C", out])
        #expect(r.status == 0, "\(r.stderr)")
        var text = ""
        for name in try FileManager.default.subpathsOfDirectory(atPath: out)
        where name.hasSuffix(".csv") || name.hasSuffix(".json") || name.hasSuffix(".txt") {
            text += try String(contentsOfFile: out + "/" + name, encoding: .utf8) + "\n"
        }
        return text.lowercased()
    }

    /// Digits (Arabic-Indic ones as ASCII) with the spaces, dashes, dots and brackets between
    /// them removed: a phone written in groups reads as one run.
    static func joinedDigits(_ text: String) -> String {
        var out = ""
        var pendingSeparator = false
        for c in text {
            if let d = c.wholeNumberValue, c.isNumber {
                out += String(d)
                pendingSeparator = false
            } else if " ().-+".contains(c), !pendingSeparator, out.last?.isNumber == true {
                pendingSeparator = true
            } else {
                if !(out.last == " ") { out += " " }
                pendingSeparator = false
            }
        }
        return out
    }
}
