import CHarfBuzz

/// Turns a string into shaped, broken, aligned lines: bidi levels from FriBidi, a face per
/// character (Arabic letters in the Arabic face, everything else in the Latin one, marks and
/// spaces following their neighbour, each face filling the other's gaps, and the fallback chain
/// what neither has), HarfBuzz shaping
/// per run with the run's script, direction and language, then greedy breaking at spaces.
public final class Typesetter {
    public let fonts: FontSet
    private let buffer: OpaquePointer
    /// Laid-out paragraphs by their inputs. Invoices repeat the same labels on every page, and
    /// layout is a pure function of these inputs, so reuse cannot change the output.
    private var cache: [LayoutKey: Paragraph] = [:]
    private static let cacheLimit = 4096

    private struct LayoutKey: Hashable {
        var text: String
        var width: Double
        var style: TextStyle
        var direction: BaseDirection
        var alignment: TextAlignment
        var language: String?
    }

    public init(fonts: FontSet) {
        self.fonts = fonts
        buffer = hb_buffer_create()
    }

    deinit { hb_buffer_destroy(buffer) }

    /// Lays out `text` in a box `width` points wide. Newlines start new paragraphs inside the box.
    public func layout(
        _ text: String, width: Double, style: TextStyle, direction: BaseDirection = .auto,
        alignment: TextAlignment = .start, language: String? = nil
    ) -> Paragraph {
        let key = LayoutKey(
            text: text, width: width, style: style, direction: direction, alignment: alignment, language: language)
        if let hit = cache[key] { return hit }
        let paragraph = layoutUncached(
            text, width: width, style: style, direction: direction, alignment: alignment, language: language)
        if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
        cache[key] = paragraph
        return paragraph
    }

