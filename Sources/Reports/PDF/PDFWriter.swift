import Crypto
import Foundation

/// A reference to an indirect object of a PDF being written.
public struct PDFRef: Hashable, Sendable {
    public let number: Int
}

/// Serializes indirect objects into a PDF 1.7 file with a classic cross-reference table.
///
/// Objects are numbered in the order they are reserved, which the document renderer keeps
/// stable, and the trailer `/ID` is derived from the SHA-256 of the body: the same document
/// always gives the same bytes, so re-rendering is idempotent and testable by hash.
struct PDFWriter {
    private var objects: [[UInt8]?] = []

    /// Reserves an object number, for objects that must be referenced before they are written.
    mutating func reserve() -> PDFRef {
        objects.append(nil)
        return PDFRef(number: objects.count)
    }

    mutating func set(_ ref: PDFRef, _ body: String) {
        objects[ref.number - 1] = Array(body.utf8)
    }

    mutating func add(_ body: String) -> PDFRef {
        let ref = reserve()
        set(ref, body)
        return ref
    }

    /// Writes a stream object; `compress` applies Flate unless the data is already compressed.
    mutating func setStream(_ ref: PDFRef, dictionary: String, data: [UInt8], compress: Bool = true) {
        let payload = compress ? Deflate.compress(data) : data
        var bytes = Array(
            "<<\(dictionary)\(compress ? "/Filter/FlateDecode" : "")/Length \(payload.count)>>\nstream\n".utf8)
        bytes += payload
        bytes += Array("\nendstream".utf8)
        objects[ref.number - 1] = bytes
    }

    mutating func addStream(dictionary: String, data: [UInt8], compress: Bool = true) -> PDFRef {
        let ref = reserve()
        setStream(ref, dictionary: dictionary, data: data, compress: compress)
        return ref
    }

    /// Assembles the file. Every reserved object must have been set.
    func finish(root: PDFRef, info: PDFRef?) -> [UInt8] {
        // Binary comment marks the file as binary for transfer tools (PDF 7.5.2).
        var out: [UInt8] = Array("%PDF-1.7\n%".utf8) + [0xE2, 0xE3, 0xCF, 0xD3, 0x0A]
        var offsets: [Int] = []
        offsets.reserveCapacity(objects.count)
        var hasher = SHA256()
        for (index, object) in objects.enumerated() {
            guard let object else { preconditionFailure("PDF object \(index + 1) reserved but never written") }
            offsets.append(out.count)
            out += Array("\(index + 1) 0 obj\n".utf8)
            out += object
            out += Array("\nendobj\n".utf8)
            hasher.update(data: object)
        }
        let id = hasher.finalize().prefix(16).map { String(format: "%02X", $0) }.joined()
        let xref = out.count
        var table = "xref\n0 \(objects.count + 1)\n0000000000 65535 f \n"
        table.reserveCapacity(table.utf8.count + 20 * objects.count)
        for offset in offsets {
            let digits = String(offset)
            table += String(repeating: "0", count: 10 - digits.count) + digits + " 00000 n \n"
        }
        out += Array(table.utf8)
        let infoEntry = info.map { "/Info \($0.number) 0 R" } ?? ""
        out += Array(
            "trailer\n<</Size \(objects.count + 1)/Root \(root.number) 0 R\(infoEntry)/ID[<\(id)><\(id)>]>>\nstartxref\n\(xref)\n%%EOF\n"
                .utf8)
        return out
    }
}

extension PDFRef {
    var r: String { "\(number) 0 R" }
}

/// PDF string and name encoding helpers.
enum PDFSyntax {
    /// A text string as UTF-16BE hex with BOM (PDF 7.9.2.2), safe for any Unicode text.
    static func textString(_ text: String) -> String {
        var hex = "<FEFF"
        for unit in text.utf16 { hex += hex4(unit) }
        return hex + ">"
    }

    static func hex4(_ value: UInt16) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        return String(
            decoding: [
                digits[Int(value >> 12)], digits[Int((value >> 8) & 0xF)], digits[Int((value >> 4) & 0xF)],
                digits[Int(value & 0xF)],
            ], as: UTF8.self)
    }

    /// A number with at most two decimals (1/7200 inch) and no exponent, as PDF content streams expect.
    static func number(_ value: Double) -> String {
        let scaled = (value * 100).rounded()
        if scaled == 0 { return "0" }
        let negative = scaled < 0
        let magnitude = Int(abs(scaled))
        var text = String(magnitude / 100)
        var fraction = magnitude % 100
        if fraction != 0 {
            var digits = String(fraction)
            digits = String(repeating: "0", count: 2 - digits.count) + digits
            while digits.hasSuffix("0") { digits.removeLast() }
            text += "." + digits
            fraction = 0
        }
        return negative ? "-" + text : text
    }

    /// Escapes a literal string's delimiters; used only for ASCII metadata.
    static func literal(_ text: String) -> String {
        var out = "("
        for ch in text {
            switch ch {
            case "(", ")", "\\": out += "\\\(ch)"
            default: out.append(ch)
            }
        }
        return out + ")"
    }
}
