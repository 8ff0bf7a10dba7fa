import Foundation

/// Lays out the reconciliation summary on A4 pages, every heading in English and Arabic, with
/// the project's own PDF engine (the same fonts, shaping and PDF/A metadata as invoices).
public final class ReconciliationSummaryRenderer {
    public let labels: Labels
    let typesetter: Typesetter
    let pdf: PDFRenderer

    public init(fonts: FontSet, labels: Labels, iccProfile: [UInt8]?) {
        self.labels = labels
        typesetter = Typesetter(fonts: fonts)
        pdf = PDFRenderer(fonts: fonts, iccProfile: iccProfile)
    }

    public func render(_ summary: ReconciliationSummary) throws -> [UInt8] {
        try pdf.render(compose(summary))
    }

    static let margin = 36.0
    static let width = Page.a4Width - 2 * margin
    static let grey = RGB(0.38, 0.38, 0.38)
    static let band = RGB(0.93, 0.94, 0.96)
    static let rule = RGB(0.75, 0.75, 0.78)

    /// A column of a table: its share of the width and how its cells are aligned.
    struct Column {
        var width: Double
        var alignment: TextAlignment
        var direction: BaseDirection = .leftToRight
    }

    /// Pages built top to bottom; a row that does not fit starts a new page.
    struct Pages {
        var pages: [Page] = [Page()]
        var y = margin
        mutating func ensure(_ height: Double) {
            if y + height > Page.a4Height - margin {
                pages.append(Page())
                y = margin
            }
        }
        mutating func add(_ item: PageItem) { pages[pages.count - 1].items.append(item) }
    }

    public func compose(_ s: ReconciliationSummary) -> Document {
        var out = Pages()
        let m = Self.margin
        let half = Self.width / 2 - 6
        let title = TextStyle(size: 15)
        let a = place(
            &out, labels.en("rec_title") + " " + s.month, x: m, w: half, style: title, dir: .leftToRight, lang: "en")
        let b = place(
            &out, labels.ar("rec_title") + " \u{2066}" + s.month + "\u{2069}", x: m + Self.width - half, w: half,
            style: title,
            dir: .rightToLeft, lang: "ar")
        out.y = max(a, b) + 8
        if s.provisional {
            let mark = TextStyle(size: 12)
            let en = place(
                &out, labels.en("rec_provisional"), x: m, w: half, style: mark, dir: .leftToRight, lang: "en")
            let ar = place(
                &out, labels.ar("rec_provisional"), x: m + Self.width - half, w: half, style: mark, dir: .rightToLeft,
                lang: "ar")
            out.y = max(en, ar) + 8
        }
        for (key, value) in [
            ("rec_time_zone", s.timeZone), ("rec_version", String(s.version)),
            ("rec_generated", PDFRenderer.isoDate(s.generatedAt)), ("rec_total_breaks", String(s.totalBreaks)),
        ] {
            fact(&out, key: key, value: value)
        }
        out.y += 8

        heading(&out, key: "rec_totals")
        let numeric = Column(width: 0, alignment: .right)
        let totalColumns =
            [Column(width: 0.08, alignment: .left)]
            + [0.08, 0.14, 0.08, 0.13, 0.14, 0.11, 0.12, 0.12].map {
                Column(width: $0, alignment: numeric.alignment)
            }
        table(
            &out, columns: totalColumns,
            header: [
                "rec_currency", "rec_payments", "rec_payments", "rec_refunds", "rec_refunds", "rec_settled", "rec_fees",
                "rec_matched", "rec_in_transit",
            ],
            rows: s.totals.map {
                [
                    $0.currency, String($0.payments), $0.paymentsAmount, String($0.refunds), $0.refundsAmount,
                    $0.settledGross, $0.fees, String($0.matched), String($0.inTransit),
                ]
            })
        if s.totals.isEmpty { note(&out, key: "rec_totals_empty") }
        out.y += 10

        heading(&out, key: "rec_breaks")
        let breakColumns = [
            Column(width: 0.42, alignment: .left), Column(width: 0.16, alignment: .center),
            Column(width: 0.42, alignment: .right, direction: .rightToLeft),
        ]
        for (i, item) in s.breaks.enumerated() {
            row(
                &out, columns: breakColumns,
                cells: [labels.en("break_" + item.type), String(item.count), labels.ar("break_" + item.type)],
                bold: item.count > 0, shaded: i % 2 == 1)
        }
        if s.totalBreaks == 0 { note(&out, key: "rec_breaks_none") }
        out.y += 10
        vatSection(&out, s)
        vatReturnSection(&out, s)
        ageingSection(&out, s)
        bankSection(&out, s)
        return Document(
            title: labels.en("rec_title") + " " + s.month + (s.provisional ? " (provisional)" : ""), language: "en",
            subject: "Monthly reconciliation",
            date: s.generatedAt, pages: out.pages)
    }

    /// The VAT summary, or why there is none.
    private func vatSection(_ out: inout Pages, _ s: ReconciliationSummary) {
        heading(&out, key: "rec_vat")
        let vatColumns =
            [
                Column(width: 0.09, alignment: .left), Column(width: 0.09, alignment: .right),
                Column(width: 0.09, alignment: .left),
            ]
            + [0.1, 0.11, 0.18, 0.16, 0.18].map {
                Column(width: $0, alignment: .right)
            }
        table(
            &out, columns: vatColumns,
            header: [
                "rec_country", "rec_rate", "rec_currency", "rec_invoices", "rec_credit_notes", "rec_base",
                "rec_vat_amount", "rec_gross",
            ],
            rows: s.vat.map {
                [
                    $0.country, $0.rate, $0.currency, String($0.invoices), String($0.creditNotes), $0.base, $0.vat,
                    $0.gross,
                ]
            })
        if s.vat.isEmpty { note(&out, key: "rec_vat_empty") }
    }

