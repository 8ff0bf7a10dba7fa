import Crypto
import Foundation

/// A reference to an indirect object of a PDF being written.
public struct PDFRef: Hashable, Sendable {
    public let number: Int
}

/// Serializes indirect objects into a PDF 1.7 file with a compressed object stream and a
/// cross-reference stream (PDF 7.5.7, 7.5.8).
///
/// Dictionaries (fonts, widths, pages, catalog) are a fifth of a small document's bytes when
/// written plainly; packed into one Flate-compressed object stream they shrink several times.
/// Streams stay top-level objects, as the format requires. Objects are numbered in the order they
/// are reserved, which the document renderer keeps stable, and the trailer `/ID` is derived from
/// the SHA-256 of the objects: the same document always gives the same bytes, so re-rendering is
/// idempotent and testable by hash.
struct PDFWriter {
    private enum Body {
        case dictionary([UInt8])
        case stream([UInt8])
    }
    private var objects: [Body?] = []
    private let deflate: Deflate

    init(deflate: Deflate) { self.deflate = deflate }

    /// Reserves an object number, for objects that must be referenced before they are written.
    mutating func reserve() -> PDFRef {
        objects.append(nil)
        return PDFRef(number: objects.count)
    }

    /// Sets a non-stream object (a dictionary, array or number).
    mutating func set(_ ref: PDFRef, _ body: String) {
        objects[ref.number - 1] = .dictionary(Array(body.utf8))
    }

    mutating func add(_ body: String) -> PDFRef {
        let ref = reserve()
        set(ref, body)
        return ref
    }

    /// Writes a stream object; `compress` applies Flate.
    mutating func setStream(_ ref: PDFRef, dictionary: String, data: [UInt8], compress: Bool = true) {
        if compress {
            setStream(ref, dictionary: dictionary + "/Filter/FlateDecode", encoded: deflate.compress(data))
        } else {
            setStream(ref, dictionary: dictionary, encoded: data)
        }
    }

    /// Writes a stream whose data is already encoded as `dictionary` says (for cached streams).
    mutating func setStream(_ ref: PDFRef, dictionary: String, encoded: [UInt8]) {
        var bytes = Array("<<\(dictionary)/Length \(encoded.count)>>\nstream\n".utf8)
        bytes += encoded
        bytes += Array("\nendstream".utf8)
        objects[ref.number - 1] = .stream(bytes)
    }

    mutating func addStream(dictionary: String, data: [UInt8], compress: Bool = true) -> PDFRef {
        let ref = reserve()
        setStream(ref, dictionary: dictionary, data: data, compress: compress)
        return ref
    }

    mutating func addStream(dictionary: String, encoded: [UInt8]) -> PDFRef {
        let ref = reserve()
        setStream(ref, dictionary: dictionary, encoded: encoded)
        return ref
    }

    /// Assembles the file. Every reserved object must have been set.
    func finish(root: PDFRef, info: PDFRef?) -> [UInt8] {
        // Binary comment marks the file as binary for transfer tools (PDF 7.5.2).
        var out: [UInt8] = Array("%PDF-1.7\n%".utf8) + [0xE2, 0xE3, 0xCF, 0xD3, 0x0A]
        let objectStream = objects.count + 1
        let xrefStream = objects.count + 2
        // Cross-reference entries (PDF Table 18): type, field 2, field 3.
        var entries: [(UInt8, Int, Int)] = [(0, 0, 0xFFFF)]
        var header = ""
        var packed: [UInt8] = []
        var packedCount = 0
        var hasher = SHA256()
        for (index, object) in objects.enumerated() {
            switch object {
            case nil:
                preconditionFailure("PDF object \(index + 1) reserved but never written")
            case .stream(let bytes):
                entries.append((1, out.count, 0))
                out += Array("\(index + 1) 0 obj\n".utf8)
                out += bytes
                out += Array("\nendobj\n".utf8)
                hasher.update(data: bytes)
            case .dictionary(let bytes):
                entries.append((2, objectStream, packedCount))
                packedCount += 1
                header += "\(index + 1) \(packed.count) "
                packed += bytes
                packed.append(0x0A)
                hasher.update(data: bytes)
            }
        }
        let id = hasher.finalize().prefix(16).map { String(format: "%02X", $0) }.joined()

        let headerBytes = Array(header.utf8)
        entries.append((1, out.count, 0))
        let streamData = deflate.compress(headerBytes + packed)
        out += Array(
            "\(objectStream) 0 obj\n<</Type/ObjStm/N \(packedCount)/First \(headerBytes.count)/Filter/FlateDecode/Length \(streamData.count)>>\nstream\n"
                .utf8)
        out += streamData
        out += Array("\nendstream\nendobj\n".utf8)

        let xrefOffset = out.count
        entries.append((1, xrefOffset, 0))
        var table: [UInt8] = []
        table.reserveCapacity(entries.count * 7)
        for (type, field2, field3) in entries {
            table.append(type)
            for shift in stride(from: 24, through: 0, by: -8) {
                table.append(UInt8(truncatingIfNeeded: field2 >> shift))
            }
            table.append(UInt8(truncatingIfNeeded: field3 >> 8))
            table.append(UInt8(truncatingIfNeeded: field3))
        }
        let xref = deflate.compress(table)
        let infoEntry = info.map { "/Info \($0.number) 0 R" } ?? ""
        out += Array(
            "\(xrefStream) 0 obj\n<</Type/XRef/Size \(xrefStream + 1)/W[1 4 2]/Root \(root.number) 0 R\(infoEntry)/ID[<\(id)><\(id)>]/Filter/FlateDecode/Length \(xref.count)>>\nstream\n"
                .utf8)
        out += xref
        out += Array("\nendstream\nendobj\nstartxref\n\(xrefOffset)\n%%EOF\n".utf8)
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
        var out = ContentStream(capacity: 16)
        out.number(value)
        return String(decoding: out.bytes.dropLast(), as: UTF8.self)  // without the separating space
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
