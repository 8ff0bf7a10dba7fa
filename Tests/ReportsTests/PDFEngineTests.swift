import Foundation
import Reports
import TestSupport
import Testing

@Suite("PDF engine")
struct PDFEngineTests {
    @Test func dbg() throws {
        let ts = Typesetter(fonts: try FontSet())
        for t in ["الله", "عبد الله", "لله", "كتابًا"] {
            let p = ts.layout(t, width: 400, style: TextStyle(size: 14), direction: .rightToLeft)
            for r in p.lines[0].runs { print(t, r.face, r.glyphs.map { "\($0.glyph):\($0.text.unicodeScalars.map { String($0.value, radix: 16) })" }) }
        }
    }
    @Test func smoke() throws {
        let fonts = try FontSet()
        let ts = Typesetter(fonts: fonts)
        let renderer = PDFRenderer(fonts: fonts, iccProfile: try PDFRenderer.loadICCProfile())
        var page = Page()
        var y = 40.0
        for (text, dir) in [
            ("Tax invoice SAMIA-2026-000001", BaseDirection.leftToRight),
            ("فاتورة ضريبية مبسطة", .rightToLeft),
            ("ضريبة القيمة المضافة 15%", .rightToLeft),
            ("عبد الله", .rightToLeft),
            ("كتابًا جميلًا", .rightToLeft),
            ("Total including VAT 1,150.00 SAR", .leftToRight),
        ] {
            let p = ts.layout(text, width: 400, style: TextStyle(size: 14), direction: dir, language: dir == .rightToLeft ? "ar" : "en")
            page.items.append(.paragraph(p, x: 80, y: y))
            y += p.height + 10
        }
        page.items.append(.qr(try QRCode(text: "AQxCb2JzIFJlY29yZHMCDzMxMDEyMjM5MzUwMDAwMwMUMjAyMi0wNC0yNVQxNTozMDowMFoEBzEwMDAuMDAFBjE1MC4wMA=="), x: 80, y: y, size: 120))
        let doc = Document(title: "Smoke", language: "en", date: Date(timeIntervalSince1970: 1_700_000_000), pages: [page])
        let bytes = try renderer.render(doc)
        try Data(bytes).write(to: URL(fileURLWithPath: "/tmp/pdfplay/smoke.pdf"))
    }
}
