import Foundation

/// Lays out an invoice, receipt or credit note on one A4 page, every label in English and
/// Arabic, and renders it to PDF. Holds loaded fonts: create one per worker and reuse it.
public final class InvoiceRenderer {
    public let labels: Labels
    let typesetter: Typesetter
    let pdf: PDFRenderer

    public init(fonts: FontSet, labels: Labels, iccProfile: [UInt8]?) {
        self.labels = labels
        typesetter = Typesetter(fonts: fonts)
        pdf = PDFRenderer(fonts: fonts, iccProfile: iccProfile)
    }

    /// Renders to PDF bytes; the same document always gives the same bytes.
    public func render(_ doc: InvoiceDocument) throws -> [UInt8] {
        try pdf.render(try compose(doc))
    }

    // MARK: - Composition

    static let margin = 36.0
    static let width = Page.a4Width - 2 * margin
    static let grey = RGB(0.38, 0.38, 0.38)
    static let band = RGB(0.93, 0.94, 0.96)
    static let rule = RGB(0.75, 0.75, 0.78)

    /// The pages as positioned items, before PDF encoding (exposed for layout tests): seller
    /// header, title band, document facts and buyer on page 1; the line table flowing over as
    /// many pages as it needs, its header repeated on each; totals, statements and the ZATCA QR
    /// together on the last page; the footer on every page, and "Page N of M" (EN and AR) when
    /// there is more than one. Nothing is ever drawn below the content area: a row or the
    /// closing block that does not fit starts a new page.
    public func compose(_ doc: InvoiceDocument) throws -> Document {
        try validate(doc)
        let totals = try InvoiceTotals(doc)
        var pages = [Page()]
        var y = sellerHeader(&pages[0], doc, y: Self.margin)
        y = titleBand(&pages[0], doc, y: y)
        y = documentFacts(&pages[0], doc, y: y)
        y = buyerBlock(&pages[0], doc, y: y)
        y = lineTable(&pages, doc, totals: totals, y: y)
        try closingBlock(&pages, doc, totals: totals, y: y)
        for i in pages.indices {
            footer(&pages[i], doc)
            if pages.count > 1 { pageNumber(&pages[i], i + 1, of: pages.count) }
        }
        let titleKey = Self.titleKey(doc)
        return Document(
            title: "\(labels.en(titleKey)) \(doc.number)", language: "ar",
            subject: "\(labels.ar(titleKey)) \(doc.number)",
            author: doc.seller.nameEn, date: doc.issuedAt, pages: pages)
    }

    /// The lowest y content may reach: above the page number and the footer's rule.
    static var contentBottom: Double { Page.a4Height - margin - 36 }
    static let qrSize = 118.0

    /// A new page for what did not fit: the title band again and the document's number, so a
    /// page read alone still says which document it belongs to.
    private func continuationPage(_ pages: inout [Page], _ doc: InvoiceDocument) -> Double {
        pages.append(Page())
        let y = titleBand(&pages[pages.count - 1], doc, y: Self.margin)
        let key: String =
            switch doc.kind {
            case .invoice: "invoice_number"
            case .receipt: "receipt_number"
            case .creditNote: "credit_note_number"
            }
        return row(&pages[pages.count - 1], key: key, value: doc.number, y: y) + 8
    }

    /// Totals, statements and the QR code, kept together: laid out on a scratch page first, and
    /// on a new page when they would pass the content area.
    private func closingBlock(_ pages: inout [Page], _ doc: InvoiceDocument, totals: InvoiceTotals, y: Double) throws {
        func layout(at y: Double) throws -> (Page, Double) {
            var scratch = Page()
            var bottom = try totalsBlock(&scratch, doc, totals: totals, y: y)
            bottom = statements(&scratch, doc, y: bottom)
            let qr = Self.carriesQR(doc)
            if qr { bottom += 6 + Self.qrSize }
            try zatcaQR(&scratch, doc, totals: totals, y: bottom - (qr ? 6 + Self.qrSize : 0))
            return (scratch, bottom)
        }
        var (block, bottom) = try layout(at: y)
        if bottom > Self.contentBottom + 6 {
            let top = continuationPage(&pages, doc)
            (block, bottom) = try layout(at: top)
        }
        pages[pages.count - 1].items += block.items
    }

