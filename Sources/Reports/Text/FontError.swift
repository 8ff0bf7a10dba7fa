/// Why a font could not be used. Carries the path so an operator can fix the configuration.
public enum FontError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case notAFont(path: String)
    case subsetFailed(font: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            "font \(path): cannot read (\(reason)); set the font paths (see docs/invoices.md)"
        case .notAFont(let path): "font \(path): not a TrueType/OpenType font FreeType can open"
        case .subsetFailed(let font): "font \(font): hb-subset failed"
        }
    }
}
