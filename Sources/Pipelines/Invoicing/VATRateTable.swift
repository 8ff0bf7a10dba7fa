import Foundation
import Postgres
import Reports
import Runner
import Storage
import Yams

/// Effective-dated VAT rates per country from `policy/vat-rates.yaml`, with `INVOICE_VAT_RATE`
/// as the fallback for countries the file does not list.
public struct VATRateTable: Sendable {
    struct Entry: Sendable {
        let from: LocalDate
        let rate: VATRate
    }

    let countries: [String: [Entry]]
    let fallback: VATRate?
    /// Under which tax number each buyer country is invoiced.
    public let registrations: SellerRegistrations
    /// SHA-256 of the rates file as read, so a manifest can say which rates a check used.
    public let sourceSHA256: String

    public init(yaml: String, source: String, fallback: VATRate?) throws {
        self.fallback = fallback
        sourceSHA256 = SHA256Hex.of(Array(yaml.utf8))
        let root: Any?
        do { root = try Yams.load(yaml: yaml) } catch let error as YamlError {
            throw BatchError.badInput(file: source, line: Self.line(of: error), field: nil, message: "not valid YAML")
        }
        // A country given twice would silently replace the first list; a misspelt key would drop an entry.
        let registration = PolicyKeys.leaves(["scheme", "number", "number_env", "countries"])
        try PolicyKeys.fixed([
            "countries": .named(.list(.leaves(["from", "rate"]))), "registrations": .named(registration),
        ]).check(yaml: yaml) {
            BatchError.badInput(file: source, line: nil, field: $0, message: $1)
        }
        guard let top = root as? [String: Any], let list = top["countries"] as? [String: Any] else {
            throw BatchError.badInput(
                file: source, line: nil, field: "countries", message: "expected a map of countries")
        }
        var countries: [String: [Entry]] = [:]
        for (country, value) in list {
            guard country.count == 2, country == country.uppercased() else {
                throw BatchError.badInput(
                    file: source, line: nil, field: "countries.\(country)", message: "not an ISO 3166-1 alpha-2 code")
            }
            guard let items = value as? [[String: Any]], !items.isEmpty else {
                throw BatchError.badInput(
                    file: source, line: nil, field: "countries.\(country)", message: "expected a list of {from, rate}")
            }
            var entries: [Entry] = []
            for (i, item) in items.enumerated() {
                let field = "countries.\(country)[\(i)]"
                let fromText =
                    (item["from"] as? Date).map { LocalDate($0, in: TimeZone(identifier: "UTC")!).description }
                    ?? (item["from"].map { "\($0)" } ?? "")
                guard let from = LocalDate(fromText) else {
                    throw BatchError.badInput(
                        file: source, line: nil, field: field + ".from", message: "not a date YYYY-MM-DD")
                }
                guard let rateText = item["rate"].map({ "\($0)" }), let rate = VATRate(percent: rateText) else {
                    throw BatchError.badInput(
                        file: source, line: nil, field: field + ".rate",
                        message: "not a percentage 0-100 with at most two decimals")
                }
                entries.append(Entry(from: from, rate: rate))
            }
            entries.sort { $0.from < $1.from }
            countries[country] = entries
        }
        self.countries = countries
        registrations = try SellerRegistrations(top["registrations"], source: source, rates: countries)
    }

    public static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _): return mark.line
        default: return nil
        }
    }

    /// Loads `SAMIA_VAT_RATES` (default `policy/vat-rates.yaml` found like the templates).
    public static func load(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> VATRateTable {
        var fallback: VATRate?
        if let text = env["INVOICE_VAT_RATE"], !text.isEmpty {
            guard let rate = VATRate(percent: text) else {
                throw BatchError.configuration("INVOICE_VAT_RATE=\(text) is not a percentage between 0 and 100")
            }
            fallback = rate
        }
        let path = try env["SAMIA_VAT_RATES"].flatMap { $0.isEmpty ? nil : $0 } ?? PolicyFiles.locate("vat-rates.yaml")
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw BatchError.configuration("VAT rates file \(path) cannot be read")
        }
        return try VATRateTable(yaml: text, source: path, fallback: fallback)
    }

    /// Every entry as three array parameters (countries, first days, basis points), for checks
    /// done in SQL: `unnest($1::text[], $2::date[], $3::integer[])`.
    public var sqlParameters: [any PostgresEncodable] {
        let entries = countries.keys.sorted().flatMap { country in countries[country]!.map { (country, $0) } }
        return [
            PostgresArray(entries.map(\.0)), PostgresArray(entries.map(\.1.from)),
            PostgresArray(entries.map(\.1.rate.basisPoints)),
        ]
    }

    public var fallbackBasisPoints: Int? { fallback?.basisPoints }

    /// The rate for a buyer country on the supply date.
    public func rate(country: String, on day: LocalDate) throws -> VATRate {
        if let entries = countries[country.uppercased()], let entry = entries.last(where: { $0.from <= day }) {
            return entry.rate
        }
        if let fallback { return fallback }
        throw BatchError.configuration(
            "no VAT rate for country \(country.isEmpty ? "(none)" : country) on \(day): add it to policy/vat-rates.yaml or set INVOICE_VAT_RATE"
        )
    }
}