    /// "Page N of M" in English and Arabic, centred above the footer.
    private func pageNumber(_ page: inout Page, _ n: Int, of m: Int) {
        let text =
            labels.en("page_of", ["n": String(n), "m": String(m)]) + "  ·  "
            + labels.ar("page_of", ["n": String(n), "m": String(m)])
        _ = place(
            &page, text, x: Self.margin + Self.width / 2 - 110, y: Page.a4Height - Self.margin - 31, w: 220,
            style: Self.small, dir: .leftToRight, align: .center)
    }

    static var half: Double { width / 2 - 6 }
    static var rightX: Double { margin + width - half }
    static let small = TextStyle(size: 8.5, color: grey)

    static func titleKey(_ doc: InvoiceDocument) -> String {
        switch doc.kind {
        case .invoice:
            // A seller not registered where the buyer is issues no tax invoice; in KSA a buyer
            // without a VAT number gets ZATCA's simplified one.
            if doc.seller.scheme == TaxScheme.none { return "title_plain_invoice" }
            return doc.buyer.country == "SA" && (doc.buyer.vatNumber ?? "").isEmpty
                ? "title_simplified_invoice" : "title_invoice"
        case .receipt: return "title_receipt"
        case .creditNote: return "title_credit_note"
        }
    }

    /// The seller's names, addresses and VAT number, English left and Arabic right.
    private func sellerHeader(_ page: inout Page, _ doc: InvoiceDocument, y: Double) -> Double {
        let (m, half, rightX) = (Self.margin, Self.half, Self.rightX)
        let small = Self.small
        var y = y
        // Seller header.
        let titleStyle = TextStyle(size: 15)
        var left = y
        var right = y
        left = place(&page, doc.seller.nameEn, x: m, y: left, w: half, style: titleStyle, dir: .leftToRight, lang: "en")
        right = place(
            &page, doc.seller.nameAr, x: rightX, y: right, w: half, style: titleStyle, dir: .rightToLeft, lang: "ar")
        left = place(
            &page, doc.seller.addressEn, x: m, y: left + 2, w: half, style: small, dir: .leftToRight, lang: "en")
        right = place(
            &page, doc.seller.addressAr, x: rightX, y: right + 2, w: half, style: small, dir: .rightToLeft, lang: "ar")
        if let key = doc.seller.scheme?.labelKey {
            left = place(
                &page, labels.en(key) + ": " + doc.seller.vatNumber, x: m, y: left, w: half, style: small,
                dir: .leftToRight, lang: "en")
            right = place(
                &page, labels.ar(key) + ": " + doc.seller.vatNumber, x: rightX, y: right, w: half, style: small,
                dir: .rightToLeft, lang: "ar")
        }
        y = max(left, right) + 10

        return y
    }

    /// The document's title in both languages on a band.
    private func titleBand(_ page: inout Page, _ doc: InvoiceDocument, y: Double) -> Double {
        let (m, half, rightX) = (Self.margin, Self.half, Self.rightX)
        var y = y
        let titleKey = Self.titleKey(doc)
        // Title band.
        page.items.append(.rectangle(x: m, y: y, width: Self.width, height: 28, fill: Self.band))
        let bandStyle = TextStyle(size: 13, bold: true)
        _ = place(
            &page, labels.en(titleKey), x: m + 8, y: y + 5, w: half - 8, style: bandStyle, dir: .leftToRight, lang: "en"
        )
        _ = place(
            &page, labels.ar(titleKey), x: rightX, y: y + 3, w: half - 8, style: bandStyle, dir: .rightToLeft,
            lang: "ar")
        y += 38

        return y
    }

