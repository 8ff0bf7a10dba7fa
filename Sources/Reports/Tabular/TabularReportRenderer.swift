import Foundation

/// A report that is a title, a list of facts and a sequence of tables: the shape of audit
/// reports (RLS parity) whose content is decided elsewhere. Laid out on landscape A4 with the
/// project's own PDF engine, so the PDF carries the same text as the HTML and Markdown forms.
public struct TabularReport: Sendable {
    public struct Section: Sendable {
        public var title: String
        /// Each column's share of the width; they should add up to 1.
        public var widths: [Double]
        public var header: [String]
        public var rows: [[String]]
        /// Rows to print in bold (failing cells).
        public var emphasised: Set<Int>

        public init(title: String, widths: [Double], header: [String], rows: [[String]], emphasised: Set<Int> = []) {
            self.title = title
            self.widths = widths
            self.header = header
            self.rows = rows
            self.emphasised = emphasised
        }
    }

    public var title: String
    public var subject: String
    public var date: Date
    public var facts: [(String, String)]
    public var sections: [Section]

    public init(title: String, subject: String, date: Date, facts: [(String, String)], sections: [Section]) {
        self.title = title
        self.subject = subject
        self.date = date
        self.facts = facts
        self.sections = sections
    }
}

public final class TabularReportRenderer {
    let typesetter: Typesetter
    let pdf: PDFRenderer

    public init(fonts: FontSet, iccProfile: [UInt8]?) {
        typesetter = Typesetter(fonts: fonts)
        pdf = PDFRenderer(fonts: fonts, iccProfile: iccProfile)
    }

    static let pageWidth = Page.a4Height
    static let pageHeight = Page.a4Width
    static let margin = 28.0
    static let width = pageWidth - 2 * margin
    static let grey = RGB(0.38, 0.38, 0.38)
    static let band = RGB(0.93, 0.94, 0.96)
    static let rule = RGB(0.75, 0.75, 0.78)

    struct Pages {
        var pages: [Page] = [Page(width: pageWidth, height: pageHeight)]
        var y = margin
        mutating func ensure(_ height: Double) {
            if y + height > pageHeight - margin {
                pages.append(Page(width: pageWidth, height: pageHeight))
                y = margin
            }
        }
        mutating func add(_ item: PageItem) { pages[pages.count - 1].items.append(item) }
    }

    public func render(_ report: TabularReport) throws -> [UInt8] {
        try pdf.render(compose(report))
    }

    public func compose(_ report: TabularReport) -> Document {
        var out = Pages()
        let m = Self.margin
        out.y = place(&out, report.title, x: m, w: Self.width, style: TextStyle(size: 16)) + 8
        for (key, value) in report.facts {
            out.ensure(14)
            let a = place(&out, key, x: m, w: 150, style: TextStyle(size: 8.5, color: Self.grey))
            let b = place(&out, value, x: m + 155, w: Self.width - 155, style: TextStyle(size: 8.5))
            out.y = max(a, b) + 1
        }
        for section in report.sections {
            out.y += 10
            out.ensure(50)
            let bottom = place(&out, section.title, x: m, w: Self.width, style: TextStyle(size: 11, bold: true)) + 1
            out.add(.rule(x1: m, y1: bottom, x2: m + Self.width, y2: bottom, width: 0.5, color: Self.rule))
            out.y = bottom + 3
            row(
                &out, widths: section.widths, cells: section.header,
                style: TextStyle(size: 7.5, bold: true, color: Self.grey), shaded: false)
            for (i, cells) in section.rows.enumerated() {
                row(
                    &out, widths: section.widths, cells: cells,
                    style: TextStyle(size: 7.5, bold: section.emphasised.contains(i)), shaded: i % 2 == 0)
            }
        }
        return Document(
            title: report.title, language: "en", subject: report.subject, date: report.date, pages: out.pages)
    }

    @discardableResult
    private func place(_ out: inout Pages, _ text: String, x: Double, w: Double, style: TextStyle) -> Double {
        guard !text.isEmpty else { return out.y }
        let p = typesetter.layout(
            text, width: w, style: style, direction: .leftToRight, alignment: .start, language: nil)
        out.add(.paragraph(p, x: x, y: out.y))
        return out.y + p.height
    }

    private func row(_ out: inout Pages, widths: [Double], cells: [String], style: TextStyle, shaded: Bool) {
        var paragraphs: [(Paragraph, Double)] = []
        var height = 0.0
        var x = Self.margin
        for (share, text) in zip(widths, cells) {
            let w = share * Self.width - 4
            let p = typesetter.layout(
                text, width: w, style: style, direction: .leftToRight, alignment: .start, language: nil)
            paragraphs.append((p, x))
            height = max(height, p.height)
            x += share * Self.width
        }
        out.ensure(height + 2)
        let top = out.y
        if shaded {
            out.add(.rectangle(x: Self.margin, y: top, width: Self.width, height: height + 2, fill: Self.band))
        }
        for (p, px) in paragraphs { out.add(.paragraph(p, x: px, y: top + 1)) }
        out.y = top + height + 2
    }
}
