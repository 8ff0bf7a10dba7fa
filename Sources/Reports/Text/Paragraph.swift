/// A glyph placed on a line, in points relative to the line's origin (left end of the
/// baseline). `text` is what the glyph stands for, for the PDF ToUnicode map: several
/// characters for a ligature, empty for the second glyph of a decomposed cluster.
public struct PlacedGlyph: Sendable, Equatable {
    public var glyph: UInt32
    public var x: Double
    public var y: Double
    public var text: String
}

/// A run of glyphs of one face and one direction, in visual order.
public struct GlyphRun: Sendable, Equatable {
    public var face: Int
    public var size: Double
    public var rightToLeft: Bool
    public var glyphs: [PlacedGlyph]
    /// The run's characters in logical order (what a reader should extract).
    public var text: String
    /// Glyph ranges (visual indexes, inclusive) whose text is given as a whole through PDF
    /// `/ActualText`, for ligatures no single ToUnicode entry can describe.
    public var actualText: [ActualTextSpan] = []
}

public struct ActualTextSpan: Sendable, Equatable {
    public var first: Int
    public var last: Int
    public var text: String
}

/// One line of a laid-out paragraph: runs in visual (left-to-right) order.
public struct Line: Sendable, Equatable {
    public var runs: [GlyphRun]
    /// Horizontal offset of the line inside the paragraph box (alignment).
    public var x: Double
    /// Baseline offset from the top of the paragraph box.
    public var baseline: Double
    public var width: Double
    /// The line's text in logical order.
    public var text: String
}

public enum TextAlignment: Sendable {
    /// Left for left-to-right paragraphs, right for right-to-left ones.
    case start
    case end
    case left
    case right
    case center
}

public enum BaseDirection: Sendable {
    case leftToRight
    case rightToLeft
    /// From the first strong character (Unicode rule P2/P3).
    case auto
}

public struct RGB: Sendable, Hashable {
    public var r: Double
    public var g: Double
    public var b: Double
    public init(_ r: Double, _ g: Double, _ b: Double) {
        self.r = r
        self.g = g
        self.b = b
    }
    public static let black = RGB(0, 0, 0)
    public static let white = RGB(1, 1, 1)
    public init(hex: UInt32) {
        self.init(Double((hex >> 16) & 0xFF) / 255, Double((hex >> 8) & 0xFF) / 255, Double(hex & 0xFF) / 255)
    }
}

public struct TextStyle: Sendable, Hashable {
    public var size: Double
    public var bold: Bool
    public var color: RGB
    /// Line height as a multiple of the size.
    public var leading: Double
    public init(size: Double, bold: Bool = false, color: RGB = .black, leading: Double = 1.35) {
        self.size = size
        self.bold = bold
        self.color = color
        self.leading = leading
    }
}

/// A paragraph broken into lines and shaped, ready to be placed on a page.
public struct Paragraph: Sendable, Equatable {
    public var lines: [Line]
    public var width: Double
    public var height: Double
    public var style: TextStyle
    public var rightToLeft: Bool
    /// BCP 47 language of the paragraph, marked on the content for accessibility and extraction.
    public var language: String?
}