    /// Number, dates, references and, on a credit note, the invoice it corrects.
    private func documentFacts(_ page: inout Page, _ doc: InvoiceDocument, y: Double) -> Double {
        var y = y
        // Document facts.
        var facts: [(String, String)] = []
        switch doc.kind {
        case .invoice: facts.append(("invoice_number", doc.number))
        case .receipt: facts.append(("receipt_number", doc.number))
        case .creditNote: facts.append(("credit_note_number", doc.number))
        }
        facts.append(("issue_date", Self.timestamp(doc.issuedAt)))
        facts.append(("supply_date", Self.day(doc.suppliedAt)))
        facts.append(("order_reference", doc.orderReference))
        if let reference = doc.paymentReference { facts.append(("payment_reference", reference)) }
        if let original = doc.original {
            facts.append(("original_invoice", original.number))
            facts.append(("original_date", Self.day(original.issuedAt)))
        }
        for (key, value) in facts { y = row(&page, key: key, value: value, y: y) }
        y += 8

        return y
    }

    /// The buyer.
    private func buyerBlock(_ page: inout Page, _ doc: InvoiceDocument, y: Double) -> Double {
        var y = y
        // Buyer.
        y = heading(&page, key: "buyer", y: y)
        y = row(&page, key: "name", value: doc.buyer.name, y: y, valueDirection: .auto)
        y = row(&page, key: "email", value: doc.buyer.email, y: y)
        y = row(&page, key: "country", value: doc.buyer.country, y: y)
        if let address = doc.buyer.address, !address.isEmpty {
            y = row(&page, key: "address", value: address, y: y, valueDirection: .auto)
        }
        if let number = doc.buyer.vatNumber, !number.isEmpty { y = row(&page, key: "vat_number", value: number, y: y) }
        y += 10

        return y
    }

    static let columns: [(key: String, width: Double)] = [
        ("description", 200), ("quantity", 40), ("unit_price", 75), ("vat_rate", 48), ("vat_amount", 70),
        ("line_total", width - 200 - 40 - 75 - 48 - 70),
    ]

    /// The line table: a bilingual header band, then one row per line; a row that would pass
    /// the content area goes to a new page, under the header again.
    private func lineTable(_ pages: inout [Page], _ doc: InvoiceDocument, totals: InvoiceTotals, y: Double) -> Double {
        var y = tableHeader(&pages[pages.count - 1], y: y)
        var rowsOnPage = 0
        for (i, item) in doc.lines.enumerated() {
            var scratch = Page()
            var bottom = lineRow(&scratch, item, totals.lines[i], exponent: totals.exponent, y: y)
            if bottom > Self.contentBottom && rowsOnPage > 0 {
                y = continuationPage(&pages, doc)
                y = tableHeader(&pages[pages.count - 1], y: y)
                rowsOnPage = 0
                scratch = Page()
                bottom = lineRow(&scratch, item, totals.lines[i], exponent: totals.exponent, y: y)
            }
            pages[pages.count - 1].items += scratch.items
            rowsOnPage += 1
            y = bottom
        }
        return y + 6
    }

    /// The table's bilingual header band; returns the y below it.
    private func tableHeader(_ page: inout Page, y: Double) -> Double {
        let m = Self.margin
        let columns = Self.columns
        let headStyle = TextStyle(size: 8, color: Self.grey)
        var x = m
        var headBottom = y
        page.items.append(.rectangle(x: m, y: y, width: Self.width, height: 30, fill: Self.band))
        for (i, col) in columns.enumerated() {
            let align: TextAlignment = i == 0 ? .left : .center
            var cy = place(
                &page, labels.en(col.key), x: x + 4, y: y + 3, w: col.width - 8, style: headStyle, dir: .leftToRight,
                align: align, lang: "en")
            cy = place(
                &page, labels.ar(col.key), x: x + 4, y: cy, w: col.width - 8, style: headStyle, dir: .rightToLeft,
                align: i == 0 ? .right : .center, lang: "ar")
            headBottom = max(headBottom, cy)
            x += col.width
        }
        return max(headBottom, y + 30) + 4
    }

