import Foundation

/// Everything printed on an invoice, receipt or credit note: the JSON that `samia-batch
/// render` reads (schema in docs/invoices.md) and the snapshot the invoicing pipeline stores
/// with each number, so a lost PDF is re-rendered to identical bytes.
public struct InvoiceDocument: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case invoice, receipt, creditNote = "credit_note" }

    public struct Party: Codable, Sendable, Equatable {
        public var nameEn: String
        public var nameAr: String
        public var addressEn: String
        public var addressAr: String
        public var vatNumber: String
        public var email: String
        /// The registration `vatNumber` belongs to; absent, it is told from the number's shape
        /// (documents written before schemes existed carry the KSA number and render as before).
        public var taxScheme: TaxScheme?
        public init(
            nameEn: String, nameAr: String, addressEn: String, addressAr: String, vatNumber: String, email: String,
            taxScheme: TaxScheme? = nil
        ) {
            self.nameEn = nameEn
            self.nameAr = nameAr
            self.addressEn = addressEn
            self.addressAr = addressAr
            self.vatNumber = vatNumber
            self.email = email
            self.taxScheme = taxScheme
        }

        /// The scheme named, or the one the number's shape belongs to.
        public var scheme: TaxScheme? { taxScheme ?? TaxScheme.inferred(from: vatNumber) }
    }

    public struct Buyer: Codable, Sendable, Equatable {
        public var name: String
        public var email: String
        /// ISO 3166-1 alpha-2.
        public var country: String
        /// A business buyer's VAT number (B2B): printed, and in the EU it makes the supply a
        /// reverse charge (no VAT charged).
        public var vatNumber: String?
        public var address: String?
        public init(name: String, email: String, country: String, vatNumber: String? = nil, address: String? = nil) {
            self.name = name
            self.email = email
            self.country = country
            self.vatNumber = vatNumber
            self.address = address
        }

        /// An EU business buyer accounts for the VAT itself (Article 196 of Directive 2006/112/EC).
        public var isReverseCharge: Bool {
            !(vatNumber ?? "").isEmpty && TaxScheme.euMemberCountries.contains(country)
        }
    }

    public struct LineItem: Codable, Sendable, Equatable {
        public var descriptionEn: String
        public var descriptionAr: String
        public var quantity: Int
        /// Major units as a decimal string ("115.00"), parsed exactly with the currency's exponent.
        public var unitPrice: String
        public var vatRate: VATRate
        public init(descriptionEn: String, descriptionAr: String, quantity: Int, unitPrice: String, vatRate: VATRate) {
            self.descriptionEn = descriptionEn
            self.descriptionAr = descriptionAr
            self.quantity = quantity
            self.unitPrice = unitPrice
            self.vatRate = vatRate
        }
    }

    /// The invoice a credit note corrects.
    public struct Original: Codable, Sendable, Equatable {
        public var number: String
        public var issuedAt: Date
        /// The original invoice's total with VAT.
        public var total: String
        /// What earlier credit notes of the same invoice credited, with VAT (absent: nothing).
        public var creditedBefore: String?
        /// The same split by VAT rate (percent → amount with VAT), needed when a note with several
        /// rates follows earlier notes: each rate's VAT is credited cumulatively.
        public var creditedBeforeByRate: [String: String]?
        public init(
            number: String, issuedAt: Date, total: String, creditedBefore: String? = nil,
            creditedBeforeByRate: [String: String]? = nil
        ) {
            self.number = number
            self.issuedAt = issuedAt
            self.total = total
            self.creditedBefore = creditedBefore
            self.creditedBeforeByRate = creditedBeforeByRate
        }
    }

    /// The VAT total restated in the seller's accounting currency at a dated rate, where the law
    /// asks for it: a KSA tax invoice in another currency must show its VAT in SAR (ZATCA).
    public struct Accounting: Codable, Sendable, Equatable {
        /// ISO 4217 (SAR under the KSA registration).
        public var currency: String
        /// Units of `currency` per one unit of the document's currency ("3.75"), at most 10 decimals.
        public var rate: String
        /// The day the rate is for, YYYY-MM-DD (the supply date's, or the latest before it).
        public var rateDate: String
        public init(currency: String, rate: String, rateDate: String) {
            self.currency = currency
            self.rate = rate
            self.rateDate = rateDate
        }
    }

    public var kind: Kind
    public var number: String
    public var issuedAt: Date
    public var suppliedAt: Date
    public var orderReference: String
    public var currency: String
    public var pricesIncludeVat: Bool
    public var seller: Party
    public var buyer: Buyer
    public var lines: [LineItem]
    /// Defaults to the total.
    public var amountPaid: String?
    public var paymentReference: String?
    public var original: Original?
    /// Reason printed on a credit note.
    public var reason: String?
    public var accounting: Accounting?

    public init(
        kind: Kind, number: String, issuedAt: Date, suppliedAt: Date, orderReference: String, currency: String,
        pricesIncludeVat: Bool, seller: Party, buyer: Buyer, lines: [LineItem], amountPaid: String? = nil,
        paymentReference: String? = nil, original: Original? = nil, reason: String? = nil,
        accounting: Accounting? = nil
    ) {
        self.kind = kind
        self.number = number
        self.issuedAt = issuedAt
        self.suppliedAt = suppliedAt
        self.orderReference = orderReference
        self.currency = currency
        self.pricesIncludeVat = pricesIncludeVat
        self.seller = seller
        self.buyer = buyer
        self.lines = lines
        self.amountPaid = amountPaid
        self.paymentReference = paymentReference
        self.original = original
        self.reason = reason
        self.accounting = accounting
    }

    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        // ISO 8601 with the field's path in the error: a bad date must not read as bad JSON.
        d.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = ISOTime.parse(text) else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "\"\(text)\" is not a date-time such as 2026-11-21T10:00:00Z")
            }
            return date
        }
        return d
    }

    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = [.sortedKeys]
        return e
    }

    /// Reads a document from JSON, naming the field at fault when it cannot.
    public static func parse(_ data: Data, source: String) throws -> InvoiceDocument {
        try checkFields(data, source: source)
        do {
            return try decoder().decode(InvoiceDocument.self, from: data)
        } catch let error as DecodingError {
            throw InvoiceError.badJSON(source: source, detail: Self.describe(error))
        }
    }

    /// JSON field names as the user wrote them (`issued_at`, not `issuedAt`).
    static func snake(_ key: String) -> String {
        var out = ""
        for ch in key {
            if ch.isUppercase {
                out += "_" + ch.lowercased()
            } else {
                out.append(ch)
            }
        }
        return out
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? ".\(snake($0.stringValue))" }.joined().trimmingCharacters(
                in: CharacterSet(charactersIn: "."))
        }
        switch error {
        case .keyNotFound(let key, let ctx): return "missing field \(path(ctx.codingPath + [key]))"
        case .typeMismatch(_, let ctx), .valueNotFound(_, let ctx):
            return "field \(path(ctx.codingPath)): \(ctx.debugDescription)"
        case .dataCorrupted(let ctx):
            return ctx.codingPath.isEmpty ? "not valid JSON" : "field \(path(ctx.codingPath)): \(ctx.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}

/// Why a document cannot be rendered; names the field so the caller can fix the input.
public enum InvoiceError: Error, CustomStringConvertible, Equatable {
    case badJSON(source: String, detail: String)
    case invalidField(field: String, reason: String)
    case missingLabel(file: String, key: String)
    case labelsNotFound(searched: [String])

    public var description: String {
        switch self {
        case .badJSON(let source, let detail): "\(source): \(detail)"
        case .invalidField(let field, let reason): "field \(field): \(reason)"
        case .missingLabel(let file, let key): "\(file): missing label \"\(key)\""
        case .labelsNotFound(let searched):
            "label catalogs (templates/locales/en.json, ar.json) not found; set SAMIA_TEMPLATES. Looked in: \(searched.joined(separator: ", "))"
        }
    }
}
