import Foundation
import Reports
import TestSupport
import Testing

/// The seller's registration and the buyer's on documents described in JSON (issue 34, point 8):
/// the number's format follows the scheme named, a business buyer in the EU is reverse charged,
/// and a seller not registered where the buyer is charges no VAT and issues no tax invoice.
@Suite("Tax schemes on documents")
struct TaxSchemeTests {
    static func refusal(_ doc: InvoiceDocument) throws -> String {
        do {
            _ = try PDFEngineTests.renderer().render(doc)
        } catch let error as InvoiceError {
            return "\(error)"
        }
        return "accepted"
    }

    static func text(_ doc: InvoiceDocument, _ name: String) throws -> String {
        try PDFText.extract(try PDFEngineTests.write(try PDFEngineTests.renderer().render(doc), name))
    }

    @Test func aNumberMustHaveItsSchemesFormat() throws {
        var doc = try PDFEngineTests.example("invoice")
        doc.seller.taxScheme = .uaeTRN
        #expect(try Self.refusal(doc).contains("seller.vat_number: \"310122393500003\" is not a UAE TRN"))
        doc.seller.taxScheme = .euOSS
        doc.seller.vatNumber = "EU12345"
        #expect(try Self.refusal(doc).contains("is not an OSS number"))
        doc.seller.vatNumber = "EU372000041"
        doc.buyer.country = "ES"
        doc.lines[0].vatRate = try #require(VATRate(percent: "21"))
        let text = try Self.text(doc, "oss.pdf")
        #expect(text.contains("VAT identification number (OSS): EU372000041"), "\(text)")
        #expect(text.contains("One-Stop Shop (OSS)"))
        #expect(!text.contains("Simplified"))
    }

    @Test func anEUBusinessBuyerIsReverseCharged() throws {
        var doc = try PDFEngineTests.example("invoice")
        doc.buyer = .init(
            name: "Muster GmbH", email: "ap@muster.example", country: "DE", vatNumber: "DE123456789",
            address: "Hauptstraße 1, 10115 Berlin")
        #expect(try Self.refusal(doc).contains("lines[0].vat_rate: 15% charged, but a supply to an EU business"))
        doc.lines[0].vatRate = try #require(VATRate(percent: "0"))
        let text = try Self.text(doc, "reverse-charge.pdf")
        for expected in ["Reverse charge: VAT to be accounted for by the customer", "DE123456789", "Hauptstraße 1"] {
            #expect(text.contains(expected), "missing \(expected): \(text)")
        }
        doc.buyer.vatNumber = "de 123"
        #expect(try Self.refusal(doc).contains("buyer.vat_number"))
    }

    @Test func aSellerNotRegisteredChargesNoVATAndIssuesNoTaxInvoice() throws {
        var doc = try PDFEngineTests.example("invoice")
        doc.seller.taxScheme = TaxScheme.none
        doc.seller.vatNumber = ""
        doc.buyer.country = "KW"
        #expect(try Self.refusal(doc).contains("not registered for VAT here"))
        doc.lines[0].vatRate = try #require(VATRate(percent: "0"))
        let text = try Self.text(doc, "unregistered.pdf")
        #expect(text.contains("The seller is not registered for VAT in the customer's country"), "\(text)")
        #expect(!text.contains("Tax Invoice") && !text.contains("VAT registration number"), "\(text)")
        // Without a scheme an empty number is still refused: no document silently loses its number.
        doc.seller.taxScheme = nil
        #expect(try Self.refusal(doc).contains("seller.vat_number"))
    }

    @Test func snapshotsWithoutASchemeRenderAsBefore() throws {
        // Documents stored before schemes existed carry the KSA number and no scheme: the same
        // bytes as when the scheme is named, so re-rendering a lost PDF gives its recorded hash.
        let doc = try PDFEngineTests.example("invoice")
        var named = doc
        named.seller.taxScheme = .ksaVAT
        #expect(try PDFEngineTests.renderer().render(doc) == PDFEngineTests.renderer().render(named))
        let json = String(decoding: try InvoiceDocument.encoder().encode(doc), as: UTF8.self)
        #expect(!json.contains("tax_scheme") && !json.contains("\"vat_number\":null"))
    }
}

extension TaxSchemeTests {
    /// ZATCA: a KSA tax invoice in another currency shows its VAT total in SAR, with the rate
    /// and its date; without them it is refused, naming the field.
    @Test func aForeignCurrencyKSAInvoiceStatesItsVATInSAR() throws {
        var doc = try PDFEngineTests.example("invoice")
        doc.currency = "USD"
        #expect(
            try Self.refusal(doc).contains(
                "field accounting: a KSA tax document in USD must state its VAT total in SAR"))
        doc.accounting = .init(currency: "SAR", rate: "3.7512345", rateDate: "2026-11-19")
        // 115.00 USD incl. 15 %: VAT 15.00 USD × 3.7512345 = 56.2685175 → 56.27 SAR.
        let totals = try InvoiceTotals(doc)
        #expect(totals.vat == 1500 && totals.vatInAccounting == 5627)
        let text = try Self.text(doc, "usd-ksa.pdf")
        #expect(text.contains("56.27 SAR"), "\(text)")
        #expect(text.contains("1 USD = 3.7512345 SAR, 2026-11-19"), "\(text)")
        for (field, change) in [
            ("accounting.rate", { (d: inout InvoiceDocument) in d.accounting?.rate = "3,75" }),
            ("accounting.rate", { (d: inout InvoiceDocument) in d.accounting?.rate = "0.0" }),
            ("accounting.rate_date", { (d: inout InvoiceDocument) in d.accounting?.rateDate = "2026-02-30" }),
            ("accounting.currency", { (d: inout InvoiceDocument) in d.accounting?.currency = "EUR" }),
        ] {
            var bad = doc
            change(&bad)
            #expect(try Self.refusal(bad).contains("field \(field):"), "\(field)")
        }
        // A receipt is not a tax document: no SAR figure needed.
        doc.kind = .receipt
        doc.accounting = nil
        #expect(try Self.refusal(doc) == "accepted")
    }
}
