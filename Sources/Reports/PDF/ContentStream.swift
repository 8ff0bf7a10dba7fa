/// A page content stream built as bytes.
///
/// Content is most of a page's work: thousands of numbers and glyph codes per invoice. Writing
/// them straight into a byte buffer (numbers without intermediate strings, glyph codes as binary
/// string bytes rather than hex) halves the stream before compression and avoids an allocation
/// per token.
struct ContentStream {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 16_384) { bytes.reserveCapacity(capacity) }

    /// Appends an operator or other fixed text, as is.
    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Appends arbitrary text (names, metadata) as UTF-8.
    mutating func text(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    /// Appends a number and a space: at most two decimals (1/7200 inch), no exponent, no "-0".
    mutating func number(_ value: Double) {
        var scaled = Int((value * 100).rounded())
        if scaled < 0 {
            bytes.append(UInt8(ascii: "-"))
            scaled = -scaled
        }
        integer(scaled / 100)
        let fraction = scaled % 100
        if fraction != 0 {
            bytes.append(UInt8(ascii: "."))
            bytes.append(UInt8(ascii: "0") + UInt8(fraction / 10))
            if fraction % 10 != 0 { bytes.append(UInt8(ascii: "0") + UInt8(fraction % 10)) }
        }
        bytes.append(UInt8(ascii: " "))
    }

    /// Appends a non-negative integer without a separator.
    mutating func integer(_ value: Int) {
        if value >= 10 { integer(value / 10) }
        bytes.append(UInt8(ascii: "0") + UInt8(value % 10))
    }

    /// Appends a two-byte code (Identity-H CID) inside a literal string, escaping the bytes the
    /// string syntax reserves (PDF 7.3.4.2): parentheses, backslash, and CR (read as a newline).
    mutating func code(_ cid: UInt16) {
        literalByte(UInt8(cid >> 8))
        literalByte(UInt8(cid & 0xFF))
    }

    private mutating func literalByte(_ b: UInt8) {
        switch b {
        case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "\\"):
            bytes.append(UInt8(ascii: "\\"))
            bytes.append(b)
        case 0x0D:
            bytes.append(UInt8(ascii: "\\"))
            bytes.append(UInt8(ascii: "r"))
        default:
            bytes.append(b)
        }
    }

    /// Appends `r g b rg` (fill) or `RG` (stroke).
    mutating func color(_ c: RGB, fill: Bool) {
        number(c.r)
        number(c.g)
        number(c.b)
        if fill { raw("rg\n") } else { raw("RG\n") }
    }
}
