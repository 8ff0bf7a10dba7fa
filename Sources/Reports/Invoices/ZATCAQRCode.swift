import Foundation

/// The ZATCA phase-1 QR payload for Saudi simplified tax invoices: Base64 of TLV records, tag
/// and length one byte each, the length being the UTF-8 byte count of the value.
public enum ZATCAQRCode {
    public static func payload(
        sellerName: String, vatNumber: String, timestamp: String, total: String, vatTotal: String
    ) throws -> String {
        var bytes: [UInt8] = []
        for (tag, value) in [(1, sellerName), (2, vatNumber), (3, timestamp), (4, total), (5, vatTotal)] {
            let utf8 = Array(value.utf8)
            guard utf8.count <= 255 else {
                throw InvoiceError.invalidField(field: "zatca tag \(tag)", reason: "longer than 255 bytes")
            }
            bytes.append(UInt8(tag))
            bytes.append(UInt8(utf8.count))
            bytes += utf8
        }
        return Data(bytes).base64EncodedString()
    }
}
