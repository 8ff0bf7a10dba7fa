import CQREncode

/// A QR code symbol as a grid of modules, made by libqrencode, for drawing as vectors.
public struct QRCode: Sendable, Equatable {
    public let size: Int
    /// Row-major, `true` for a dark module.
    public let modules: [Bool]

    public enum Level: Sendable { case low, medium, quartile, high }

    /// Encodes bytes in 8-bit mode (the ZATCA payload is Base64 text, so any mode would do,
    /// but 8-bit keeps the bytes exactly as given).
    public init(bytes: [UInt8], level: Level = .medium) throws {
        let ec: QRecLevel =
            switch level {
            case .low: QR_ECLEVEL_L
            case .medium: QR_ECLEVEL_M
            case .quartile: QR_ECLEVEL_Q
            case .high: QR_ECLEVEL_H
            }
        guard !bytes.contains(0) else { throw QRCodeError.containsNUL }
        let code = (bytes + [0]).withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                QRcode_encodeString8bit($0, 0, ec)
            }
        }
        guard let code else { throw QRCodeError.tooLong(bytes: bytes.count) }
        defer { QRcode_free(code) }
        let width = Int(code.pointee.width)
        size = width
        modules = (0..<(width * width)).map { code.pointee.data[$0] & 1 == 1 }
    }

    public init(text: String, level: Level = .medium) throws {
        try self.init(bytes: Array(text.utf8), level: level)
    }

    public func isDark(row: Int, column: Int) -> Bool { modules[row * size + column] }
}

public enum QRCodeError: Error, CustomStringConvertible {
    case tooLong(bytes: Int)
    case containsNUL

    public var description: String {
        switch self {
        case .tooLong(let n): "QR payload of \(n) bytes does not fit a QR code"
        case .containsNUL: "QR payload contains a NUL byte"
        }
    }
}
