/// The registration a document is issued under. It decides which tax number is printed and how
/// it is labelled, whether the ZATCA QR code applies, and the legal mention a tax authority
/// expects: a Spanish consumer's invoice must carry the seller's OSS number and mention, never
/// the Saudi VAT number that a KSA invoice carries.
public enum TaxScheme: String, Codable, Sendable, CaseIterable {
    /// Saudi VAT (ZATCA): 15 digits, first and last 3; simplified invoices carry the QR code.
    case ksaVAT = "ksa_vat"
    /// UAE Tax Registration Number (FTA): 15 digits starting 100.
    case uaeTRN = "uae_trn"
    /// The EU One-Stop Shop: `EU` and 9 digits (non-Union scheme), or a member state's VAT number
    /// (Union scheme).
    case euOSS = "eu_oss"
    /// Another country's VAT registration (Bahrain, Oman, Egypt, …): 5–20 letters and digits.
    case vat
    /// Not registered where the buyer is (no VAT there): no tax number, no VAT charged.
    case none

    /// The label key of the printed number (`nil`: no number printed).
    public var labelKey: String? {
        switch self {
        case .ksaVAT, .vat: "vat_number"
        case .uaeTRN: "tax_id_uae_trn"
        case .euOSS: "tax_id_eu_oss"
        case .none: nil
        }
    }

    /// The legal mention printed under the totals (`nil`: none).
    public var mentionKey: String? {
        switch self {
        case .euOSS: "mention_eu_oss"
        case .none: "mention_not_registered"
        default: nil
        }
    }

    /// The scheme a number of the given shape belongs to, for documents that do not name one
    /// (render JSON and snapshots written before schemes existed).
    public static func inferred(from number: String) -> TaxScheme? {
        if number.isEmpty { return nil }
        if let scheme = [TaxScheme.ksaVAT, .uaeTRN, .euOSS].first(where: { $0.accepts(number) }) { return scheme }
        // Unnamed, another country's number must show its country: a prefix and 2–13 characters.
        let rest = number.dropFirst(2)
        guard TaxScheme.vat.accepts(number),
            InvoiceDocument.countries.union(["EL", "XI"]).contains(String(number.prefix(2))),
            (2...13).contains(rest.count)
        else { return nil }
        return .vat
    }

    /// Whether `number` has this scheme's format.
    public func accepts(_ number: String) -> Bool {
        let digits = !number.isEmpty && number.allSatisfy { $0.isASCII && $0.isNumber }
        let alphanumeric = number.allSatisfy { $0.isASCII && ($0.isNumber || $0.isUppercase) }
        switch self {
        case .ksaVAT: return digits && number.count == 15 && number.hasPrefix("3") && number.hasSuffix("3")
        case .uaeTRN: return digits && number.count == 15 && number.hasPrefix("100")
        case .euOSS:
            let rest = number.dropFirst(2)
            if number.hasPrefix("EU") { return rest.count == 9 && rest.allSatisfy { $0.isASCII && $0.isNumber } }
            return Self.euMemberPrefixes.contains(String(number.prefix(2))) && (2...13).contains(rest.count)
                && alphanumeric
        case .vat: return (5...20).contains(number.count) && alphanumeric
        case .none: return number.isEmpty
        }
    }

    /// What `accepts` wants, for error messages.
    public var format: String {
        switch self {
        case .ksaVAT: "a KSA VAT number (15 digits, first and last 3)"
        case .uaeTRN: "a UAE TRN (15 digits starting 100)"
        case .euOSS: "an OSS number (EU and 9 digits, or an EU member state's VAT number)"
        case .vat: "a VAT number of 5 to 20 capital letters and digits"
        case .none: "no number (not registered)"
        }
    }

    /// VAT number prefixes of the EU member states (Greece is EL).
    public static let euMemberPrefixes: Set<String> = [
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "EL", "HU", "IE", "IT", "LV", "LT", "LU",
        "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
    ]

    /// EU member states by ISO 3166 code (Greece is GR), where a business buyer with a VAT
    /// number accounts for the VAT itself (reverse charge).
    public static let euMemberCountries: Set<String> = euMemberPrefixes.subtracting(["EL"]).union(["GR"])
}
