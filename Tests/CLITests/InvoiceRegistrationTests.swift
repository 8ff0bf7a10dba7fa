import Foundation
import TestSupport
import Testing

extension InvoicingTests {
    /// The seller's identity per market (issue 34, point 8): every invoice carried the Saudi VAT
    /// number, also a German consumer's charged 19 % German VAT. Now the number, its label, the
    /// QR code and the legal mention follow the registration that covers the buyer's country,
    /// and a country no registration covers is refused (78) while the others are invoiced.
    @Test func eachBuyerCountryIsInvoicedUnderItsOwnRegistration() throws {
        try load(orders: 6)
        _ = try psql(
            """
            INSERT INTO profiles (id, email, first_name, last_name, country) VALUES
              ('00000000-0000-0000-0000-0000000000b1', 'mariam@example.com', 'Mariam', 'Saeed', 'AE'),
              ('00000000-0000-0000-0000-0000000000b2', 'kenji@example.com', 'Kenji', 'Sato', 'JP');
            INSERT INTO orders (user_id, service_id, status, created_at)
            SELECT id, (SELECT min(id) FROM services), 'delivered', now() - interval '2 hours'
              FROM profiles WHERE country IN ('AE', 'JP');
            INSERT INTO payment_intents (order_id, provider, provider_intent_id, amount_cents, currency, status, created_at, updated_at)
            SELECT o.id, 'stripe', 'pi_' || p.country, 10500, 'AED', 'succeeded', o.created_at, o.created_at + interval '1 minute'
              FROM orders o JOIN profiles p ON p.id = o.user_id WHERE p.country IN ('AE', 'JP');
            """)
        // Japan has a rate (the fallback) but no registration.
        let run = try CLI.run(["invoices"], database: config, env: env.merging(["INVOICE_VAT_RATE": "10"]) { $1 })
        #expect(run.status == 78, "\(run.stderr)")
        #expect(run.stderr.contains("no seller registration covers buyer country JP"), "\(run.stderr)")
        #expect(try psql("SELECT count(*) FROM invoices") == "7")
        #expect(try psql("SELECT count(*) FROM invoices WHERE billing_country = 'JP'") == "0")
        #expect(try psql("SELECT source || ':' || (error LIKE '%JP%') FROM document_failures") == "payment_intent:true")
        #expect(
            try psql(
                "SELECT string_agg(DISTINCT billing_country || '=' || (meta->'document'->'seller'->>'tax_scheme'), ',') FROM invoices"
            ) == "AE=uae_trn,DE=eu_oss,KW=none,SA=ksa_vat")

        let ksa = "310122393500003"
        let de = try text(country: "DE")
        #expect(de.contains("VAT identification number (OSS): EU372000041"), "\(de)")
        #expect(de.contains("One-Stop Shop (OSS)") && !de.contains(ksa), "\(de)")
        let ae = try text(country: "AE")
        #expect(ae.contains("Tax Registration Number (TRN): 100000000000003") && !ae.contains(ksa), "\(ae)")
        let kw = try text(country: "KW")
        #expect(kw.contains("not registered for VAT in the customer's country") && !kw.contains(ksa), "\(kw)")
        #expect(!kw.contains("Tax Invoice") && !kw.contains("VAT registration number"), "\(kw)")
        #expect(try text(country: "SA").contains("VAT registration number: \(ksa)"))
        // The ZATCA QR vouches for the KSA number only: no QR on the others.
        #expect(try qrPayload(country: "SA").isEmpty == false)
        for country in ["DE", "AE", "KW"] { #expect(try qrPayload(country: country).isEmpty, "\(country)") }
        // The KWD credit note keeps its invoice's registration.
        #expect(try psql("SELECT meta->'document'->'seller'->>'tax_scheme' FROM credit_notes") == "none")
    }

