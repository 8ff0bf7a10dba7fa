/// Exact totals of a document in minor units. Rounding: half up (away from zero), once per
/// line, to the currency's minor unit; totals are sums of rounded lines, so subtotal + VAT =
/// total always holds to the last minor unit.
public struct InvoiceTotals: Sendable, Equatable {
    public struct Line: Sendable, Equatable {
        public var unitPrice: Int64
        public var net: Int64
        public var vat: Int64
        public var gross: Int64
        public var rate: VATRate
    }

    public var exponent: Int
    public var lines: [Line]
    public var subtotal: Int64
    /// VAT per rate, ascending by rate.
    public var vatByRate: [(rate: VATRate, net: Int64, vat: Int64)]
    public var vat: Int64
    public var total: Int64
    public var amountPaid: Int64

    public static func == (a: InvoiceTotals, b: InvoiceTotals) -> Bool {
        a.lines == b.lines && a.subtotal == b.subtotal && a.vat == b.vat && a.total == b.total
            && a.amountPaid == b.amountPaid && a.vatByRate.map(\.rate) == b.vatByRate.map(\.rate)
            && a.vatByRate.map(\.vat) == b.vatByRate.map(\.vat)
    }

    public init(_ doc: InvoiceDocument) throws {
        try doc.validate()
        guard let exponent = Currency.exponent(doc.currency) else {
            throw InvoiceError.invalidField(field: "currency", reason: "unknown ISO 4217 currency \"\(doc.currency)\"")
        }
        self.exponent = exponent
        guard !doc.lines.isEmpty else { throw InvoiceError.invalidField(field: "lines", reason: "no line items") }
        var lines: [Line] = []
        for (i, item) in doc.lines.enumerated() {
            guard item.quantity > 0, item.quantity <= 1_000_000 else {
                throw InvoiceError.invalidField(field: "lines[\(i)].quantity", reason: "must be between 1 and 1000000")
            }
            let unit = try Self.parse(item.unitPrice, exponent: exponent, field: "lines[\(i)].unit_price")
            let (amount, overflow) = unit.multipliedReportingOverflow(by: Int64(item.quantity))
            guard !overflow, amount.magnitude < 1 << 50 else {
                throw InvoiceError.invalidField(field: "lines[\(i)].unit_price", reason: "amount too large")
            }
            if doc.pricesIncludeVat {
                let net = item.vatRate.net(ofGross: amount)
                lines.append(Line(unitPrice: unit, net: net, vat: amount - net, gross: amount, rate: item.vatRate))
            } else {
                let vat = item.vatRate.vat(onNet: amount)
                lines.append(Line(unitPrice: unit, net: amount, vat: vat, gross: amount + vat, rate: item.vatRate))
            }
        }
        self.lines = lines
        subtotal = try Self.sum(lines.map(\.net), field: "lines")
        vat = try Self.sum(lines.map(\.vat), field: "lines")
        total = try Self.sum(lines.map(\.gross), field: "lines")
        var byRate: [VATRate: (Int64, Int64)] = [:]
        for l in lines { byRate[l.rate, default: (0, 0)].0 += l.net; byRate[l.rate, default: (0, 0)].1 += l.vat }
        vatByRate = byRate.keys.sorted().map { ($0, byRate[$0]!.0, byRate[$0]!.1) }
        amountPaid =
            try doc.amountPaid.map { try Self.parse($0, exponent: exponent, field: "amount_paid") } ?? total
        if let original = doc.original, doc.kind == .creditNote { try creditAgainst(original, doc: doc) }
    }

    /// A credit note against what remains of its invoice. Its VAT is the VAT of everything
    /// credited so far less the VAT already credited (BR-CO-17 per rate, on the cumulative
    /// amount), so partial notes that together credit the whole invoice credit exactly its VAT
    /// instead of drifting by a rounding per note.
    private mutating func creditAgainst(_ original: InvoiceDocument.Original, doc: InvoiceDocument) throws {
        let invoiced = try Self.parse(original.total, exponent: exponent, field: "original.total")
        let before =
            try original.creditedBefore.map {
                try Self.parse($0, exponent: exponent, field: "original.credited_before")
            } ?? 0
        guard before <= invoiced, total <= invoiced - before else {
            throw InvoiceError.invalidField(
                field: "lines",
                reason: "the credit note's total exceeds what remains of the original invoice (\(original.total)"
                    + (before > 0 ? " less \(original.creditedBefore ?? "") credited before)" : ")"))
        }
        guard before > 0, lines.count == 1, doc.pricesIncludeVat else { return }
        let rate = lines[0].rate
        let vatOf = { (gross: Int64) -> Int64 in gross - rate.net(ofGross: gross) }
        let vat = vatOf(before + lines[0].gross) - vatOf(before)
        lines[0].vat = vat
        lines[0].net = lines[0].gross - vat
        subtotal = lines[0].net
        self.vat = vat
        vatByRate = [(rate, lines[0].net, vat)]
    }

    /// A sum that refuses to overflow: too many lines at the largest amounts is an error, never a trap.
    static func sum(_ values: [Int64], field: String) throws -> Int64 {
        try values.reduce(0) { total, value in
            let (next, overflow) = total.addingReportingOverflow(value)
            guard !overflow else { throw InvoiceError.invalidField(field: field, reason: "the total is too large") }
            return next
        }
    }

    /// Parses a major-unit decimal string exactly; more decimals than the currency has is an
    /// error, never a rounding.
    public static func parse(_ text: String, exponent: Int, field: String) throws -> Int64 {
        let s = Substring(text.trimmingCharacters(in: .whitespaces))
        // Amounts are never negative: a credit note is a document of its own kind, not a minus sign.
        if s.hasPrefix("-") {
            throw InvoiceError.invalidField(field: field, reason: "\"\(text)\" is negative; amounts must be 0 or more")
        }
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty, parts[0].allSatisfy({ $0.isASCII && $0.isNumber })
        else { throw InvoiceError.invalidField(field: field, reason: "\"\(text)\" is not a decimal amount") }
        guard parts[0].count <= 15 else {
            throw InvoiceError.invalidField(
                field: field, reason: "\"\(text)\" is too large (at most 15 digits before the point)")
        }
        let fraction = parts.count == 2 ? parts[1] : ""
        guard fraction.allSatisfy({ $0.isASCII && $0.isNumber }), parts.count == 1 || !fraction.isEmpty else {
            throw InvoiceError.invalidField(field: field, reason: "\"\(text)\" is not a decimal amount")
        }
        guard fraction.count <= exponent else {
            throw InvoiceError.invalidField(
                field: field, reason: "\"\(text)\" has more decimals than the currency's \(exponent)")
        }
        var value = Int64(parts[0])!
        for _ in 0..<exponent { value *= 10 }
        if !fraction.isEmpty {
            var f = Int64(fraction)!
            for _ in 0..<(exponent - fraction.count) { f *= 10 }
            value += f
        }
        return value
    }
}

import Foundation
