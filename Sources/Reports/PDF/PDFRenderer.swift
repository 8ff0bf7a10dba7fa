import Crypto
import Foundation

/// Renders a `Document` to PDF bytes with embedded, subset fonts (CIDFontType2, Identity-H),
/// ToUnicode maps, XMP metadata and an sRGB output intent (the PDF/A-3b ingredients; see
/// docs/invoices.md for which parts of PDF/A are met).
///
/// The output depends only on the document, the fonts and the ICC profile: no clock, no
/// random ids, objects in a fixed order.
public final class PDFRenderer {
    public let fonts: FontSet
    /// The profile, compressed once: it is the same in every document.
    private let iccStream: [UInt8]?
    private let deflate: Deflate

    /// Default location of an sRGB ICC profile on Debian (`libgs-common`).
    public static let defaultICCProfilePath = "/usr/share/color/icc/ghostscript/srgb.icc"

    /// - Parameter iccProfile: an sRGB ICC profile for the PDF/A output intent; nil leaves the
    ///   output intent out (and the file is then not PDF/A).
    public init(fonts: FontSet, iccProfile: [UInt8]?) {
        self.fonts = fonts
        let deflate = Deflate()
        self.deflate = deflate
        iccStream = iccProfile.map { deflate.compress($0) }
    }