    /// Mistakes in the registrations are refused before any work: the file's (65, naming the
    /// registration and field) and the environment's (78, naming the variable).
    @Test func registrationMistakesAreRefusedBeforeAnythingIsNumbered() throws {
        try load(orders: 3)
        let policy = try String(
            contentsOf: TestCluster.repositoryRoot.appendingPathComponent("policy/vat-rates.yaml"), encoding: .utf8)
        let cases: [(String, String, Int32, String)] = [
            ("number_env: INVOICE_UAE_TRN", "numbr_env: INVOICE_UAE_TRN", 65, "unknown key \"numbr_env\""),
            ("countries: [AE]", "countries: [AE, SA]", 65, "SA is also under"),
            ("countries: [KW, QA, US]", "countries: [KW, QA, US, OM]", 65, "OM is not registered"),
            ("scheme: uae_trn", "scheme: uae_vat", 65, "registrations.uae.scheme"),
        ]
        for (from, to, status, message) in cases {
            let path = storage + "-vat-rates.yaml"
            try policy.replacingOccurrences(of: from, with: to).write(toFile: path, atomically: true, encoding: .utf8)
            let r = try CLI.run(["invoices"], database: config, env: env.merging(["SAMIA_VAT_RATES": path]) { $1 })
            #expect(r.status == status, "\(to): \(r.stderr)")
            #expect(r.stderr.contains(message), "\(to): \(r.stderr)")
        }
        var unset = env
        unset["INVOICE_EU_OSS_NUMBER"] = nil
        let missing = try CLI.run(["invoices"], database: config, env: unset)
        #expect(
            missing.status == 78 && missing.stderr.contains("INVOICE_EU_OSS_NUMBER is not set"), "\(missing.stderr)")
        let typo = try CLI.run(
            ["invoices"], database: config, env: env.merging(["INVOICE_UAE_TRN": "10000000000003"]) { $1 })
        #expect(typo.status == 78 && typo.stderr.contains("is not a UAE TRN"), "\(typo.stderr)")
        #expect(try psql("SELECT count(*) FROM invoices") == "0")
    }

    /// The text of the first invoice billed to `country`.
    func text(country: String) throws -> String {
        try PDFText.extract(storage + "/" + pdfKey(country: country))
    }

    func pdfKey(country: String) throws -> String {
        try psql(
            "SELECT m.url FROM invoices i JOIN media_assets m ON m.id = i.pdf_media_id WHERE i.billing_country = '\(country)' ORDER BY i.id LIMIT 1"
        )
    }

    /// What zbar reads on the first page of that invoice ("" when there is no code).
    func qrPayload(country: String) throws -> String {
        let pdf = storage + "/" + (try pdfKey(country: country))
        let png = storage + "/qr-\(country)"
        _ = try Shell.run("/usr/bin/pdftoppm", ["-r", "150", "-png", "-singlefile", pdf, png])
        return try Shell.run("/usr/bin/zbarimg", ["-q", "--raw", png + ".png"]).stdout
    }
}

