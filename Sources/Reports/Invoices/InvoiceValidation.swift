import Foundation

/// The checks every document passes before it is numbered or drawn, whether it came from
/// `render`'s JSON or from the database: a legal document is refused (65, naming the field and
/// the value) rather than printed with a country that does not exist or a malformed tax number.
extension InvoiceDocument {
    /// ISO 3166-1 alpha-2 codes, as the platform's ICU knows them.
    static let countries: Set<String> = Set(
        Locale.Region.isoRegions.map(\.identifier).filter { $0.count == 2 && $0.allSatisfy(\.isUppercase) })

    /// Whether `code` is an ISO 3166-1 alpha-2 country code.
    public static func isCountry(_ code: String) -> Bool { countries.contains(code) }

    public func validate() throws {
        let country = buyer.country
        guard country.isEmpty || Self.countries.contains(country) else {
            throw InvoiceError.invalidField(
                field: "buyer.country", reason: "\"\(country)\" is not an ISO 3166-1 alpha-2 country code")
        }
        try checkRegistration()
        try checkAccounting()
        try checkLengths()
    }

    /// The seller's number has its scheme's format; a seller not registered where the buyer is,
    /// or a reverse-charge supply to an EU business, charges no VAT.
    func checkRegistration() throws {
        guard let scheme = seller.scheme, scheme.accepts(seller.vatNumber) else {
            let wanted =
                seller.taxScheme.map { $0.format }
                ?? "a KSA VAT number (15 digits, first and last 3), a UAE TRN (15 digits from 100) or a VAT number "
                + "(country prefix and 2–13 letters or digits)"
            throw InvoiceError.invalidField(
                field: "seller.vat_number", reason: "\"\(seller.vatNumber)\" is not \(wanted)")
        }
        if let number = buyer.vatNumber, !number.isEmpty, !TaxScheme.vat.accepts(number) {
            throw InvoiceError.invalidField(
                field: "buyer.vat_number",
                reason: "\"\(number)\" is not a VAT number (5 to 20 capital letters and digits)")
        }
        let why =
            scheme == .none
            ? "the seller is not registered for VAT here (seller.tax_scheme none)"
            : buyer.isReverseCharge ? "a supply to an EU business (buyer.vat_number) is reverse charged" : nil
        if let why, let i = lines.firstIndex(where: { $0.vatRate.basisPoints != 0 }) {
            throw InvoiceError.invalidField(
                field: "lines[\(i)].vat_rate", reason: "\(lines[i].vatRate)% charged, but \(why): no VAT may be charged"
            )
        }
    }

    /// A KSA tax document in another currency states its VAT in SAR at a dated rate; a rate given
    /// is a positive decimal for a real day.
    func checkAccounting() throws {
        guard let accounting else {
            // An unknown currency is the totals' error to name.
            guard
                seller.scheme != .ksaVAT || currency == "SAR" || kind == .receipt || Currency.exponent(currency) == nil
            else {
                throw InvoiceError.invalidField(
                    field: "accounting",
                    reason: "a KSA tax document in \(currency) must state its VAT total in SAR: "
                        + "{currency: SAR, rate, rate_date}")
            }
            return
        }
        guard Currency.exponent(accounting.currency) != nil, accounting.currency != currency,
            seller.scheme != .ksaVAT || accounting.currency == "SAR"
        else {
            throw InvoiceError.invalidField(
                field: "accounting.currency",
                reason:
                    "\"\(accounting.currency)\" is not \(seller.scheme == .ksaVAT ? "SAR" : "another ISO 4217 currency")"
            )
        }
        guard Self.isRate(accounting.rate) else {
            throw InvoiceError.invalidField(
                field: "accounting.rate",
                reason: "\"\(accounting.rate)\" is not a positive decimal with at most 10 decimals")
        }
        guard ISOTime.isReal(accounting.rateDate + "T00:00:00Z"), accounting.rateDate.count == 10 else {
            throw InvoiceError.invalidField(
                field: "accounting.rate_date", reason: "\"\(accounting.rateDate)\" is not a day YYYY-MM-DD")
        }
    }

