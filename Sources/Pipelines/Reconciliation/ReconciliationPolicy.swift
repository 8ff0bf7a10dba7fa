import Foundation
import Invoicing
import Postgres
import Reports
import Runner
import Yams

/// What "matched" means for one reconciliation run: the reporting time zone, tolerances and
/// the expected fee schedule, from `policy/reconciliation.yaml` (`SAMIA_RECONCILIATION_POLICY`).
/// Every value is written into the run's signed manifest.
public struct ReconciliationPolicy: Sendable, Equatable {
    public struct Fee: Sendable, Equatable {
        public var provider: String
        public var currency: String
        /// Percent of the settled gross, in hundredths of a percent (290 = 2.9 %).
        public var basisPoints: Int
        public var fixedMinor: Int64
    }

    public var timeZone: String
    public var amountToleranceMinor: Int64
    public var feeToleranceMinor: Int64
    public var inTransitDays: Int
    /// Days a payout may take to reach the bank (its deposit is looked for from the payout's
    /// day to this many days after).
    public var bankDays = 5
    public var fees: [Fee]
    public var ledger = Ledger()
    public var source: String

    public init(
        timeZone: String = "UTC", amountToleranceMinor: Int64 = 0, feeToleranceMinor: Int64 = 0,
        inTransitDays: Int = 3, fees: [Fee] = [], source: String = "(defaults)"
    ) {
        self.timeZone = timeZone
        self.amountToleranceMinor = amountToleranceMinor
        self.feeToleranceMinor = feeToleranceMinor
        self.inTransitDays = inTransitDays
        self.fees = fees
        self.source = source
    }

    /// Reads the policy file; every problem names the file and the field.
    public init(yaml: String, source: String) throws {
        func bad(_ field: String, _ message: String, line: Int? = nil) -> BatchError {
            .badInput(file: source, line: line, field: field, message: message)
        }
        let root: Any?
        do { root = try Yams.load(yaml: yaml) } catch let error as YamlError {
            throw bad("(file)", "not valid YAML", line: VATRateTable.line(of: error))
        }
        guard let top = root as? [String: Any] else { throw bad("(file)", "expected a map") }
        try Self.keys.check(yaml: yaml) { bad($0, $1) }
        self.init(source: source)
        if let tz = top["time_zone"] {
            guard let name = tz as? String, TimeZone(identifier: name) != nil else {
                throw bad("time_zone", "not an IANA time zone name")
            }
            timeZone = name
        }
        let tolerances = top["tolerances"] as? [String: Any] ?? [:]
        func count(_ key: String, default value: Int) throws -> Int {
            guard let raw = tolerances[key] else { return value }
            guard let n = raw as? Int, n >= 0 else { throw bad("tolerances.\(key)", "expected a whole number ≥ 0") }
            return n
        }
        amountToleranceMinor = Int64(try count("amount_minor_units", default: 0))
        feeToleranceMinor = Int64(try count("fee_minor_units", default: 0))
        inTransitDays = try count("in_transit_days", default: 3)
        bankDays = try count("bank_days", default: 5)
        guard bankDays <= 31 else { throw bad("tolerances.bank_days", "must be at most 31") }
        guard inTransitDays <= 31 else { throw bad("tolerances.in_transit_days", "must be at most 31") }
        for (provider, value) in top["fees"] as? [String: Any] ?? [:] {
            guard SettlementReport.Provider(rawValue: provider) != nil else {
                throw bad("fees.\(provider)", "unknown provider (stripe or checkout)")
            }
            guard let currencies = value as? [String: Any] else {
                throw bad("fees.\(provider)", "expected a map of currencies")
            }
            for (currency, item) in currencies {
                let field = "fees.\(provider).\(currency)"
                guard let exponent = Currency.exponent(currency) else { throw bad(field, "unknown currency") }
                guard let entry = item as? [String: Any], let percent = entry["percent"].map({ "\($0)" }),
                    let rate = VATRate(percent: percent)
                else { throw bad(field + ".percent", "expected a percentage with at most two decimals") }
                let fixedText = entry["fixed"].map { "\($0)" } ?? "0"
                let fixed: Int64
                do { fixed = try InvoiceTotals.parse(fixedText, exponent: exponent, field: field + ".fixed") } catch {
                    throw bad(field + ".fixed", "\"\(fixedText)\" is not an amount with at most \(exponent) decimals")
                }
                fees.append(
                    Fee(provider: provider, currency: currency, basisPoints: rate.basisPoints, fixedMinor: fixed))
            }
        }
        fees.sort { ($0.provider, $0.currency) < ($1.provider, $1.currency) }
        ledger = try Self.ledger(top["ledger"]) { bad($0, $1) }
    }

    /// Loads `SAMIA_RECONCILIATION_POLICY`, else `policy/reconciliation.yaml`.
    public static func load(_ env: [String: String] = ProcessInfo.processInfo.environment) throws
        -> ReconciliationPolicy
    {
        let path =
            try env["SAMIA_RECONCILIATION_POLICY"].flatMap { $0.isEmpty ? nil : $0 }
            ?? PolicyFiles.locate("reconciliation.yaml")
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else { throw BatchError.configuration("reconciliation policy \(path) cannot be read") }
        return try ReconciliationPolicy(yaml: text, source: path)
    }

    /// The policy as manifest parameters (flat strings, sorted by key when encoded).
    var manifestParameters: [String: String] {
        var p = [
            "policy_file": (source as NSString).lastPathComponent, "time_zone": timeZone,
            "tolerance.amount_minor_units": String(amountToleranceMinor),
            "tolerance.fee_minor_units": String(feeToleranceMinor), "tolerance.in_transit_days": String(inTransitDays),
            "tolerance.bank_days": String(bankDays),
        ]
        p["fee_schedule"] =
            fees.isEmpty
            ? "none (fees not checked)"
            : fees.map {
                "\($0.provider) \($0.currency) \(VATRate(basisPoints: $0.basisPoints))% + \($0.fixedMinor) minor"
            }
            .joined(separator: "; ")
        return p.merging(ledgerParameters) { a, _ in a }
    }
}
