/// Why a font could not be used. Carries the path so an operator can fix the configuration.
public enum FontError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case notAFont(path: String)
    case subsetFailed(font: String)
    case notTrueType(path: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            "font \(path): cannot read (\(reason)); set the font paths (see docs/invoices.md)"
        case .notAFont(let path): "font \(path): not a TrueType/OpenType font FreeType can open"
        case .subsetFailed(let font): "font \(font): hb-subset failed"
        case .notTrueType(let path):
            "font \(path): not TrueType outlines (glyf); the PDF embeds TrueType fonts only (CFF/OTF such as Noto CJK is not supported)"
        }
    }
}