    /// The sales side of each return the month's documents fall under: box, item in English,
    /// amount, adjustment (credit notes), VAT, item in Arabic; "—" where a box is not computed.
    private func vatReturnSection(_ out: inout Pages, _ s: ReconciliationSummary) {
        heading(&out, key: "rec_vat_return")
        note(&out, key: "rec_vat_return_note")
        if s.vatReturn.isEmpty { return note(&out, key: "rec_vat_return_empty") }
        let columns = [
            Column(width: 0.07, alignment: .left), Column(width: 0.3, alignment: .left),
            Column(width: 0.12, alignment: .right), Column(width: 0.12, alignment: .right),
            Column(width: 0.12, alignment: .right), Column(width: 0.27, alignment: .right, direction: .rightToLeft),
        ]
        for code in ["KSA", "UAE"] where s.vatReturn.contains(where: { $0.code == code }) {
            heading(&out, key: "vat_return_" + code)
            table(
                &out, columns: columns,
                header: ["rec_box", "rec_box_item", "rec_amount", "rec_adjustment", "rec_vat_amount", "rec_box_item"],
                rows: s.vatReturn.filter { $0.code == code }.map {
                    [
                        $0.box, labels.en($0.labelKey), $0.amount ?? "—", $0.adjustment ?? "—", $0.vat ?? "—",
                        labels.ar($0.labelKey),
                    ]
                })
        }
    }

    /// Why a section is empty, in English on the left and Arabic on the right: an empty table
    /// must not read as "nothing to report" when it means "nothing was issued".
    func note(_ out: inout Pages, key: String) {
        let style = TextStyle(size: 8.5, color: Self.grey)
        let half = Self.width / 2 - 6
        out.ensure(30)
        let a = place(&out, labels.en(key), x: Self.margin, w: half, style: style, dir: .leftToRight, lang: "en")
        let b = place(
            &out, labels.ar(key), x: Self.margin + Self.width - half, w: half, style: style, dir: .rightToLeft,
            lang: "ar")
        out.y = max(a, b) + 4
    }

    @discardableResult
    private func place(
        _ out: inout Pages, _ text: String, x: Double, y: Double? = nil, w: Double, style: TextStyle,
        dir: BaseDirection, align: TextAlignment = .start, lang: String? = nil
    ) -> Double {
        let top = y ?? out.y
        guard !text.isEmpty else { return top }
        let p = typesetter.layout(text, width: w, style: style, direction: dir, alignment: align, language: lang)
        out.add(.paragraph(p, x: x, y: top))
        return top + p.height
    }

    func heading(_ out: inout Pages, key: String) {
        out.ensure(60)
        let style = TextStyle(size: 10.5)
        let a = place(&out, labels.en(key), x: Self.margin, w: 260, style: style, dir: .leftToRight, lang: "en")
        let b = place(
            &out, labels.ar(key), x: Self.margin + Self.width - 260, w: 260, style: style, dir: .rightToLeft,
            lang: "ar")
        let bottom = max(a, b) + 1
        out.add(
            .rule(x1: Self.margin, y1: bottom, x2: Self.margin + Self.width, y2: bottom, width: 0.5, color: Self.rule))
        out.y = bottom + 4
    }

    private func fact(_ out: inout Pages, key: String, value: String) {
        let label = TextStyle(size: 9, color: Self.grey)
        let m = Self.margin
        let a = place(&out, labels.en(key), x: m, w: 170, style: label, dir: .leftToRight, lang: "en")
        let b = place(&out, value, x: m + 175, w: 170, style: TextStyle(size: 9.5), dir: .leftToRight, align: .center)
        let c = place(
            &out, labels.ar(key), x: m + Self.width - 170, w: 170, style: label, dir: .rightToLeft, lang: "ar")
        out.y = max(a, b, c) + 2
    }

    /// A header row with the English label over the Arabic one, then the rows.
    func table(_ out: inout Pages, columns: [Column], header: [String], rows: [[String]]) {
        let style = TextStyle(size: 7.5, color: Self.grey)
        out.ensure(40)
        var x = Self.margin
        var bottom = out.y
        for (column, key) in zip(columns, header) {
            let w = column.width * Self.width - 4
            let en = place(&out, labels.en(key), x: x, w: w, style: style, dir: .leftToRight, align: column.alignment)
            let ar = place(
                &out, labels.ar(key), x: x, y: en, w: w, style: style, dir: .rightToLeft, align: column.alignment,
                lang: "ar")
            bottom = max(bottom, ar)
            x += column.width * Self.width
        }
        out.y = bottom + 2
        for (i, cells) in rows.enumerated() {
            row(&out, columns: columns, cells: cells, bold: false, shaded: i % 2 == 0)
        }
    }

    private func row(_ out: inout Pages, columns: [Column], cells: [String], bold: Bool, shaded: Bool) {
        let style = TextStyle(size: 8.5, bold: bold)
        out.ensure(14)
        let top = out.y
        var x = Self.margin
        var paragraphs: [(Paragraph, Double)] = []
        var height = 0.0
        for (column, text) in zip(columns, cells) {
            let w = column.width * Self.width - 4
            let p = typesetter.layout(
                text, width: w, style: style, direction: column.direction, alignment: column.alignment,
                language: column.direction == .rightToLeft ? "ar" : nil)
            paragraphs.append((p, x))
            height = max(height, p.height)
            x += column.width * Self.width
        }
        if shaded {
            out.add(.rectangle(x: Self.margin, y: top, width: Self.width, height: height + 2, fill: Self.band))
        }
        for (p, px) in paragraphs { out.add(.paragraph(p, x: px, y: top + 1)) }
        out.y = top + height + 2
    }
}
