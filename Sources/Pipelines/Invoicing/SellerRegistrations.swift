import Foundation
import Reports
import Runner

/// The seller's tax registrations by the buyer's country, from the `registrations` section of
/// `policy/vat-rates.yaml`. An invoice carries the number of the registration that covers its
/// buyer's country: a Spanish consumer charged Spanish VAT sees the OSS number, never the Saudi
/// VAT number. A country no registration covers is a configuration error for that document,
/// never invoiced under another country's number.
public struct SellerRegistrations: Sendable {
    public struct Registration: Sendable, Equatable {
        public let name: String
        public let scheme: TaxScheme
        /// The number itself, or the environment variable holding it (resolved before any work).
        public let number: String?
        public let numberEnv: String?
        public let countries: [String]
    }

    public let entries: [Registration]
    let source: String

    /// Reads the section's structure (absent: no registration, every invoice refused). Mistakes
    /// in the file are bad input (65) naming the registration and field.
    init(_ section: Any?, source: String, rates: [String: [VATRateTable.Entry]]) throws {
        self.source = source
        guard let section else {
            entries = []
            return
        }
        guard let map = section as? [String: Any] else {
            throw Self.bad(source, "registrations", "expected a map of registrations (name: {scheme, countries, …})")
        }
        var entries: [Registration] = []
        var owner: [String: String] = [:]
        for name in map.keys.sorted() {
            let entry = try Self.registration(name, map[name], source: source)
            for country in entry.countries {
                if let first = owner[country] {
                    throw Self.bad(source, "registrations.\(name).countries", "\(country) is also under \(first)")
                }
                owner[country] = name
                if entry.scheme == .none, let charged = rates[country]?.first(where: { $0.rate.basisPoints != 0 }) {
                    throw Self.bad(
                        source, "registrations.\(name).countries",
                        "\(country) is not registered (scheme none) but countries.\(country) charges \(charged.rate)% from \(charged.from)"
                    )
                }
            }
            entries.append(entry)
        }
        self.entries = entries
    }

    private static func registration(_ name: String, _ value: Any?, source: String) throws -> Registration {
        let field = "registrations.\(name)"
        guard let item = value as? [String: Any] else { throw bad(source, field, "expected {scheme, countries, …}") }
        guard let text = item["scheme"] as? String, let scheme = TaxScheme(rawValue: text) else {
            let known = TaxScheme.allCases.map(\.rawValue).joined(separator: ", ")
            throw bad(source, field + ".scheme", "expected one of \(known)")
        }
        let number = item["number"].map { "\($0)" }
        let numberEnv = item["number_env"].map { "\($0)" }
        switch (scheme, number, numberEnv) {
        case (.none, nil, nil): break
        case (.none, _, _): throw bad(source, field, "scheme none prints no number: remove number/number_env")
        case (_, .some, .some), (_, nil, nil):
            throw bad(source, field, "give exactly one of number and number_env")
        case (_, let number?, nil) where !scheme.accepts(number):
            throw bad(source, field + ".number", "\"\(number)\" is not \(scheme.format)")
        default: break
        }
        guard let list = item["countries"] as? [Any], !list.isEmpty else {
            throw bad(source, field + ".countries", "expected a list of ISO 3166-1 alpha-2 codes (or \"*\")")
        }
        let countries = list.map { "\($0)" }
        if let odd = countries.first(where: { $0 != "*" && !InvoiceDocument.isCountry($0) }) {
            throw bad(source, field + ".countries", "\"\(odd)\" is not an ISO 3166-1 alpha-2 code (or \"*\")")
        }
        return Registration(name: name, scheme: scheme, number: number, numberEnv: numberEnv, countries: countries)
    }

    static func bad(_ source: String, _ field: String, _ message: String) -> BatchError {
        BatchError.badInput(file: source, line: nil, field: field, message: message)
    }

    /// The numbers taken from the environment, each checked against its scheme: before any
    /// work, so a missing or mistyped number stops the run (78) before a document is numbered.
    public func resolved(_ env: [String: String]) throws -> SellerRegistrations {
        guard !entries.isEmpty else {
            throw BatchError.configuration(
                "\(source) has no registrations: say under which tax number each buyer country is invoiced (docs/invoices.md)"
            )
        }
        let resolved = try entries.map { entry -> Registration in
            guard let variable = entry.numberEnv else { return entry }
            guard let number = env[variable]?.trimmingCharacters(in: .whitespaces), !number.isEmpty else {
                throw BatchError.configuration(
                    "\(variable) is not set (the \(entry.scheme.rawValue) number of registration \(entry.name), printed on invoices to \(entry.countries.joined(separator: ", ")))"
                )
            }
            guard entry.scheme.accepts(number) else {
                throw BatchError.configuration("\(variable)=\(number) is not \(entry.scheme.format)")
            }
            return Registration(
                name: entry.name, scheme: entry.scheme, number: number, numberEnv: variable, countries: entry.countries)
        }
        return SellerRegistrations(entries: resolved, source: source)
    }

    private init(entries: [Registration], source: String) {
        self.entries = entries
        self.source = source
    }

    /// The registration a buyer in `country` is invoiced under at `rate`; "*" covers countries
    /// no other entry names (an empty country too). None, or a VAT rate where the seller is not
    /// registered, is a configuration error for this document.
    public func registration(country: String, rate: VATRate) throws -> Registration {
        let entry =
            entries.first { $0.countries.contains(country) } ?? entries.first { $0.countries.contains("*") }
        guard let entry else {
            throw BatchError.configuration(
                "no seller registration covers buyer country \(country.isEmpty ? "(none)" : country): add it under registrations in \(source); it is never invoiced under another country's number"
            )
        }
        guard entry.scheme != .none || rate.basisPoints == 0 else {
            throw BatchError.configuration(
                "buyer country \(country.isEmpty ? "(none)" : country) is under \(entry.name) (not registered) but its VAT rate is \(rate)%: register there or correct \(source)"
            )
        }
        return entry
    }
}
