import Foundation
import Reports
import Testing

/// VAT rounded per rate as EN 16931 BR-CO-17 rounds it, and credit notes that credit exactly
/// the per-rate figures of what they reverse.
@Suite("Invoice totals per VAT rate")
struct InvoiceTotalsTests {
    static func document(_ lines: [(String, String)], gross: Bool, kind: InvoiceDocument.Kind = .invoice) throws
        -> InvoiceDocument
    {
        var doc = try PDFEngineTests.example("invoice")
        doc.kind = kind
        doc.pricesIncludeVat = gross
        doc.amountPaid = nil
        doc.lines = try lines.enumerated().map { i, line in
            .init(
                descriptionEn: "line \(i)", descriptionAr: "بند", quantity: 1, unitPrice: line.0,
                vatRate: try #require(VATRate(percent: line.1)))
        }
        return doc
    }

    static func note(_ lines: [(String, String)], total: String, before: String?, byRate: [String: String]?) throws
        -> InvoiceDocument
    {
        var doc = try document(lines, gross: true, kind: .creditNote)
        doc.original = .init(
            number: "SAMIA-2026-000001", issuedAt: doc.issuedAt, total: total, creditedBefore: before,
            creditedBeforeByRate: byRate)
        return doc
    }

    @Test func vatIsRoundedOncePerRateNotPerLine() throws {
        // Net prices: three lines of 0.10 at 15 %. Per line 0.015 → 0.02 each (0.06); per rate
        // 0.30 × 15 % = 0.045 → 0.05.
        let net = try InvoiceTotals(Self.document([("0.10", "15"), ("0.10", "15"), ("0.10", "15")], gross: false))
        #expect(net.vat == 5)
        #expect(net.vatByRate.map(\.vat) == [5])
        #expect(net.vatByRate.map(\.net) == [30])
        #expect(net.lines.map(\.vat) == [2, 2, 1])
        #expect(net.total == 35)
        // VAT-inclusive prices: three lines of 0.05 at 15 %. Per line net 0.04 and VAT 0.01
        // (0.03); per rate 0.15 holds 0.13 net and 0.02 VAT.
        let gross = try InvoiceTotals(Self.document([("0.05", "15"), ("0.05", "15"), ("0.05", "15")], gross: true))
        #expect(gross.vat == 2)
        #expect(gross.subtotal == 13)
        #expect(gross.total == 15)
        #expect(gross.lines.map(\.vat).reduce(0, +) == 2)
        #expect(gross.lines.map { $0.net + $0.vat } == [5, 5, 5])
    }

    @Test func mixedRatesKeepTheirOwnBasesAndColumnsAddUp() throws {
        let lines = (0..<20).map { i in (i % 3 == 0 ? "1.99" : "0.33", i % 2 == 0 ? "5" : "15") }
        let totals = try InvoiceTotals(Self.document(lines, gross: false))
        for group in totals.vatByRate {
            let members = totals.lines.filter { $0.rate == group.rate }
            #expect(members.map(\.net).reduce(0, +) == group.net)
            #expect(members.map(\.vat).reduce(0, +) == group.vat)
            #expect(group.vat == group.rate.vat(onNet: group.net))
        }
        #expect(totals.subtotal + totals.vat == totals.total)
        #expect(totals.lines.map(\.gross).reduce(0, +) == totals.total)
    }

    @Test func partialNotesOfAMixedRateInvoiceCreditExactlyItsVATPerRate() throws {
        let invoice = try InvoiceTotals(Self.document([("100.00", "15"), ("50.00", "5")], gross: true))
        #expect(invoice.vatByRate.map(\.vat) == [238, 1304])
        let first = try InvoiceTotals(
            Self.note([("33.33", "15"), ("16.67", "5")], total: "150.00", before: nil, byRate: nil))
        let second = try InvoiceTotals(
            Self.note(
                [("66.67", "15"), ("33.33", "5")], total: "150.00", before: "50.00",
                byRate: ["15": "33.33", "5": "16.67"]))
        let credited = zip(first.vatByRate, second.vatByRate).map { $0.vat + $1.vat }
        #expect(credited == invoice.vatByRate.map(\.vat))
        #expect(first.total + second.total == invoice.total)
        // Without the split the second note cannot know what each rate already had credited.
        #expect(throws: InvoiceError.self) {
            try InvoiceTotals(
                Self.note([("66.67", "15"), ("33.33", "5")], total: "150.00", before: "50.00", byRate: nil))
        }
        // A split that does not add up to credited_before is refused, naming the field.
        do {
            _ = try InvoiceTotals(
                Self.note(
                    [("66.67", "15"), ("33.33", "5")], total: "150.00", before: "50.00",
                    byRate: ["15": "30.00", "5": "16.67"]))
            Issue.record("a split that does not add up was accepted")
        } catch let error as InvoiceError {
            #expect("\(error)".contains("original.credited_before_by_rate"))
        }
    }
}
