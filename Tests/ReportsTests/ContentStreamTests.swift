import Foundation
import TestSupport
import Testing

@testable import Reports

@Suite("PDF content encoding")
struct ContentStreamTests {
    @Test func numbersHaveTwoDecimalsNoExponentAndNoNegativeZero() {
        var out = ContentStream()
        for value in [0, 12, -3.5, 0.125, 1e-9, -0.004, 841.89, 123_456.789, -0.995] { out.number(value) }
        #expect(String(decoding: out.bytes, as: UTF8.self) == "0 12 -3.5 0.13 0 0 841.89 123456.79 -1 ")
    }

    @Test func glyphCodesEscapeOnlyWhatLiteralStringsReserve() {
        var out = ContentStream()
        // ( ) \ and CR must be escaped; NUL, LF and high bytes pass through.
        for cid: UInt16 in [0x0028, 0x2900, 0x5C0D, 0x000A, 0xFF00] { out.code(cid) }
        #expect(
            out.bytes == [
                0x00, 0x5C, 0x28, 0x5C, 0x29, 0x00, 0x5C, 0x5C, 0x5C, 0x72, 0x00, 0x0A, 0xFF, 0x00,
            ])
    }
}
