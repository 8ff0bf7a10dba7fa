import Foundation

/// The faces a bilingual document uses: a Latin face and an Arabic face, regular and bold, then
/// a fallback chain for what neither has (symbols, emoji, CJK), so a customer's name with an emoji
/// or in Chinese is drawn with real glyphs. Paths default to Debian's packages and can be
/// overridden by the environment.
public final class FontSet {
    public struct Paths: Sendable, Equatable {
        public var sans: String
        public var sansBold: String
        public var arabic: String
        public var arabicBold: String
        /// Tried in order for a character neither the Latin nor the Arabic face has. TrueType
        /// outlines only: Noto Sans Symbols and Symbols 2 (`fonts-noto-core`), Symbola's
        /// monochrome emoji (`fonts-symbola`; Noto Color Emoji is bitmaps, which a PDF font
        /// cannot carry), Droid Sans Fallback's CJK (`fonts-droid-fallback`; Noto CJK is CFF).
        public var fallbacks: [String]

        public static let debian = Paths(
            sans: "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
            sansBold: "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
            arabic: "/usr/share/fonts/truetype/noto/NotoNaskhArabic-Regular.ttf",
            arabicBold: "/usr/share/fonts/truetype/noto/NotoNaskhArabic-Bold.ttf",
            fallbacks: [
                "/usr/share/fonts/truetype/noto/NotoSansSymbols-Regular.ttf",
                "/usr/share/fonts/truetype/noto/NotoSansSymbols2-Regular.ttf",
                "/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf",
                "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
            ])

        public init(sans: String, sansBold: String, arabic: String, arabicBold: String, fallbacks: [String] = []) {
            self.sans = sans
            self.sansBold = sansBold
            self.arabic = arabic
            self.arabicBold = arabicBold
            self.fallbacks = fallbacks
        }

        /// `SAMIA_FONT_SANS`, `SAMIA_FONT_SANS_BOLD`, `SAMIA_FONT_ARABIC`, `SAMIA_FONT_ARABIC_BOLD`
        /// override the Debian defaults one by one; `SAMIA_FONT_FALLBACKS` replaces the chain
        /// (paths separated by `:`; empty: no fallback, such characters are refused).
        public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> Paths {
            var paths = Paths.debian
            if let v = env["SAMIA_FONT_SANS"], !v.isEmpty { paths.sans = v }
            if let v = env["SAMIA_FONT_SANS_BOLD"], !v.isEmpty { paths.sansBold = v }
            if let v = env["SAMIA_FONT_ARABIC"], !v.isEmpty { paths.arabic = v }
            if let v = env["SAMIA_FONT_ARABIC_BOLD"], !v.isEmpty { paths.arabicBold = v }
            if let v = env["SAMIA_FONT_FALLBACKS"] { paths.fallbacks = v.split(separator: ":").map(String.init) }
            return paths
        }
    }

    /// Faces in a fixed order; the index is the face's identity inside a document.
    let faces: [FontFace]

    public init(paths: Paths = .fromEnvironment()) throws {
        let main = try [paths.sans, paths.sansBold, paths.arabic, paths.arabicBold].map { try FontFace(path: $0) }
        let fallbacks = try paths.fallbacks.map { try FontFace(path: $0) }
        if let cff = (main + fallbacks).first(where: { !$0.hasTrueTypeOutlines }) {
            throw FontError.notTrueType(path: cff.path)
        }
        faces = main + fallbacks
    }

    func latin(bold: Bool) -> Int { bold ? 1 : 0 }
    func arabic(bold: Bool) -> Int { bold ? 3 : 2 }
    func isArabicFace(_ index: Int) -> Bool { index == 2 || index == 3 }
    /// Indices of the fallback faces, in the order they are tried.
    var fallbackFaces: Range<Int> { 4..<faces.count }
}
