import Foundation
import Reports
import TestSupport
import Testing

/// Every character drawn or refused (issue 34, point 4): an emoji, a CJK name or a symbol that
/// neither Noto Sans nor Noto Naskh Arabic has is drawn from the fallback chain (Noto Sans
/// Symbols, Symbols 2, Symbola, Droid Sans Fallback) instead of refusing the whole invoice.
@Suite("Font fallback")
struct FontFallbackTests {
    @Test func emojiCJKAndSymbolsAreDrawnFromTheFallbackFaces() throws {
        var doc = try PDFEngineTests.example("invoice")
        doc.buyer.name = "Layla 😀 王小明"
        doc.lines[0].descriptionEn = "Crystal ball 🔮 reading ★ → ☎"
        let renderer = try PDFEngineTests.renderer()
        let bytes = try renderer.render(doc)
        #expect(try renderer.render(doc) == bytes, "rendering is not deterministic")
        let path = try PDFEngineTests.write(bytes, "fallback.pdf")
        #expect(try Shell.run("/usr/bin/qpdf", ["--check", path]).status == 0)
        // Each fallback face used is embedded as a subset with a ToUnicode map.
        let fonts = try Shell.run("/usr/bin/pdffonts", [path]).stdout
        for face in ["Symbola", "DroidSansFallback", "NotoSansSymbols"] {
            let row = fonts.split(separator: "\n").first { $0.contains(face) }
            #expect(row.map { $0.contains("CID TrueType") && $0.contains("yes yes yes") } == true, "\(face): \(fonts)")
        }
        // The text layer gives back exactly what was drawn.
        let text = try PDFText.extract(path)
        for expected in ["Layla 😀 王小明", "Crystal ball 🔮 reading ★ → ☎"] {
            #expect(text.contains(expected), "missing \(expected): \(text)")
        }
    }

    @Test func aDocumentWithoutFallbackCharactersKeepsItsBytes() throws {
        // The chain is consulted only for what the main faces lack: documents that rendered
        // before render to the same bytes, with the same four fonts.
        let plain = try PDFEngineTests.renderer()
        let none = try InvoiceRenderer(
            fonts: FontSet(
                paths: .init(
                    sans: FontSet.Paths.debian.sans, sansBold: FontSet.Paths.debian.sansBold,
                    arabic: FontSet.Paths.debian.arabic, arabicBold: FontSet.Paths.debian.arabicBold)),
            labels: Labels(directory: PDFEngineTests.examples() + "/locales"),
            iccProfile: PDFRenderer.loadICCProfile())
        let doc = try PDFEngineTests.example("invoice")
        #expect(try plain.render(doc) == none.render(doc))
        // Without the chain the same emoji is refused, never drawn as an empty box.
        var emoji = doc
        emoji.buyer.name = "Layla 😀"
        #expect(throws: InvoiceError.self) { try none.checkPrintable(emoji) }
        #expect(throws: Never.self) { try plain.checkPrintable(emoji) }
    }

    @Test func aFallbackFontWithoutTrueTypeOutlinesIsRefused() throws {
        // Noto CJK and other CFF fonts cannot be embedded as FontFile2: refused with the path.
        // A CFF OpenType font from fonts-urw-base35 (installed with the test packages).
        let cff = "/usr/share/fonts/opentype/urw-base35/NimbusSans-Regular.otf"
        var paths = FontSet.Paths.debian
        paths.fallbacks = [cff]
        #expect(throws: FontError.notTrueType(path: cff)) { try FontSet(paths: paths) }
        paths.fallbacks = ["/nonexistent/font.ttf"]
        #expect(throws: FontError.self) { try FontSet(paths: paths) }
    }
}
