import Foundation

/// The four faces a bilingual document uses: a Latin face and an Arabic face, regular and bold.
/// Paths default to Debian's `fonts-noto-core` and can be overridden by the environment.
public final class FontSet {
    public struct Paths: Sendable, Equatable {
        public var sans: String
        public var sansBold: String
        public var arabic: String
        public var arabicBold: String

        public static let debian = Paths(
            sans: "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
            sansBold: "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
            arabic: "/usr/share/fonts/truetype/noto/NotoNaskhArabic-Regular.ttf",
            arabicBold: "/usr/share/fonts/truetype/noto/NotoNaskhArabic-Bold.ttf")

        public init(sans: String, sansBold: String, arabic: String, arabicBold: String) {
            self.sans = sans
            self.sansBold = sansBold
            self.arabic = arabic
            self.arabicBold = arabicBold
        }

        /// `SAMIA_FONT_SANS`, `SAMIA_FONT_SANS_BOLD`, `SAMIA_FONT_ARABIC`, `SAMIA_FONT_ARABIC_BOLD`
        /// override the Debian defaults one by one.
        public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> Paths {
            var paths = Paths.debian
            if let v = env["SAMIA_FONT_SANS"], !v.isEmpty { paths.sans = v }
            if let v = env["SAMIA_FONT_SANS_BOLD"], !v.isEmpty { paths.sansBold = v }
            if let v = env["SAMIA_FONT_ARABIC"], !v.isEmpty { paths.arabic = v }
            if let v = env["SAMIA_FONT_ARABIC_BOLD"], !v.isEmpty { paths.arabicBold = v }
            return paths
        }
    }

    /// Faces in a fixed order; the index is the face's identity inside a document.
    let faces: [FontFace]

    public init(paths: Paths = .fromEnvironment()) throws {
        faces = try [paths.sans, paths.sansBold, paths.arabic, paths.arabicBold].map { try FontFace(path: $0) }
    }

    func latin(bold: Bool) -> Int { bold ? 1 : 0 }
    func arabic(bold: Bool) -> Int { bold ? 3 : 2 }
    func isArabicFace(_ index: Int) -> Bool { index >= 2 }
}
