import Foundation
import Invoicing
import Reports
import Runner

extension ReconciliationPolicy {
    /// How the month's journal is booked (docs/reconciliation.md, "Ledger export"): the
    /// accountant's account codes, the VAT the providers put in their fees, and the Xero tax
    /// rate name for lines whose VAT is booked on its own account.
    public struct Ledger: Sendable, Equatable {
        /// What each account holds, in the order the journal lists them; every key has a code.
        public static let accountKeys: [(key: String, name: String, code: String)] = [
            ("provider_clearing", "Payment provider clearing", "1100"),
            ("bank", "Bank", "1200"),
            ("vat_on_fees", "VAT on provider fees (input VAT)", "1300"),
            ("vat_payable", "VAT payable (output VAT)", "2200"),
            ("revenue", "Sales", "4000"),
            ("refunds", "Sales refunds", "4010"),
            ("fees", "Payment provider fees", "6100"),
            ("disputes", "Chargebacks and disputes", "6200"),
            ("adjustments", "Other provider adjustments", "6900"),
        ]

        /// Account key → code.
        public var accounts = Dictionary(uniqueKeysWithValues: accountKeys.map { ($0.key, $0.code) })
        /// Provider → the VAT rate contained in its fees, in basis points (1500 = 15 %).
        public var feeVATBasisPoints: [String: Int] = [:]
        /// Xero's name of a zero tax rate: every line carries its VAT on its own account.
        public var xeroTaxRate = "No VAT"

        public init() {}
    }

    static let keys = PolicyKeys.fixed([
        "time_zone": .leaf,
        "tolerances": .leaves(["amount_minor_units", "fee_minor_units", "in_transit_days", "bank_days"]),
        "fees": .named(.named(.leaves(["percent", "fixed"]))),
        "ledger": .fixed([
            "accounts": .leaves(Ledger.accountKeys.map(\.key)), "fee_vat_percent": .named(.leaf),
            "xero_tax_rate": .leaf,
        ]),
    ])

    /// Reads the `ledger:` section; every problem names the field.
    static func ledger(_ section: Any?, bad: (String, String) -> BatchError) throws -> Ledger {
        var ledger = Ledger()
        guard let section else { return ledger }
        guard let map = section as? [String: Any] else { throw bad("ledger", "expected a map") }
        for (key, value) in map["accounts"] as? [String: Any] ?? [:] {
            // A code reaches spreadsheets and the accountant's import: a formula is refused.
            guard let code = Self.scalar(value), !code.isEmpty, code.count <= 40,
                code.first.map({ !"=+-@\t\r".contains($0) }) == true, !code.contains(",")
            else { throw bad("ledger.accounts.\(key)", "expected an account code (no comma, not a formula)") }
            ledger.accounts[key] = code
        }
        for (provider, value) in map["fee_vat_percent"] as? [String: Any] ?? [:] {
            let field = "ledger.fee_vat_percent.\(provider)"
            guard SettlementReport.Provider(rawValue: provider) != nil else {
                throw bad(field, "unknown provider (stripe or checkout)")
            }
            guard let text = Self.scalar(value), let rate = VATRate(percent: text), rate.basisPoints <= 10000 else {
                throw bad(field, "expected a percentage from 0 to 100 with at most two decimals")
            }
            ledger.feeVATBasisPoints[provider] = rate.basisPoints
        }
        if let name = map["xero_tax_rate"] {
            guard let text = Self.scalar(name), !text.isEmpty, !text.contains(",") else {
                throw bad("ledger.xero_tax_rate", "expected the name of a Xero tax rate")
            }
            ledger.xeroTaxRate = text
        }
        return ledger
    }

    private static func scalar(_ value: Any) -> String? {
        switch value {
        case let text as String: text
        case let number as Int: String(number)
        case let number as Double: String(number)
        default: nil
        }
    }

    /// The ledger settings as manifest parameters.
    var ledgerParameters: [String: String] {
        var p: [String: String] = [:]
        for (key, _, _) in Ledger.accountKeys { p["ledger.account.\(key)"] = ledger.accounts[key] }
        p["ledger.fee_vat"] =
            ledger.feeVATBasisPoints.isEmpty
            ? "none (fees booked without VAT)"
            : ledger.feeVATBasisPoints.sorted { $0.key < $1.key }.map { "\($0.key) \(VATRate(basisPoints: $0.value))%" }
                .joined(separator: "; ")
        p["ledger.xero_tax_rate"] = ledger.xeroTaxRate
        return p
    }
}
