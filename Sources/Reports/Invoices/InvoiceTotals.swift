/// Exact totals of a document in minor units, rounded as EN 16931 rounds them (BR-CO-17):
/// the taxable base of each VAT rate is the sum of its lines, VAT is computed once per rate on
/// that base (half up, away from zero, to the currency's minor unit), and the document's totals
/// are the sums of the rates. Rounding each line instead drifts by a minor unit per line, so a
/// 20-line invoice could disagree with its own VAT breakdown, with the e-invoice validators and
/// with the VAT return. Each line's VAT column is its share of its rate's VAT (largest
/// remainder), so the columns still add up to the breakdown exactly.
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
    /// The VAT total in `accounting.currency`'s minor units (nil without an accounting currency).
    public var vatInAccounting: Int64?

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
        let amounts = try Self.lineAmounts(doc, exponent: exponent)
        var lines = [Line](
            repeating: Line(unitPrice: 0, net: 0, vat: 0, gross: 0, rate: .init(basisPoints: 0)),
            count: doc.lines.count)
        var groups: [(rate: VATRate, net: Int64, vat: Int64)] = []
        for rate in Set(doc.lines.map(\.vatRate)).sorted() {
            let members = doc.lines.indices.filter { doc.lines[$0].vatRate == rate }
            let base = try Self.sum(members.map { amounts[$0].amount }, field: "lines")
            let group = try Self.rateGroup(base, rate: rate, pricesIncludeVat: doc.pricesIncludeVat)
            let shares = Self.allocate(group.vat, over: members.map { amounts[$0].amount })
            for (k, i) in members.enumerated() {
                let (unit, amount, vat) = (amounts[i].unit, amounts[i].amount, shares[k])
                lines[i] =
                    doc.pricesIncludeVat
                    ? Line(unitPrice: unit, net: amount - vat, vat: vat, gross: amount, rate: rate)
                    : Line(unitPrice: unit, net: amount, vat: vat, gross: amount + vat, rate: rate)
            }
            groups.append(group)
        }
        self.lines = lines
        vatByRate = groups
        subtotal = try Self.sum(groups.map(\.net), field: "lines")
        vat = try Self.sum(groups.map(\.vat), field: "lines")
        total = try Self.sum([subtotal, vat], field: "lines")
        amountPaid =
            try doc.amountPaid.map { try Self.parse($0, exponent: exponent, field: "amount_paid") } ?? total
        if let original = doc.original, doc.kind == .creditNote { try creditAgainst(original, doc: doc) }
        if let accounting = doc.accounting {
            vatInAccounting = try Self.convert(vat, exponent: exponent, accounting: accounting)
        }
    }

    /// `minor` units of the document's currency in the accounting currency's minor units at the
    /// rate, rounded half up once (Decimal keeps 38 digits: exact for every amount accepted).
    static func convert(_ minor: Int64, exponent: Int, accounting: InvoiceDocument.Accounting) throws -> Int64 {
        guard let target = Currency.exponent(accounting.currency),
            let rate = Decimal(string: accounting.rate, locale: Locale(identifier: "en_US_POSIX"))
        else { throw InvoiceError.invalidField(field: "accounting", reason: "no currency or rate") }
        var value = Decimal(minor) * rate * pow(Decimal(10), target) / pow(Decimal(10), exponent)
        var rounded = Decimal()
        NSDecimalRound(&rounded, &value, 0, .plain)
        guard rounded < Decimal(Int64(1) << 62) else {
            throw InvoiceError.invalidField(
                field: "accounting.rate", reason: "the VAT in \(accounting.currency) is too large")
        }
        return NSDecimalNumber(decimal: rounded).int64Value
    }

    /// Each line's unit price and amount (quantity × unit price), exact or refused.
    private static func lineAmounts(_ doc: InvoiceDocument, exponent: Int) throws -> [(unit: Int64, amount: Int64)] {
        try doc.lines.enumerated().map { i, item in
            guard item.quantity > 0, item.quantity <= 1_000_000 else {
                throw InvoiceError.invalidField(field: "lines[\(i)].quantity", reason: "must be between 1 and 1000000")
            }
            let unit = try Self.parse(item.unitPrice, exponent: exponent, field: "lines[\(i)].unit_price")
            let (amount, overflow) = unit.multipliedReportingOverflow(by: Int64(item.quantity))
            guard !overflow, amount.magnitude < 1 << 50 else {
                throw InvoiceError.invalidField(field: "lines[\(i)].unit_price", reason: "amount too large")
            }
            return (unit, amount)
        }
    }

    /// One rate's taxable base and VAT from the sum of its lines: VAT on the base (net prices),
    /// or the base inside the gross (VAT-inclusive prices, where what the customer pays is fixed).
    static func rateGroup(_ amount: Int64, rate: VATRate, pricesIncludeVat: Bool) throws
        -> (rate: VATRate, net: Int64, vat: Int64)
    {
        if pricesIncludeVat {
            let net = rate.net(ofGross: amount)
            return (rate, net, amount - net)
        }
        let vat = rate.vat(onNet: amount)
        guard !amount.addingReportingOverflow(vat).overflow else {
            throw InvoiceError.invalidField(field: "lines", reason: "the total is too large")
        }
        return (rate, amount, vat)
    }

    /// Splits `total` over `weights` in proportion, by largest remainder (ties to the earlier
    /// line), so the parts add up to `total` exactly. Weights and total are never negative.
    static func allocate(_ total: Int64, over weights: [Int64]) -> [Int64] {
        let sum = weights.reduce(Int64(0), +)
        guard sum > 0 else { return weights.map { _ in 0 } }
        var parts: [Int64] = []
        var remainders: [(index: Int, remainder: UInt64)] = []
        for (i, weight) in weights.enumerated() {
            let (q, r) = sum.dividingFullWidth(total.multipliedFullWidth(by: weight))
            parts.append(q)
            remainders.append((i, UInt64(r)))
        }
        let left = Int(total - parts.reduce(0, +))
        let order = remainders.sorted {
            $0.remainder != $1.remainder ? $0.remainder > $1.remainder : $0.index < $1.index
        }
        for item in order.prefix(left) { parts[item.index] += 1 }
        return parts
    }

    /// A credit note against what remains of its invoice. With VAT-inclusive prices, its VAT per
    /// rate is the VAT of everything credited at that rate so far less the VAT already credited
    /// (BR-CO-17 on the cumulative amount), so partial notes that together credit the whole
    /// invoice credit exactly its VAT per rate instead of drifting by a rounding per note.
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
        let beforeByRate = try creditedBeforeByRate(original, before: before)
        guard doc.pricesIncludeVat, !beforeByRate.isEmpty else { return }
        for (g, group) in vatByRate.enumerated() {
            let earlier = beforeByRate[group.rate] ?? 0
            let gross = group.net + group.vat
            let vatOf = { (gross: Int64) -> Int64 in gross - group.rate.net(ofGross: gross) }
            let vat = vatOf(earlier + gross) - vatOf(earlier)
            let members = lines.indices.filter { lines[$0].rate == group.rate }
            let shares = Self.allocate(vat, over: members.map { lines[$0].gross })
            for (k, i) in members.enumerated() {
                lines[i].vat = shares[k]
                lines[i].net = lines[i].gross - shares[k]
            }
            vatByRate[g] = (group.rate, gross - vat, vat)
        }
        subtotal = vatByRate.reduce(0) { $0 + $1.net }
        vat = vatByRate.reduce(0) { $0 + $1.vat }
    }

    /// What earlier notes credited at each rate: `original.credited_before_by_rate`, or the whole
    /// `credited_before` when the note has a single rate. A note with several rates after earlier
    /// notes cannot be credited exactly without the split, so it is refused rather than guessed.
    private func creditedBeforeByRate(_ original: InvoiceDocument.Original, before: Int64) throws
        -> [VATRate: Int64]
    {
        let field = "original.credited_before_by_rate"
        guard let split = original.creditedBeforeByRate else {
            guard before > 0 else { return [:] }
            guard vatByRate.count == 1 else {
                throw InvoiceError.invalidField(
                    field: field,
                    reason:
                        "required for a note with several VAT rates after earlier notes (what each rate had credited)")
            }
            return [vatByRate[0].rate: before]
        }
        var byRate: [VATRate: Int64] = [:]
        for key in split.keys.sorted() {
            guard let rate = VATRate(percent: key) else {
                throw InvoiceError.invalidField(field: "\(field).\(key)", reason: "not a VAT rate in percent")
            }
            byRate[rate, default: 0] += try Self.parse(split[key]!, exponent: exponent, field: "\(field).\(key)")
        }
        guard byRate.values.reduce(0, +) == before else {
            throw InvoiceError.invalidField(
                field: field,
                reason: "adds up to other than original.credited_before (\(original.creditedBefore ?? "0"))")
        }
        return byRate
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
