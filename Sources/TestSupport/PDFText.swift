import Foundation

/// Text of a PDF as poppler's `pdftotext` gives it, with the bidi controls it inserts removed
/// and NFKC applied (so presentation forms such as U+FDF2 compare equal to their letters).
public enum PDFText {
    public static func extract(_ path: String) throws -> String {
        let r = try Shell.run("/usr/bin/pdftotext", [path, "-"])
        guard r.status == 0 else { throw TestSupportError.toolFailed("pdftotext \(path): \(r.stderr)") }
        let kept = r.stdout.unicodeScalars.filter {
            !(0x202A...0x202E).contains($0.value) && !(0x2066...0x2069).contains($0.value) && $0.value != 0x200E
                && $0.value != 0x200F
        }
        return String(String.UnicodeScalarView(kept)).precomposedStringWithCompatibilityMapping
    }
}
