import CZlib

/// zlib (RFC 1950) compression for PDF `/FlateDecode` streams. One-shot `compress2` is
/// deterministic for a given input and level, which keeps re-rendered documents byte-identical.
enum Deflate {
    static func compress(_ input: [UInt8], level: Int32 = 9) -> [UInt8] {
        var bound = compressBound(uLong(input.count))
        var output = [UInt8](repeating: 0, count: Int(bound))
        let status = output.withUnsafeMutableBufferPointer { out in
            input.withUnsafeBufferPointer { inp in
                compress2(out.baseAddress, &bound, inp.baseAddress, uLong(inp.count), level)
            }
        }
        // Z_MEM_ERROR is the only failure possible with a correct bound; treat it as fatal.
        precondition(status == Z_OK, "zlib compress2 failed with \(status)")
        output.removeSubrange(Int(bound)...)
        return output
    }
}
