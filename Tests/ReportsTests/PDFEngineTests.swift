import Foundation
import Reports
import TestSupport
import Testing

@Suite("PDF engine and invoice documents")
struct PDFEngineTests {
    static let dir: String = {
        let d = NSTemporaryDirectory() + "samia-pdf-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()

    static func examples() -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("templates").path
    }

    static func renderer() throws -> InvoiceRenderer {
        try InvoiceRenderer(
            fonts: FontSet(), labels: Labels(directory: examples() + "/locales"),
            iccProfile: PDFRenderer.loadICCProfile())
    }

    static func example(_ name: String) throws -> InvoiceDocument {
        let path = examples() + "/examples/\(name).json"
        return try InvoiceDocument.parse(try Data(contentsOf: URL(fileURLWithPath: path)), source: path)
    }

    static func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let path = dir + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func zatcaPublicTestVector() throws {
        let payload = try ZATCAQRCode.payload(
            sellerName: "Bobs Records", vatNumber: "310122393500003", timestamp: "2022-04-25T15:30:00Z",
            total: "1000.00", vatTotal: "150.00")
        #expect(
            payload
                == "AQxCb2JzIFJlY29yZHMCDzMxMDEyMjM5MzUwMDAwMwMUMjAyMi0wNC0yNVQxNTozMDowMFoEBzEwMDAuMDAFBjE1MC4wMA==")
    }

    @Test func moneyIsExactInEveryExponent() throws {
        #expect(Currency.decimal(1250, exponent: 3) == "1.250")
        #expect(Currency.display(123_456_789, exponent: 2) == "1,234,567.89")
        #expect(Currency.decimal(5, exponent: 0) == "5")
        #expect(throws: InvoiceError.self) { try InvoiceTotals.parse("1.2345", exponent: 3, field: "x") }
        #expect(try InvoiceTotals.parse("0.5", exponent: 3, field: "x") == 500)
        // Half up per line: 29.99 incl. 19 % → net 25.20 (25.2017), VAT 4.79; 0.05 incl. 15 % → 0.04 + 0.01.
        let rate19 = try #require(VATRate(percent: "19"))
        #expect(rate19.net(ofGross: 2999) == 2520)
        #expect(try #require(VATRate(percent: "15")).net(ofGross: 5) == 4)
        #expect(try #require(VATRate(percent: "7.5")).vat(onNet: 1) == 0)
        #expect(try #require(VATRate(percent: "7.5")).vat(onNet: 20) == 2)  // 1.5 rounds up
        #expect(VATRate(percent: "100.01") == nil)
        var doc = try Self.example("invoice")
        doc.lines = [
            .init(
                descriptionEn: "a", descriptionAr: "أ", quantity: 3, unitPrice: "0.335",
                vatRate: try #require(VATRate(percent: "5"))),
            .init(
                descriptionEn: "b", descriptionAr: "ب", quantity: 1, unitPrice: "1.001",
                vatRate: try #require(VATRate(percent: "10"))),
        ]
        doc.currency = "BHD"
        doc.accounting = .init(currency: "SAR", rate: "9.97", rateDate: "2026-11-19")
        doc.amountPaid = nil
        let totals = try InvoiceTotals(doc)
        #expect(totals.subtotal + totals.vat == totals.total)
        #expect(totals.total == 2006)
        #expect(totals.vatByRate.map(\.vat) == [48, 91])
        #expect(totals.vatInAccounting == 139)  // 0.139 BHD × 9.97 = 1.38583 → 1.39 SAR
    }

    @Test func invoiceReadsBackWithIndependentTools() throws {
        let renderer = try Self.renderer()
        let doc = try Self.example("invoice")
        let bytes = try renderer.render(doc)
        #expect(try renderer.render(doc) == bytes, "rendering is not deterministic")
        let path = try Self.write(bytes, "invoice.pdf")

        let check = try Shell.run("/usr/bin/qpdf", ["--check", path])
        #expect(check.status == 0, "\(check.stdout)")
        let fonts = try Shell.run("/usr/bin/pdffonts", [path])
        let rows = fonts.stdout.split(separator: "\n").dropFirst(2)
        #expect(rows.count == 4)
        for row in rows {
            let columns = row.split(separator: " ", omittingEmptySubsequences: true)
            #expect(columns[0].contains("+"), "not a subset: \(row)")
            #expect(row.contains("CID TrueType") && row.contains("Identity-H"))
            #expect(columns.suffix(5).prefix(3) == ["yes", "yes", "yes"], "not embedded/subset/unicode: \(row)")
        }

        let text = try PDFText.extract(path)
        let labels = try Labels(directory: Self.examples() + "/locales")
        // Every pure-Arabic and every English label printed must come back from the PDF.
        var keys = [
            "title_simplified_invoice", "invoice_number", "issue_date", "supply_date", "order_reference",
            "payment_reference", "buyer", "name", "email", "country", "description", "quantity", "unit_price",
            "vat_amount", "line_total", "subtotal", "total", "amount_paid", "includes_vat",
        ]
        keys.append("vat_number")
        for key in keys {
            #expect(text.contains(labels.en(key)), "English label \(key) not extracted")
            // A sentence's final full stop is a neutral: poppler moves it to the visual end (see docs/invoices.md).
            let arabic = labels.ar(key).trimmingCharacters(in: CharacterSet(charactersIn: "."))
            #expect(text.contains(arabic), "Arabic label \(key) not extracted")
        }
        for value in [
            doc.seller.nameEn, doc.seller.nameAr, doc.buyer.name, doc.buyer.email, doc.number,
            doc.lines[0].descriptionEn, doc.lines[0].descriptionAr, "115.00 SAR", "100.00 SAR",
        ] {
            #expect(text.contains(value), "\(value) not extracted")
        }

        // Arabic labels sit at the right margin, English ones at the left (word boxes from poppler).
        let bbox = try Shell.run("/usr/bin/pdftotext", ["-bbox", path, "-"]).stdout
        func xMax(of word: String) -> Double? {
            for line in bbox.split(separator: "\n") where line.hasSuffix(">\(word)</word>") {
                if let range = line.range(of: "xMax=\"") {
                    return Double(line[range.upperBound...].prefix { $0 != "\"" })
                }
            }
            return nil
        }
        func xMin(of word: String) -> Double? {
            for line in bbox.split(separator: "\n") where line.hasSuffix(">\(word)</word>") {
                if let range = line.range(of: "xMin=\"") {
                    return Double(line[range.upperBound...].prefix { $0 != "\"" })
                }
            }
            return nil
        }
        let right = Page.a4Width - 36
        // poppler lists right-to-left words in visual order.
        #expect(abs(try #require(xMax(of: String("رقم".reversed()))) - right) < 1.5, "Arabic label not right-aligned")
        #expect(abs(try #require(xMin(of: "Supply")) - 36) < 1.5, "English label not left-aligned")

        // The QR decodes to the ZATCA payload.
        let png = Self.dir + "/invoice"
        #expect(try Shell.run("/usr/bin/pdftoppm", ["-r", "150", "-png", "-singlefile", path, png]).status == 0)
        let qr = try Shell.run("/usr/bin/zbarimg", ["-q", "--raw", png + ".png"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(
            qr
                == (try ZATCAQRCode.payload(
                    sellerName: doc.seller.nameAr, vatNumber: doc.seller.vatNumber, timestamp: "2026-11-20T10:15:00Z",
                    total: "115.00", vatTotal: "15.00")))
    }

    /// Renderers keep laid-out labels and encoded font subsets between documents; the bytes must
    /// not depend on what was rendered before.
    @Test func cachedRenderingEqualsAFreshRenderer() throws {
        let invoice = try Self.example("invoice")
        let fresh = try Self.renderer().render(invoice)
        let warm = try Self.renderer()
        var other = invoice
        other.buyer.name = "Layla Haddad"
        other.lines[0].unitPrice = "987.65"
        for doc in [try Self.example("credit-note"), try Self.example("receipt"), other] { _ = try warm.render(doc) }
        #expect(try warm.render(invoice) == fresh)
        #expect(try warm.render(other) == (try Self.renderer().render(other)))
        #expect(try warm.render(other) != fresh)

        // Dictionaries travel in a compressed object stream with a cross-reference stream.
        let path = try Self.write(fresh, "cached.pdf")
        let xref = try Shell.run("/usr/bin/qpdf", ["--show-xref", path]).stdout
        #expect(xref.contains("compressed"), "no object stream: \(xref)")
    }

    @Test func shapingUsesHarfBuzzGlyphsAndLigatures() throws {
        let fonts = try FontSet()
        let typesetter = Typesetter(fonts: fonts)
        // Lam-alef is one glyph: fewer glyphs than characters, mapped to U+FEFB for extraction.
        let p = typesetter.layout("لا", width: 200, style: TextStyle(size: 12), direction: .rightToLeft)
        let glyphs = p.lines[0].runs.flatMap(\.glyphs)
        #expect(glyphs.count <= 2)
        #expect(glyphs.reversed().map(\.text).joined().precomposedStringWithCompatibilityMapping == "لا")
        // A Latin run inside an Arabic line falls back to the Latin face, and bidi puts it left.
        let mixed = typesetter.layout("ضريبة 15% VAT", width: 400, style: TextStyle(size: 12), direction: .rightToLeft)
        let runs = mixed.lines[0].runs
        #expect(runs.first?.text == "VAT" && runs.first?.face == 0 && runs.first?.rightToLeft == false)
        #expect(runs.contains { $0.text.hasPrefix("15") && $0.face == 0 && !$0.rightToLeft })
        #expect(runs.last?.text == "ضريبة " && runs.last?.face == 2 && runs.last?.rightToLeft == true)
        // Tanween is positioned as a mark above its base (a non-zero vertical offset).
        let marked = typesetter.layout("كتابًا", width: 200, style: TextStyle(size: 12), direction: .rightToLeft)
        #expect(marked.lines[0].runs.flatMap(\.glyphs).contains { $0.y != 0 })
        // Breaking at spaces: a narrow box gives several lines, each no wider than the box.
        let long = typesetter.layout(
            String(repeating: "قراءة الفنجان ", count: 8), width: 120, style: TextStyle(size: 12),
            direction: .rightToLeft)
        #expect(long.lines.count > 2)
        #expect(long.lines.allSatisfy { $0.width <= 120.01 })
        #expect(long.lines.allSatisfy { abs($0.x + $0.width - 120) < 0.01 }, "right-to-left lines are right-aligned")
    }

    @Test func allahLigatureAndBothDirectionsExtract() throws {
        let renderer = PDFRenderer(fonts: try FontSet(), iccProfile: nil)
        let typesetter = Typesetter(fonts: renderer.fonts)
        var page = Page()
        let strings = ["عبد الله", "فاتورة ضريبية مبسطة", "Tax invoice SAMIA-2026-000001"]
        for (i, s) in strings.enumerated() {
            let p = typesetter.layout(s, width: 300, style: TextStyle(size: 14), direction: .auto)
            page.items.append(.paragraph(p, x: 100, y: 60 + Double(i) * 40))
        }
        let bytes = try renderer.render(
            Document(title: "t", language: "ar", date: Date(timeIntervalSince1970: 0), pages: [page]))
        let path = try Self.write(bytes, "allah.pdf")
        let text = try PDFText.extract(path)
        for s in strings { #expect(text.contains(s), "\(s) not extracted: \(text)") }
    }

    @Test func badDocumentsNameTheField() throws {
        let renderer = try Self.renderer()
        var doc = try Self.example("invoice")
        doc.currency = "XXX"
        #expect(throws: InvoiceError.invalidField(field: "currency", reason: "unknown ISO 4217 currency \"XXX\"")) {
            try renderer.render(doc)
        }
        doc = try Self.example("invoice")
        doc.lines[0].unitPrice = "12.345"
        #expect(throws: InvoiceError.self) { try renderer.render(doc) }
        let bad = Data(#"{"kind": "invoice", "number": "X"}"#.utf8)
        #expect(throws: InvoiceError.badJSON(source: "doc.json", detail: "missing field issued_at")) {
            try InvoiceDocument.parse(bad, source: "doc.json")
        }
    }
}