    private func layoutUncached(
        _ text: String, width: Double, style: TextStyle, direction: BaseDirection, alignment: TextAlignment,
        language: String?
    ) -> Paragraph {
        var lines: [Line] = []
        var rtlParagraph = direction == .rightToLeft
        let lineHeight = style.size * style.leading
        for (index, part) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let (partLines, rtl) = layoutParagraph(
                Array(part.unicodeScalars), width: width, style: style, direction: direction, alignment: alignment)
            if index == 0 { rtlParagraph = rtl }
            lines += partLines
        }
        // Baselines: the first sits one ascent below the top, the rest one line height apart.
        let ascent = style.size * 1.0
        for i in lines.indices { lines[i].baseline = ascent + Double(i) * lineHeight }
        let height = lines.isEmpty ? 0 : ascent + Double(lines.count - 1) * lineHeight + style.size * 0.35
        return Paragraph(
            lines: lines, width: width, height: height, style: style, rightToLeft: rtlParagraph, language: language)
    }

    /// Width the text would take on one line, in points.
    public func measure(_ text: String, style: TextStyle) -> Double {
        layout(text, width: .greatestFiniteMagnitude, style: style, alignment: .left).lines.map(\.width).max() ?? 0
    }

    // MARK: - One paragraph

    private struct ShapedGlyph {
        var glyph: UInt32
        var cluster: Int
        var advance: Double
        var xOffset: Double
        var yOffset: Double
    }

    private struct ShapedRun {
        var start: Int
        var end: Int
        var face: Int
        var level: UInt8
        /// Glyphs in visual order as HarfBuzz returns them.
        var glyphs: [ShapedGlyph]
    }

    private func layoutParagraph(
        _ scalars: [Unicode.Scalar], width: Double, style: TextStyle, direction: BaseDirection,
        alignment: TextAlignment
    ) -> ([Line], Bool) {
        let (levels, rtl) = Bidi.levels(scalars, base: direction)
        if scalars.isEmpty {
            return ([Line(runs: [], x: 0, baseline: 0, width: 0, text: "")], rtl)
        }
        let faces = assignFaces(scalars, bold: style.bold)
        // Runs of equal level and face.
        var runs: [ShapedRun] = []
        var start = 0
        for i in 1...scalars.count where i == scalars.count || levels[i] != levels[start] || faces[i] != faces[start] {
            runs.append(shape(scalars, start, i, face: faces[start], level: levels[start], size: style.size))
            start = i
        }
        // Advance per character (a cluster's advance is charged to its first character).
        var advance = [Double](repeating: 0, count: scalars.count)
        for run in runs { for g in run.glyphs { advance[g.cluster] += g.advance } }

        let breaks = breakLines(scalars, advance: advance, width: width)
        var lines: [Line] = []
        for (a, b) in breaks {
            // Trailing spaces hang outside the line (UAX #9 L1 resets them; we drop them).
            var end = b
            while end > a, scalars[end - 1].properties.isWhitespace { end -= 1 }
            lines.append(
                makeLine(
                    scalars, runs: runs, from: a, to: end, width: width, rtl: rtl, alignment: alignment,
                    size: style.size))
        }
        return (lines, rtl)
    }

    private static func isArabicLetter(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x0600...0x06FF, 0x0750...0x077F, 0x0870...0x08FF, 0xFB50...0xFDFF, 0xFE70...0xFEFF: true
        default: false
        }
    }

    private static func follows(_ s: Unicode.Scalar) -> Bool {
        if s.properties.isWhitespace || s.value == 0x200C || s.value == 0x200D { return true }
        switch s.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .spacingMark: return true
        default: return false
        }
    }

    /// Chooses a face per character: Arabic letters and Arabic punctuation use the Arabic face,
    /// other characters the Latin face; combining marks, joiners and spaces take their
    /// neighbour's face so runs stay whole; a face without the glyph hands over to the other.
    private func assignFaces(_ scalars: [Unicode.Scalar], bold: Bool) -> [Int] {
        let latin = fonts.latin(bold: bold)
        let arabic = fonts.arabic(bold: bold)
        var result = [Int](repeating: -1, count: scalars.count)
        for (i, s) in scalars.enumerated() where !Self.follows(s) {
            let preferred = Self.isArabicLetter(s) ? arabic : latin
            let other = preferred == latin ? arabic : latin
            result[i] =
                fonts.faces[preferred].covers(s)
                ? preferred
                : fonts.faces[other].covers(s)
                    ? other : (fonts.fallbackFaces.first { fonts.faces[$0].covers(s) } ?? preferred)
        }
        // Followers take the previous face; leading followers the next one.
        var last = -1
        for i in result.indices {
            if result[i] == -1 { result[i] = last } else { last = result[i] }
        }
        let first = result.first(where: { $0 != -1 }) ?? latin
        for i in result.indices where result[i] == -1 { result[i] = first }
        // A space between two runs of different faces goes with the following run only if
        // the previous face lacks it (both Noto faces have spaces, so it stays put).
        for (i, s) in scalars.enumerated() where Self.follows(s) && !fonts.faces[result[i]].covers(s) {
            if s.properties.isWhitespace { result[i] = result[i] == latin ? arabic : latin }
        }
        return result
    }

    private func shape(_ scalars: [Unicode.Scalar], _ start: Int, _ end: Int, face: Int, level: UInt8, size: Double)
        -> ShapedRun
    {
        let font = fonts.faces[face]
        hb_buffer_clear_contents(buffer)
        let codepoints = scalars.map { $0.value }
        // The whole paragraph is context, so joining across face changes is right.
        hb_buffer_add_codepoints(buffer, codepoints, Int32(codepoints.count), UInt32(start), Int32(end - start))
        let rtl = level & 1 == 1
        hb_buffer_set_direction(buffer, rtl ? HB_DIRECTION_RTL : HB_DIRECTION_LTR)
        let arabic = fonts.isArabicFace(face)
        if fonts.fallbackFaces.contains(face) {
            // Symbols, emoji, CJK: HarfBuzz tells script and language from the text itself.
            hb_buffer_guess_segment_properties(buffer)
        } else {
            hb_buffer_set_script(buffer, arabic ? HB_SCRIPT_ARABIC : HB_SCRIPT_LATIN)
            hb_buffer_set_language(buffer, hb_language_from_string(arabic ? "ar" : "en", -1))
        }
        hb_buffer_set_cluster_level(buffer, HB_BUFFER_CLUSTER_LEVEL_MONOTONE_GRAPHEMES)
        hb_shape(font.hbFont, buffer, nil, 0)
        var count: UInt32 = 0
        let infos = hb_buffer_get_glyph_infos(buffer, &count)!
        let positions = hb_buffer_get_glyph_positions(buffer, &count)!
        let scale = size / Double(font.unitsPerEm)
        var glyphs: [ShapedGlyph] = []
        glyphs.reserveCapacity(Int(count))
        for i in 0..<Int(count) {
            glyphs.append(
                ShapedGlyph(
                    glyph: infos[i].codepoint, cluster: Int(infos[i].cluster),
                    advance: Double(positions[i].x_advance) * scale, xOffset: Double(positions[i].x_offset) * scale,
                    yOffset: Double(positions[i].y_offset) * scale))
        }
        return ShapedRun(start: start, end: end, face: face, level: level, glyphs: glyphs)
    }

    /// Greedy breaking at spaces; a word wider than the box is cut between characters.
    private func breakLines(_ scalars: [Unicode.Scalar], advance: [Double], width: Double) -> [(Int, Int)] {
        var lines: [(Int, Int)] = []
        var lineStart = 0
        var lineWidth = 0.0  // width up to the end of the last whole word, without its trailing spaces
        var i = 0
        let n = scalars.count
        while i < n {
            // Next word: non-spaces then the spaces after them.
            var j = i
            var wordWidth = 0.0
            while j < n, !scalars[j].properties.isWhitespace {
                wordWidth += advance[j]
                j += 1
            }
            var spaces = 0.0
            var k = j
            while k < n, scalars[k].properties.isWhitespace {
                spaces += advance[k]
                k += 1
            }
            if lineWidth + wordWidth > width + 0.001, i > lineStart {
                lines.append((lineStart, i))
                lineStart = i
                lineWidth = 0
            }
            if wordWidth > width + 0.001, i == lineStart {
                // Cut an overlong word (an e-mail address, say) where it overflows.
                var acc = 0.0
                var cut = i
                while cut < j, acc + advance[cut] <= width || cut == i {
                    acc += advance[cut]
                    cut += 1
                }
                while cut < j, advance[cut] == 0 { cut += 1 }  // keep marks with their base
                if cut < j {
                    lines.append((lineStart, cut))
                    lineStart = cut
                    lineWidth = 0
                    i = cut
                    continue
                }
            }
            lineWidth += wordWidth + spaces
            i = k
            // Do not count trailing spaces against the next word's fit check twice.
            if k == n { break }
        }
        lines.append((lineStart, n))
        return lines
    }

    private func makeLine(
        _ scalars: [Unicode.Scalar], runs: [ShapedRun], from a: Int, to b: Int, width: Double, rtl: Bool,
        alignment: TextAlignment, size: Double
    ) -> Line {
        // Pieces of runs inside [a, b), in logical order.
        var pieces: [ShapedRun] = []
        for run in runs where run.end > a && run.start < b {
            var piece = run
            piece.start = max(run.start, a)
            piece.end = min(run.end, b)
            piece.glyphs = run.glyphs.filter { $0.cluster >= piece.start && $0.cluster < piece.end }
            pieces.append(piece)
        }
        let order = Bidi.visualOrder(levels: pieces.map(\.level))
        var out: [GlyphRun] = []
        var x = 0.0
        for index in order {
            let piece = pieces[index]
            let rightToLeft = piece.level & 1 == 1
            var placed: [PlacedGlyph] = []
            placed.reserveCapacity(piece.glyphs.count)
            // Characters each glyph stands for: a cluster's text goes to its first glyph in logical order.
            var clusterEnds: [Int: Int] = [:]
            let starts = Set(piece.glyphs.map(\.cluster)).sorted()
            for (k, c) in starts.enumerated() { clusterEnds[c] = k + 1 < starts.count ? starts[k + 1] : piece.end }
            var seen = Set<Int>()
            let logical = rightToLeft ? Array(piece.glyphs.indices.reversed()) : Array(piece.glyphs.indices)
            var texts = [String](repeating: "", count: piece.glyphs.count)
            var glyphCount: [Int: Int] = [:]
            for g in piece.glyphs { glyphCount[g.cluster, default: 0] += 1 }
            var nth: [Int: Int] = [:]
            for gi in logical {
                let g = piece.glyphs[gi]
                let chars = Array(scalars[g.cluster..<(clusterEnds[g.cluster] ?? piece.end)])
                if glyphCount[g.cluster] == chars.count {
                    // As many glyphs as characters (base + marks): one character each.
                    let k = nth[g.cluster, default: 0]
                    texts[gi] = String(String.UnicodeScalarView(chars[k..<(k + 1)]))
                    nth[g.cluster] = k + 1
                } else if !seen.contains(g.cluster) {
                    texts[gi] = Self.ligatureText(chars, rightToLeft: rightToLeft)
                }
                seen.insert(g.cluster)
            }
            for (gi, g) in piece.glyphs.enumerated() {
                placed.append(PlacedGlyph(glyph: g.glyph, x: x + g.xOffset, y: g.yOffset, text: texts[gi]))
                x += g.advance
            }
            let text = String(String.UnicodeScalarView(scalars[piece.start..<piece.end]))
            var run = GlyphRun(face: piece.face, size: size, rightToLeft: rightToLeft, glyphs: placed, text: text)
            if rightToLeft {
                let clusters = piece.glyphs.map(\.cluster)
                run.actualText = Self.allahSpans(clusters, scalars, clusterEnds) + Self.mirroredSpans(clusters, scalars)
            }
            out.append(run)
        }
        let lineWidth = x
        let resolved: TextAlignment =
            switch alignment {
            case .start: rtl ? .right : .left
            case .end: rtl ? .left : .right
            default: alignment
            }
        let offset: Double =
            switch resolved {
            case .right: width - lineWidth
            case .center: (width - lineWidth) / 2
            default: 0
            }
        let text = String(String.UnicodeScalarView(scalars[a..<b]))
        return Line(runs: out, x: width.isFinite ? offset : 0, baseline: 0, width: lineWidth, text: text)
    }

    /// The Allah ligature in Arabic fonts covers lam-lam-heh and leaves the alef as its own
    /// glyph, so no ToUnicode entry can say "الله" without duplicating the alef. The alef and
    /// the ligature together get `/ActualText` U+FDF2 (ARABIC LIGATURE ALLAH ISOLATED FORM),
    /// one character that extractors cannot reverse and that NFKC turns back into "الله".
    static func allahSpans(_ clusters: [Int], _ scalars: [Unicode.Scalar], _ ends: [Int: Int]) -> [ActualTextSpan] {
        var spans: [ActualTextSpan] = []
        // Visual order in a right-to-left run: the ligature comes just left of the alef.
        for i in 0..<max(0, clusters.count - 1) {
            let lig = clusters[i]
            let alef = clusters[i + 1]
            guard alef + 1 == lig, scalars[alef] == "\u{0627}", let end = ends[lig], end - lig == 3,
                String(String.UnicodeScalarView(scalars[lig..<end])) == "\u{0644}\u{0644}\u{0647}"
            else { continue }
            spans.append(ActualTextSpan(first: i, last: i + 1, text: "\u{FDF2}"))
        }
        return spans
    }

    /// In a right-to-left run HarfBuzz draws a bidi-mirrored character with its mirror's glyph
    /// (logical "(" shows as ")"), and a font's ToUnicode can map that glyph to one character
    /// only: extraction then gave "اشتراك )شهري(". Each such glyph gets `/ActualText` with its
    /// own logical character, which a single-character span keeps through any reordering.
    static func mirroredSpans(_ clusters: [Int], _ scalars: [Unicode.Scalar]) -> [ActualTextSpan] {
        var count: [Int: Int] = [:]
        for c in clusters { count[c, default: 0] += 1 }
        return clusters.enumerated().compactMap { i, c in
            guard count[c] == 1, scalars[c].properties.isBidiMirrored else { return nil }
            // Between right-to-left marks: a bracket at the edge of the run stays inside it for
            // extractors that reverse runs of right-to-left characters (poppler), instead of
            // being left behind at the line's start. The marks are invisible format characters.
            return ActualTextSpan(first: i, last: i, text: "\u{200F}" + String(scalars[c]) + "\u{200F}")
        }
    }

    /// The text a ligature glyph stands for. In right-to-left runs a multi-character mapping is
    /// replaced by its Unicode presentation form where one exists (lam-alef, the Allah
    /// ligature): extractors reverse right-to-left text character by character, which would
    /// turn "لا" into "ال", while U+FEFB survives and NFKC turns it back into "لا".
    static func ligatureText(_ chars: [Unicode.Scalar], rightToLeft: Bool) -> String {
        let text = String(String.UnicodeScalarView(chars))
        guard rightToLeft, chars.count > 1 else { return text }
        return presentationForms[text] ?? text
    }

    static let presentationForms: [String: String] = [
        "\u{0644}\u{0627}": "\u{FEFB}", "\u{0644}\u{0623}": "\u{FEF7}", "\u{0644}\u{0625}": "\u{FEF9}",
        "\u{0644}\u{0622}": "\u{FEF5}", "\u{0627}\u{0644}\u{0644}\u{0647}": "\u{FDF2}",
    ]
}