    /// Loads the ICC profile from `SAMIA_ICC_PROFILE` or the Debian default; a configured
    /// path that cannot be read is an error rather than a silently non-PDF/A file.
    public static func loadICCProfile(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> [UInt8] {
        let path = env["SAMIA_ICC_PROFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultICCProfilePath
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FontError.unreadable(
                path: path, reason: "ICC profile missing; install libgs-common or set SAMIA_ICC_PROFILE")
        }
        return [UInt8](data)
    }

    private struct FontUse: Hashable {
        var glyphs = Set<UInt32>()
        var text: [UInt32: String] = [:]
    }

    /// One face's subset, encoded and ready to write: everything `embed` derives from the use.
    private struct EmbeddedFont {
        var program: [UInt8]
        var programLength: Int
        var map: [UInt32: UInt32]
        var name: String
        var widths: String
        var toUnicode: [UInt8]
    }

    private struct EmbedKey: Hashable {
        var face: Int
        var use: FontUse
    }

    /// Subsets by face and use. Pages of one kind of document repeat their labels, so most
    /// documents need a glyph set some earlier one already had; subsetting and compressing it
    /// again would give the same bytes.
    private var embedded: [EmbedKey: EmbeddedFont] = [:]
    private static let embeddedLimit = 512

    public func render(_ document: Document) throws -> [UInt8] {
        // 1. Which glyphs of which face, and what each stands for.
        let uses = fontUses(document)
        var writer = PDFWriter(deflate: deflate)
        let catalog = writer.reserve()
        let pagesRef = writer.reserve()
        let info = writer.reserve()

        // 2. Fonts, in face order.
        var fontRefs: [Int: PDFRef] = [:]
        var cidMaps: [Int: [UInt32: UInt32]] = [:]
        for (index, use) in uses.enumerated() where !use.glyphs.isEmpty {
            let (ref, map) = try embed(face: fonts.faces[index], index: index, use: use, writer: &writer)
            fontRefs[index] = ref
            cidMaps[index] = map
        }

        // 3. Pages.
        var pageRefs: [PDFRef] = []
        for page in document.pages {
            let pageRef = writer.reserve()
            var images: [PDFRef] = []
            var content = ContentStream()
            var state = DrawState()
            for item in page.items {
                draw(
                    item, state: &state, pageHeight: page.height, cidMaps: cidMaps, images: &images, writer: &writer,
                    into: &content)
            }
            let contents = writer.addStream(dictionary: "", data: content.bytes)
            var resources = "<</ProcSet[/PDF/Text/ImageC]"
            if !fontRefs.isEmpty {
                resources += "/Font<<" + fontRefs.keys.sorted().map { "/F\($0) \(fontRefs[$0]!.r)" }.joined() + ">>"
            }
            if !images.isEmpty {
                resources +=
                    "/XObject<<" + images.enumerated().map { "/Im\($0.offset) \($0.element.r)" }.joined() + ">>"
            }
            resources += ">>"
            writer.set(
                pageRef,
                "<</Type/Page/Parent \(pagesRef.r)/MediaBox[0 0 \(PDFSyntax.number(page.width)) \(PDFSyntax.number(page.height))]/Resources \(resources)/Contents \(contents.r)>>"
            )
            pageRefs.append(pageRef)
        }
        writer.set(
            pagesRef, "<</Type/Pages/Kids[\(pageRefs.map(\.r).joined(separator: " "))]/Count \(pageRefs.count)>>")

        // 4. Metadata: Info and XMP must agree (PDF/A).
        writeMetadata(document, info: info, catalog: catalog, pages: pagesRef, writer: &writer)
        return writer.finish(root: catalog, info: info)
    }

    /// The glyphs each face draws in `document`, and the text each stands for.
    private func fontUses(_ document: Document) -> [FontUse] {
        var uses = [FontUse](repeating: FontUse(), count: fonts.faces.count)
        for page in document.pages {
            for case .paragraph(let paragraph, _, _) in page.items {
                for run in paragraph.lines.flatMap(\.runs) {
                    for g in run.glyphs {
                        uses[run.face].glyphs.insert(g.glyph)
                        if !g.text.isEmpty, uses[run.face].text[g.glyph] == nil {
                            uses[run.face].text[g.glyph] = g.text
                        }
                    }
                }
            }
        }
        return uses
    }

    /// The Info dictionary, the XMP packet and the catalog with its output intent.
    private func writeMetadata(
        _ document: Document, info: PDFRef, catalog: PDFRef, pages pagesRef: PDFRef, writer: inout PDFWriter
    ) {
        let date = Self.pdfDate(document.date)
        var infoDict = "<</Title \(PDFSyntax.textString(document.title))/Producer (samia-batch)/Creator (samia-batch)"
        infoDict += "/CreationDate (\(date))/ModDate (\(date))"
        if let subject = document.subject { infoDict += "/Subject \(PDFSyntax.textString(subject))" }
        if let author = document.author { infoDict += "/Author \(PDFSyntax.textString(author))" }
        writer.set(info, infoDict + ">>")
        let xmp = Self.xmp(document)
        let metadata = writer.addStream(
            dictionary: "/Type/Metadata/Subtype/XML", data: Array(xmp.utf8), compress: false)
        var catalogDict =
            "<</Type/Catalog/Pages \(pagesRef.r)/Metadata \(metadata.r)/Lang \(PDFSyntax.literal(document.language))"
        catalogDict += "/ViewerPreferences<</DisplayDocTitle true>>"
        if let iccStream {
            let icc = writer.addStream(dictionary: "/N 3/Filter/FlateDecode", encoded: iccStream)
            catalogDict +=
                "/OutputIntents[<</Type/OutputIntent/S/GTS_PDFA1/OutputConditionIdentifier (sRGB IEC61966-2.1)/Info (sRGB IEC61966-2.1)/DestOutputProfile \(icc.r)>>]"
        }
        writer.set(catalog, catalogDict + ">>")
    }

    // MARK: - Fonts

    private func embed(face: FontFace, index: Int, use: FontUse, writer: inout PDFWriter) throws -> (
        PDFRef, [UInt32: UInt32]
    ) {
        let key = EmbedKey(face: index, use: use)
        let font: EmbeddedFont
        if let hit = embedded[key] {
            font = hit
        } else {
            font = try encode(face: face, use: use)
            if embedded.count >= Self.embeddedLimit { embedded.removeAll(keepingCapacity: true) }
            embedded[key] = font
        }
        let name = font.name
        let scale = 1000.0 / Double(face.unitsPerEm)
        func u(_ v: Int) -> String { PDFSyntax.number(Double(v) * scale) }
        let file = writer.addStream(
            dictionary: "/Length1 \(font.programLength)/Filter/FlateDecode", encoded: font.program)
        let (x0, y0, x1, y1) = face.bbox
        let flags = 4  // symbolic: glyphs outside the standard Latin set
        let descriptor = writer.add(
            "<</Type/FontDescriptor/FontName/\(name)/Flags \(flags)/FontBBox[\(u(x0)) \(u(y0)) \(u(x1)) \(u(y1))]/ItalicAngle 0/Ascent \(u(face.ascender))/Descent \(u(face.descender))/CapHeight \(u(face.capHeight))/StemV \(face.isBold ? 120 : 80)/FontFile2 \(file.r)>>"
        )
        let defaultWidth = u(face.advance(glyph: 0))
        let cidFont = writer.add(
            "<</Type/Font/Subtype/CIDFontType2/BaseFont/\(name)/CIDSystemInfo<</Registry (Adobe)/Ordering (Identity)/Supplement 0>>/FontDescriptor \(descriptor.r)/DW \(defaultWidth)/W \(font.widths)/CIDToGIDMap/Identity>>"
        )
        let toUnicode = writer.addStream(dictionary: "/Filter/FlateDecode", encoded: font.toUnicode)
        let type0 = writer.add(
            "<</Type/Font/Subtype/Type0/BaseFont/\(name)/Encoding/Identity-H/DescendantFonts[\(cidFont.r)]/ToUnicode \(toUnicode.r)>>"
        )
        return (type0, font.map)
    }

    private func encode(face: FontFace, use: FontUse) throws -> EmbeddedFont {
        let (program, map) = try face.subset(glyphs: use.glyphs)
        let tag = Self.subsetTag(face: face.postScriptName, glyphs: use.glyphs)
        let scale = 1000.0 / Double(face.unitsPerEm)
        // Widths by CID (= new glyph id), from FreeType's unscaled advances.
        var byCID: [(UInt32, UInt32)] = use.glyphs.compactMap { old in map[old].map { ($0, old) } }
        byCID.sort { $0.0 < $1.0 }
        // Consecutive CIDs share one array (PDF 9.7.4.3: `c [w1 w2 ...]`); subsets number them densely.
        var widths = "["
        var next: UInt32? = nil
        for (cid, old) in byCID {
            if cid != next { widths += (next == nil ? "" : "]") + "\(cid)[" } else { widths += " " }
            widths += PDFSyntax.number(Double(face.advance(glyph: old)) * scale)
            next = cid + 1
        }
        widths += next == nil ? "]" : "]]"
        return EmbeddedFont(
            program: deflate.compress(program), programLength: program.count, map: map,
            name: "\(tag)+\(face.postScriptName)", widths: widths,
            toUnicode: deflate.compress(Array(Self.toUnicodeCMap(byCID: byCID, text: use.text).utf8)))
    }

    /// Six capital letters derived from the glyph set, as PDF 9.6.4 asks for subset fonts.
    static func subsetTag(face: String, glyphs: Set<UInt32>) -> String {
        var hasher = SHA256()
        hasher.update(data: Array(face.utf8))
        for g in glyphs.sorted() { withUnsafeBytes(of: g.littleEndian) { hasher.update(bufferPointer: $0) } }
        return String(hasher.finalize().prefix(6).map { Character(Unicode.Scalar(65 + $0 % 26)) })
    }

    static func toUnicodeCMap(byCID: [(UInt32, UInt32)], text: [UInt32: String]) -> String {
        var entries: [(UInt32, String)] = []
        for (cid, old) in byCID {
            guard let t = text[old], !t.isEmpty else { continue }
            entries.append((cid, t.utf16.map { PDFSyntax.hex4($0) }.joined()))
        }
        var s = """
            /CIDInit /ProcSet findresource begin
            12 dict begin
            begincmap
            /CIDSystemInfo <</Registry (Adobe) /Ordering (UCS) /Supplement 0>> def
            /CMapName /Adobe-Identity-UCS def
            /CMapType 2 def
            1 begincodespacerange
            <0000> <FFFF>
            endcodespacerange

            """
        var i = 0
        while i < entries.count {
            let chunk = entries[i..<min(i + 100, entries.count)]
            s += "\(chunk.count) beginbfchar\n"
            for (cid, hex) in chunk { s += "<\(PDFSyntax.hex4(UInt16(cid)))> <\(hex)>\n" }
            s += "endbfchar\n"
            i += 100
        }
        s += "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
        return s
    }

    // MARK: - Drawing

    /// Graphics state already set in the content stream, so it is not repeated.
    struct DrawState {
        var fill: RGB?
        var font = -1
        var size = 0.0
    }

    private func draw(
        _ item: PageItem, state: inout DrawState, pageHeight: Double, cidMaps: [Int: [UInt32: UInt32]],
        images: inout [PDFRef],
        writer: inout PDFWriter, into out: inout ContentStream
    ) {
        switch item {
        case .rule(let x1, let y1, let x2, let y2, let width, let c):
            out.color(c, fill: false)
            out.number(width)
            out.raw("w ")
            out.number(x1)
            out.number(pageHeight - y1)
            out.raw("m ")
            out.number(x2)
            out.number(pageHeight - y2)
            out.raw("l S\n")
        case .rectangle(let x, let y, let w, let h, let c):
            if state.fill != c { out.color(c, fill: true) }
            state.fill = c
            out.number(x)
            out.number(pageHeight - y - h)
            out.number(w)
            out.number(h)
            out.raw("re f\n")
        case .qr(let code, let x, let y, let size):
            // Quiet zone of four modules on each side, then dark runs merged per row.
            let module = size / Double(code.size + 8)
            out.raw("q\n")
            out.color(.white, fill: true)
            out.number(x)
            out.number(pageHeight - y - size)
            out.number(size)
            out.number(size)
            out.raw("re f\n")
            out.color(.black, fill: true)
            let top = pageHeight - y - 4 * module
            for row in 0..<code.size {
                var column = 0
                while column < code.size {
                    guard code.isDark(row: row, column: column) else {
                        column += 1
                        continue
                    }
                    var end = column
                    while end < code.size, code.isDark(row: row, column: end) { end += 1 }
                    out.number(x + Double(column + 4) * module)
                    out.number(top - Double(row + 1) * module)
                    out.number(Double(end - column) * module)
                    out.number(module)
                    out.raw("re\n")
                    column = end
                }
            }
            out.raw("f\nQ\n")
        case .image(let image, let x, let y, let w, let h):
            let ref = writer.addStream(
                dictionary:
                    "/Type/XObject/Subtype/Image/Width \(image.width)/Height \(image.height)/ColorSpace/DeviceRGB/BitsPerComponent 8",
                data: image.rgb)
            out.raw("q ")
            out.number(w)
            out.raw("0 0 ")
            out.number(h)
            out.number(x)
            out.number(pageHeight - y - h)
            out.text("cm /Im\(images.count) Do Q\n")
            images.append(ref)
        case .paragraph(let paragraph, let x, let y):
            drawParagraph(paragraph, x: x, y: y, pageHeight: pageHeight, cidMaps: cidMaps, state: &state, into: &out)
        }
    }

    private func drawParagraph(
        _ p: Paragraph, x: Double, y: Double, pageHeight: Double, cidMaps: [Int: [UInt32: UInt32]],
        state: inout DrawState, into out: inout ContentStream
    ) {
        if let language = p.language { out.text("/Span<</Lang \(PDFSyntax.literal(language))>>BDC\n") }
        if state.fill != p.style.color {
            out.color(p.style.color, fill: true)
            state.fill = p.style.color
        }
        state.font = -1
        out.raw("BT\n")
        for line in p.lines {
            let baseline = pageHeight - (y + line.baseline)
            for run in line.runs where !run.glyphs.isEmpty {
                guard let map = cidMaps[run.face] else { continue }
                drawRun(run, x: x + line.x, baseline: baseline, cidMap: map, state: &state, into: &out)
            }
        }
        out.raw("ET\n")
        if p.language != nil { out.raw("EMC\n") }
    }

    /// One run of glyphs of one face and size, as text show operations: positioned where the
    /// layout put each glyph, marks raised or lowered with text rise, `ActualText` spans around
    /// ligatures so extraction gives the text back.
    private func drawRun(
        _ run: GlyphRun, x: Double, baseline: Double, cidMap map: [UInt32: UInt32], state: inout DrawState,
        into out: inout ContentStream
    ) {
        let face = fonts.faces[run.face]
        let scale = run.size / Double(face.unitsPerEm)
        if state.font != run.face || state.size != run.size {
            out.text("/F\(run.face) ")
            out.number(run.size)
            out.raw("Tf\n")
            state.font = run.face
            state.size = run.size
        }
        var penX = Double.nan
        var penY = baseline
        // A show operation in progress: `[` written, and whether a string is open.
        var inArray = false
        var inString = false
        func open() {
            if !inArray {
                out.raw("[")
                inArray = true
            }
            if !inString {
                out.raw("(")
                inString = true
            }
        }
        func closeString() {
            if inString { out.raw(")") }
            inString = false
        }
        func flush() {
            closeString()
            if inArray { out.raw("]TJ\n") }
            inArray = false
        }
        for (gi, g) in run.glyphs.enumerated() {
            if let span = run.actualText.first(where: { $0.first == gi }) {
                flush()
                out.text("/Span<</ActualText \(PDFSyntax.textString(span.text))>>BDC\n")
            }
            let gx = x + g.x
            let gy = baseline + g.y
            if penX.isNaN {
                out.raw("1 0 0 1 ")
                out.number(gx)
                out.number(baseline)
                out.raw("Tm\n")
                penX = gx
            }
            if gy != penY {
                // Mark positioning above or below the baseline: text rise, so the
                // glyph stays on its line for text extraction.
                flush()
                out.number(gy - baseline)
                out.raw("Ts\n")
                penY = gy
            }
            if abs(gx - penX) > 0.0005 {
                // TJ numbers move left by thousandths of the font size.
                closeString()
                if !inArray {
                    out.raw("[")
                    inArray = true
                }
                out.number(-(gx - penX) * 1000 / run.size)
                penX = gx
            }
            open()
            out.code(UInt16(map[g.glyph] ?? 0))
            penX += Double(face.advance(glyph: g.glyph)) * scale
            if run.actualText.contains(where: { $0.last == gi }) {
                flush()
                out.raw("EMC\n")
            }
        }
        flush()
        if penY != baseline { out.raw("0 Ts\n") }
    }

    // MARK: - Metadata

    static func pdfDate(_ date: Date) -> String {
        let c = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: date)
        return String(
            format: "D:%04d%02d%02d%02d%02d%02dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }

    public static func isoDate(_ date: Date) -> String {
        let c = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: date)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }

    static func xmlEscape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    static func xmp(_ d: Document) -> String {
        let date = isoDate(d.date)
        var description = ""
        if let subject = d.subject {
            description =
                "<dc:description><rdf:Alt><rdf:li xml:lang=\"x-default\">\(xmlEscape(subject))</rdf:li></rdf:Alt></dc:description>"
        }
        var creator = ""
        if let author = d.author {
            creator = "<dc:creator><rdf:Seq><rdf:li>\(xmlEscape(author))</rdf:li></rdf:Seq></dc:creator>"
        }
        return """
            <?xpacket begin="\u{FEFF}" id="W5M0MpCehiHzreSzNTczkc9d"?>
            <x:xmpmeta xmlns:x="adobe:ns:meta/">
            <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
            <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:pdf="http://ns.adobe.com/pdf/1.3/" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
            <dc:format>application/pdf</dc:format>
            <dc:title><rdf:Alt><rdf:li xml:lang="x-default">\(xmlEscape(d.title))</rdf:li></rdf:Alt></dc:title>\(description)\(creator)
            <dc:language><rdf:Bag><rdf:li>\(xmlEscape(d.language))</rdf:li></rdf:Bag></dc:language>
            <xmp:CreateDate>\(date)</xmp:CreateDate>
            <xmp:ModifyDate>\(date)</xmp:ModifyDate>
            <xmp:MetadataDate>\(date)</xmp:MetadataDate>
            <xmp:CreatorTool>samia-batch</xmp:CreatorTool>
            <pdf:Producer>samia-batch</pdf:Producer>
            <pdfaid:part>3</pdfaid:part>
            <pdfaid:conformance>B</pdfaid:conformance>
            </rdf:Description>
            </rdf:RDF>
            </x:xmpmeta>
            <?xpacket end="r"?>
            """
    }
}