extension InvoicingTests {
    /// A Saudi buyer paying in USD: the invoice states its VAT in SAR at the rate finance loaded
    /// for the supply date (fx_rates); without a rate the document is refused (78, named), and
    /// the credit note restates its VAT at the invoice's rate.
    @Test func aKSAInvoiceInDollarsStatesItsVATInSARFromFxRates() throws {
        try load(orders: 3)
        _ = try psql(
            """
            UPDATE payment_intents SET currency = 'USD', amount_cents = 11500
             WHERE order_id IN (SELECT o.id FROM orders o JOIN profiles p ON p.id = o.user_id WHERE p.country = 'SA');
            INSERT INTO refunds (order_id, payment_intent_id, provider_refund_id, amount_cents, currency, reason, status)
            SELECT pi.order_id, pi.id, 're_usd', 4600, 'USD', 'goodwill', 'succeeded'
              FROM payment_intents pi WHERE pi.currency = 'USD' AND pi.status = 'succeeded' ORDER BY pi.id LIMIT 1;
            """)
        let refused = try CLI.run(["invoices"], database: config, env: env)
        #expect(refused.status == 78, "\(refused.stderr)")
        #expect(refused.stderr.contains("no SAR rate for USD in fx_rates"), "\(refused.stderr)")
        #expect(try psql("SELECT count(*) FROM invoices WHERE currency = 'USD'") == "0")
        // A rate older than a week before the supply does not count; the day's rate does.
        let supplied = try psql(
            "SELECT min((updated_at AT TIME ZONE 'UTC')::date) FROM payment_intents WHERE currency = 'USD' AND status = 'succeeded'"
        )
        _ = try psql(
            """
            INSERT INTO fx_rates (reporting_currency, currency, rate_date, rate) VALUES
              ('SAR', 'USD', '\(supplied)'::date - 30, 3.70), ('SAR', 'USD', '\(supplied)'::date, 3.7500)
            """)
        let run = try CLI.run(["invoices"], database: config, env: env)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(
            try psql(
                "SELECT DISTINCT meta->'document'->'accounting'->>'rate' || ' ' || (meta->'document'->'accounting'->>'rate_date' = '\(supplied)') FROM invoices WHERE currency = 'USD'"
            ) == "3.75 true")
        let text = try PDFText.extract(storage + "/" + (try pdfKey(country: "SA")))
        // 115.00 USD incl. 15 %: VAT 15.00 USD = 56.25 SAR.
        #expect(text.contains("56.25 SAR") && text.contains("1 USD = 3.75 SAR, \(supplied)"), "\(text)")
        // The credit note of 46.00 USD: VAT 6.00 USD = 22.50 SAR at the invoice's rate.
        #expect(
            try psql("SELECT meta->'document'->'accounting'->>'rate' FROM credit_notes WHERE currency = 'USD'")
                == "3.75")
        let note = try psql(
            "SELECT m.url FROM credit_notes c JOIN media_assets m ON m.id = c.pdf_media_id WHERE c.currency = 'USD'")
        #expect(try PDFText.extract(storage + "/" + note).contains("22.50 SAR"))
    }

    /// An invoice issued before SAR statements existed (its snapshot has no `accounting`): its
    /// credit note takes the SAR rate for the invoice's supply date from fx_rates, not the
    /// rate of the day the note is issued, and is not refused.
    @Test func aCreditNoteForAnOlderDollarInvoiceTakesTheSupplyDatesSARRate() throws {
        try load(orders: 3)
        _ = try psql(
            """
            UPDATE payment_intents SET currency = 'USD', amount_cents = 11500
             WHERE order_id IN (SELECT o.id FROM orders o JOIN profiles p ON p.id = o.user_id WHERE p.country = 'SA');
            """)
        let supplied = try psql(
            "SELECT min((updated_at AT TIME ZONE 'UTC')::date) FROM payment_intents WHERE currency = 'USD' AND status = 'succeeded'"
        )
        _ = try psql(
            "INSERT INTO fx_rates (reporting_currency, currency, rate_date, rate) VALUES ('SAR', 'USD', '\(supplied)', 3.75)"
        )
        #expect(try CLI.run(["invoices"], database: config, env: env).status == 0)
        // As an invoice of the previous release was stored, and a later rate loaded since.
        _ = try psql(
            """
            UPDATE invoices SET meta = meta #- '{document,accounting}' WHERE currency = 'USD';
            INSERT INTO fx_rates (reporting_currency, currency, rate_date, rate) VALUES ('SAR', 'USD', current_date, 3.90)
              ON CONFLICT DO NOTHING;
            INSERT INTO refunds (order_id, payment_intent_id, provider_refund_id, amount_cents, currency, reason, status)
            SELECT pi.order_id, pi.id, 're_old_usd', 4600, 'USD', 'goodwill', 'succeeded'
              FROM payment_intents pi WHERE pi.currency = 'USD' AND pi.status = 'succeeded' ORDER BY pi.id LIMIT 1;
            """)
        let run = try CLI.run(["invoices"], database: config, env: env)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(
            try psql(
                "SELECT (meta->'document'->'accounting'->>'rate') || ' ' || (meta->'document'->'accounting'->>'rate_date') FROM credit_notes WHERE currency = 'USD'"
            ) == "3.75 \(supplied)")
        #expect(try psql("SELECT count(*) FROM document_failures") == "0")
        let note = try psql(
            "SELECT m.url FROM credit_notes c JOIN media_assets m ON m.id = c.pdf_media_id WHERE c.currency = 'USD'")
        // 46.00 USD incl. 15 %: VAT 6.00 USD = 22.50 SAR at 3.75.
        #expect(try PDFText.extract(storage + "/" + note).contains("22.50 SAR"))
    }
}
