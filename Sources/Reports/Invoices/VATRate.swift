/// A VAT rate in basis points (1500 = 15 %), exact for every rate tax authorities publish.
public struct VATRate: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public let basisPoints: Int

    public init(basisPoints: Int) {
        precondition((0...10_000).contains(basisPoints), "VAT rate out of range")
        self.basisPoints = basisPoints
    }

    /// Parses "15", "15.5" or "7.25" (percent, at most two decimals, 0–100).
    public init?(percent text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let parts = trimmed.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let whole = Int(parts[0]), whole >= 0, parts[0].allSatisfy(\.isNumber)
        else { return nil }
        var fraction = 0
        if parts.count == 2 {
            let f = parts[1]
            guard (1...2).contains(f.count), f.allSatisfy(\.isNumber), let v = Int(f) else { return nil }
            fraction = f.count == 1 ? v * 10 : v
        }
        let bp = whole * 100 + fraction
        guard bp <= 10_000 else { return nil }
        basisPoints = bp
    }

    /// "15", "15.5", "7.25".
    public var description: String {
        let whole = basisPoints / 100
        let fraction = basisPoints % 100
        if fraction == 0 { return String(whole) }
        return fraction % 10 == 0 ? "\(whole).\(fraction / 10)" : "\(whole).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    public static func < (a: VATRate, b: VATRate) -> Bool { a.basisPoints < b.basisPoints }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text: String
        if let number = try? container.decode(Int.self) {
            text = String(number)
        } else {
            text = try container.decode(String.self)
        }
        guard let rate = VATRate(percent: text) else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "VAT rate \"\(text)\" is not a percentage between 0 and 100 with at most two decimals"
            )
        }
        self = rate
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// VAT on a net amount, rounded half up (away from zero) to the minor unit.
    public func vat(onNet net: Int64) -> Int64 {
        Self.multiplyDivideHalfUp(net, Int64(basisPoints), 10_000)
    }

    /// The net part of a VAT-inclusive amount, rounded half up; VAT is the remainder, so
    /// net + VAT is exactly the gross.
    public func net(ofGross gross: Int64) -> Int64 {
        Self.multiplyDivideHalfUp(gross, 10_000, Int64(10_000 + basisPoints))
    }

    /// `a × m ÷ d` rounded half away from zero, with the product in 128 bits: `amount × 10000`
    /// overflowed Int64 (and trapped, killing the run) from about 9.2 × 10^14 minor units. The
    /// quotient never exceeds `|a|` here (`m ≤ d`), so it always fits.
    static func multiplyDivideHalfUp(_ a: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let product = a.multipliedFullWidth(by: m)
        let (q, r) = d.dividingFullWidth(product)
        if r == 0 { return q }
        return (2 * r.magnitude >= d.magnitude) ? (product.high < 0 ? q - 1 : q + 1) : q
    }
}

import Foundation