    /// One line of the table at `y`; returns the y below its rule.
    private func lineRow(
        _ page: inout Page, _ item: InvoiceDocument.LineItem, _ line: InvoiceTotals.Line, exponent: Int, y: Double
    ) -> Double {
        let m = Self.margin
        let columns = Self.columns
        func money(_ v: Int64) -> String { Currency.display(v, exponent: exponent) }
        let cell = TextStyle(size: 9)
        let unitShown = line.unitPrice
        var x = m
        var bottom = y
        var cy = place(
            &page, item.descriptionEn, x: x + 4, y: y, w: columns[0].width - 8, style: cell, dir: .leftToRight,
            lang: "en")
        cy = place(
            &page, item.descriptionAr, x: x + 4, y: cy, w: columns[0].width - 8, style: cell, dir: .rightToLeft,
            lang: "ar")
        bottom = max(bottom, cy)
        x += columns[0].width
        let values = [
            String(item.quantity), money(unitShown), item.vatRate.description + "%", money(line.vat),
            money(line.gross),
        ]
        for (k, value) in values.enumerated() {
            let w = columns[k + 1].width
            bottom = max(
                bottom, place(&page, value, x: x + 4, y: y, w: w - 8, style: cell, dir: .leftToRight, align: .right)
            )
            x += w
        }
        let ruleY = bottom + 3
        page.items.append(.rule(x1: m, y1: ruleY, x2: m + Self.width, y2: ruleY, width: 0.5, color: Self.rule))
        return ruleY + 4
    }

    /// Subtotal, VAT per rate, total, and what was paid or, on a credit note, corrected.
    private func totalsBlock(_ page: inout Page, _ doc: InvoiceDocument, totals: InvoiceTotals, y: Double) throws
        -> Double
    {
        var y = y
        let e = totals.exponent
        func money(_ v: Int64) -> String { Currency.display(v, exponent: e) }
        // Totals.
        let c = " " + doc.currency
        y = row(&page, key: "subtotal", value: money(totals.subtotal) + c, y: y)
        for group in totals.vatByRate {
            let rate = group.rate.description
            y = row(
                &page, en: labels.en("vat_at_rate", ["rate": rate]), ar: labels.ar("vat_at_rate", ["rate": rate]),
                value: money(group.vat) + c, y: y)
        }
        y = row(&page, key: "total", value: money(totals.total) + c, y: y, bold: true)
        if let accounting = doc.accounting, let converted = totals.vatInAccounting,
            let target = Currency.exponent(accounting.currency)
        {
            let restated = Currency.display(converted, exponent: target) + " " + accounting.currency
            y = row(&page, key: "vat_in_accounting_currency", value: restated, y: y)
            let rate = "1 \(doc.currency) = \(accounting.rate) \(accounting.currency), \(accounting.rateDate)"
            y = row(&page, key: "exchange_rate", value: rate, y: y)
        }
        switch doc.kind {
        case .invoice, .receipt:
            y = row(&page, key: "amount_paid", value: money(totals.amountPaid) + c, y: y, bold: doc.kind == .receipt)
        case .creditNote:
            guard let original = doc.original else { break }
            let originalTotal = try InvoiceTotals.parse(original.total, exponent: e, field: "original.total")
            let before =
                try original.creditedBefore.map {
                    try InvoiceTotals.parse($0, exponent: e, field: "original.credited_before")
                } ?? 0
            y += 4
            y = row(&page, key: "original_value", value: money(originalTotal) + c, y: y)
            if before > 0 { y = row(&page, key: "credited_before", value: money(before) + c, y: y) }
            y = row(&page, key: "corrected_value", value: money(originalTotal - before - totals.total) + c, y: y)
            y = row(&page, key: "difference", value: money(totals.total) + c, y: y, bold: true)
            y = row(&page, key: "vat_on_difference", value: money(totals.vat) + c, y: y)
            y = row(&page, key: "amount_refunded", value: money(totals.amountPaid) + c, y: y)
            if let reason = doc.reason, !reason.isEmpty {
                y = row(&page, key: "reason", value: reason, y: y, valueDirection: .auto)
            }
        }
        y += 10

        return y
    }