    static func isRate(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let digits = { (s: Substring) in !s.isEmpty && s.allSatisfy { $0.isASCII && $0.isNumber } }
        guard (1...2).contains(parts.count), digits(parts[0]), parts[0].count <= 9,
            parts.count == 1 || (digits(parts[1]) && parts[1].count <= 10)
        else { return false }
        return text.contains { $0 != "0" && $0 != "." }
    }

    /// The longest text each field may hold, in characters, and the most lines: past these a
    /// field is refused rather than typeset for minutes or drawn off the page (docs/invoices.md).
    public static let limits: [String: Int] = [
        "name": 200, "address": 400, "email": 254, "description": 300, "reference": 100, "reason": 500, "lines": 200,
    ]

    /// Every text field the document prints: its JSON path, its text and its kind (the key of
    /// its limit in `limits`). The one list the length and the glyph checks both walk.
    public var printedFields: [(field: String, text: String, kind: String)] {
        var fields: [(field: String, text: String, kind: String)] = [
            ("number", number, "reference"), ("order_reference", orderReference, "reference"),
            ("payment_reference", paymentReference ?? "", "reference"), ("reason", reason ?? "", "reason"),
            ("seller.name_en", seller.nameEn, "name"), ("seller.name_ar", seller.nameAr, "name"),
            ("seller.address_en", seller.addressEn, "address"), ("seller.address_ar", seller.addressAr, "address"),
            ("seller.email", seller.email, "email"), ("buyer.name", buyer.name, "name"),
            ("buyer.email", buyer.email, "email"), ("buyer.vat_number", buyer.vatNumber ?? "", "reference"),
            ("buyer.address", buyer.address ?? "", "address"),
        ]
        for (i, line) in lines.enumerated() {
            fields.append(("lines[\(i)].description_en", line.descriptionEn, "description"))
            fields.append(("lines[\(i)].description_ar", line.descriptionAr, "description"))
        }
        return fields
    }

    /// Every text field against its limit in `limits`.
    func checkLengths() throws {
        guard lines.count <= Self.limits["lines"]! else {
            throw InvoiceError.invalidField(
                field: "lines", reason: "\(lines.count) lines; at most \(Self.limits["lines"]!) per document")
        }
        // Counted in UTF-8 bytes first: a 10 MB name is refused without walking its characters.
        for (field, text, kind) in printedFields {
            let limit = Self.limits[kind]!
            guard text.utf8.count > limit, text.count > limit else { continue }
            throw InvoiceError.invalidField(
                field: field, reason: "\(text.count) characters; at most \(limit) (docs/invoices.md, limits)")
        }
    }

    /// The JSON fields a document may have, by object; anything else is a typo that would
    /// otherwise be dropped without a word (a misspelt `amount_paid` would print the total).
    static let fields: [String: Set<String>] = [
        "": [
            "kind", "number", "issued_at", "supplied_at", "order_reference", "currency", "prices_include_vat",
            "seller", "buyer", "lines", "amount_paid", "payment_reference", "original", "reason", "accounting",
        ],
        "seller": ["name_en", "name_ar", "address_en", "address_ar", "vat_number", "email", "tax_scheme"],
        "buyer": ["name", "email", "country", "vat_number", "address"],
        "lines": ["description_en", "description_ar", "quantity", "unit_price", "vat_rate"],
        "original": ["number", "issued_at", "total", "credited_before", "credited_before_by_rate"],
        "accounting": ["currency", "rate", "rate_date"],
    ]

    /// Refuses a field the schema does not have, naming it with its path.
    static func checkFields(_ data: Data, source: String) throws {
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return }
        let object = (root["document"] as? [String: Any]) ?? root
        func check(_ value: Any?, _ name: String, _ path: String) throws {
            if let list = value as? [Any] {
                for (i, item) in list.enumerated() { try check(item, name, "\(path)[\(i)]") }
                return
            }
            guard let dict = value as? [String: Any], let known = fields[name] else { return }
            for key in dict.keys.sorted() where !known.contains(key) {
                throw InvoiceError.badJSON(
                    source: source,
                    detail:
                        "unknown field \(path.isEmpty ? key : path + "." + key) (known: \(known.sorted().joined(separator: ", ")))"
                )
            }
            guard name.isEmpty else { return }
            for key in ["seller", "buyer", "lines", "original", "accounting"] { try check(dict[key], key, key) }
        }
        try check(object, "", "")
    }
}