    /// Whether prices include VAT, and the receipt's or credit note's statement.
    private func statements(_ page: inout Page, _ doc: InvoiceDocument, y: Double) -> Double {
        let (m, half, rightX) = (Self.margin, Self.half, Self.rightX)
        let small = Self.small
        var y = y
        // Statements.
        var statements = [doc.pricesIncludeVat ? "includes_vat" : "excludes_vat"]
        if doc.kind == .receipt { statements.append("receipt_statement") }
        if doc.kind == .creditNote { statements.append("credit_statement") }
        // The legal mention of the registration (OSS, not registered) and of a reverse charge.
        if doc.kind != .receipt {
            if let key = doc.seller.scheme?.mentionKey { statements.append(key) }
            if doc.buyer.isReverseCharge { statements.append("mention_reverse_charge") }
        }
        for key in statements {
            let l = place(&page, labels.en(key), x: m, y: y, w: half, style: small, dir: .leftToRight, lang: "en")
            let r = place(&page, labels.ar(key), x: rightX, y: y, w: half, style: small, dir: .rightToLeft, lang: "ar")
            y = max(l, r) + 2
        }

        return y
    }

    /// ZATCA's QR code is for KSA tax documents; under another registration it would vouch for
    /// the wrong number.
    static func carriesQR(_ doc: InvoiceDocument) -> Bool { doc.kind != .receipt && doc.seller.scheme == .ksaVAT }

    /// The ZATCA QR code, on tax documents only.
    private func zatcaQR(_ page: inout Page, _ doc: InvoiceDocument, totals: InvoiceTotals, y: Double) throws {
        let m = Self.margin
        let e = totals.exponent
        if Self.carriesQR(doc) {
            let payload = try ZATCAQRCode.payload(
                sellerName: doc.seller.nameAr.isEmpty ? doc.seller.nameEn : doc.seller.nameAr,
                vatNumber: doc.seller.vatNumber, timestamp: Self.timestamp(doc.issuedAt, iso: true),
                total: Currency.decimal(totals.total, exponent: e), vatTotal: Currency.decimal(totals.vat, exponent: e))
            let qr = try QRCode(text: payload)
            let size = 118.0
            let qy = max(y + 6, Page.a4Height - Self.margin - 30 - size)
            page.items.append(.qr(qr, x: m, y: qy, size: size))
        }

    }

    /// The footer line with the seller's contact.
    private func footer(_ page: inout Page, _ doc: InvoiceDocument) {
        let (m, half, rightX) = (Self.margin, Self.half, Self.rightX)
        let small = Self.small
        // Footer.
        let footerY = Page.a4Height - Self.margin - 14
        page.items.append(
            .rule(x1: m, y1: footerY - 4, x2: m + Self.width, y2: footerY - 4, width: 0.5, color: Self.rule))
        _ = place(
            &page, labels.en("footer", ["email": doc.seller.email]), x: m, y: footerY, w: half, style: small,
            dir: .leftToRight, lang: "en")
        _ = place(
            &page, labels.ar("footer", ["email": doc.seller.email]), x: rightX, y: footerY, w: half, style: small,
            dir: .rightToLeft, lang: "ar")

    }

    private func validate(_ doc: InvoiceDocument) throws {
        let required: [(String, String)] = [
            ("number", doc.number), ("order_reference", doc.orderReference), ("seller.name_en", doc.seller.nameEn),
            ("seller.name_ar", doc.seller.nameAr),
            ("buyer.country", doc.buyer.country),
        ]
        for (field, value) in required where value.trimmingCharacters(in: .whitespaces).isEmpty {
            throw InvoiceError.invalidField(field: field, reason: "must not be empty")
        }
        if doc.kind == .creditNote, doc.original == nil {
            throw InvoiceError.invalidField(
                field: "original", reason: "a credit note must reference the original invoice")
        }
        try checkPrintable(doc)
    }

    /// Every character of every printed field has a glyph in one of the installed faces: a
    /// character none covers (an emoji, a CJK name) is refused with the field and the code
    /// point, never drawn as an empty `.notdef` box in a legal document.
    public func checkPrintable(_ doc: InvoiceDocument) throws {
        let faces = typesetter.fonts.faces
        for (field, text, _) in doc.printedFields {
            for scalar in text.unicodeScalars where !scalar.properties.isDefaultIgnorableCodePoint {
                if scalar.properties.generalCategory == .control || scalar.properties.isWhitespace { continue }
                guard faces.contains(where: { $0.covers(scalar) }) else {
                    let code = String(scalar.value, radix: 16, uppercase: true)
                    throw InvoiceError.invalidField(
                        field: field,
                        reason:
                            "character U+\(String(repeating: "0", count: max(0, 4 - code.count)))\(code) has no glyph "
                            + "in the installed fonts; refused rather than drawn as an empty box")
                }
            }
        }
    }

    /// Places a paragraph and returns the y just below it.
    @discardableResult
    private func place(
        _ page: inout Page, _ text: String, x: Double, y: Double, w: Double, style: TextStyle, dir: BaseDirection,
        align: TextAlignment = .start, lang: String? = nil
    ) -> Double {
        guard !text.isEmpty else { return y }
        let p = typesetter.layout(text, width: w, style: style, direction: dir, alignment: align, language: lang)
        page.items.append(.paragraph(p, x: x, y: y))
        return y + p.height
    }

    private func row(
        _ page: inout Page, key: String, value: String, y: Double, bold: Bool = false,
        valueDirection: BaseDirection = .leftToRight
    ) -> Double {
        row(
            &page, en: labels.en(key), ar: labels.ar(key), value: value, y: y, bold: bold,
            valueDirection: valueDirection)
    }

    /// A fact row: English label on the left, the value in the middle, Arabic label on the right.
    private func row(
        _ page: inout Page, en: String, ar: String, value: String, y: Double, bold: Bool = false,
        valueDirection: BaseDirection = .leftToRight
    ) -> Double {
        let m = Self.margin
        let labelStyle = TextStyle(size: 9, bold: bold, color: bold ? .black : Self.grey)
        let valueStyle = TextStyle(size: 9.5, bold: bold)
        let a = place(&page, en, x: m, y: y, w: 170, style: labelStyle, dir: .leftToRight, lang: "en")
        let b = place(&page, value, x: m + 175, y: y, w: 170, style: valueStyle, dir: valueDirection, align: .center)
        let c = place(
            &page, ar, x: m + Self.width - 170, y: y, w: 170, style: labelStyle, dir: .rightToLeft, lang: "ar")
        return max(a, b, c) + 2
    }

    private func heading(_ page: inout Page, key: String, y: Double) -> Double {
        let style = TextStyle(size: 10.5)
        let a = place(&page, labels.en(key), x: Self.margin, y: y, w: 200, style: style, dir: .leftToRight, lang: "en")
        let b = place(
            &page, labels.ar(key), x: Self.margin + Self.width - 200, y: y, w: 200, style: style, dir: .rightToLeft,
            lang: "ar")
        let bottom = max(a, b) + 1
        page.items.append(
            .rule(x1: Self.margin, y1: bottom, x2: Self.margin + Self.width, y2: bottom, width: 0.5, color: Self.rule))
        return bottom + 4
    }

    static func timestamp(_ date: Date, iso: Bool = false) -> String {
        let iso8601 = PDFRenderer.isoDate(date)
        return iso
            ? iso8601 : iso8601.replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: " UTC")
    }

    static func day(_ date: Date) -> String { String(PDFRenderer.isoDate(date).prefix(10)) }
}
