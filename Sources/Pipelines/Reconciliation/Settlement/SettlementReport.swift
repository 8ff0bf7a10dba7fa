/// The settlement report layouts the importer accepts, recognised from their header row.
///
/// Column names are matched exactly (after removing a UTF-8 byte-order mark); order does not
/// matter and other columns (such as Stripe's `payment_metadata[...]`) are kept in `raw` and
/// otherwise ignored. docs/reconciliation.md lists what each layout needs.
public enum SettlementReport: String, Sendable, CaseIterable {
    case stripeBalanceChange = "stripe.balance_change_from_activity.itemized"
    case stripePayoutReconciliation = "stripe.payout_reconciliation.itemized"
    case checkoutFinancialActions = "checkout.financial_actions_by_payout_id"

    public enum Provider: String, Sendable, CaseIterable {
        case stripe, checkout
    }

    public var provider: Provider {
        self == .checkoutFinancialActions ? .checkout : .stripe
    }

    static let stripeColumns = [
        "balance_transaction_id", "created_utc", "available_on_utc", "currency", "gross", "fee", "net",
        "reporting_category", "source_id", "description", "customer_facing_amount", "customer_facing_currency",
        "charge_id", "payment_intent_id",
    ]

    static let checkoutColumns = [
        "Payout ID", "Payment ID", "Action ID", "Action Type", "Processed On", "Breakdown Type", "Processing Currency",
        "Processing Currency Amount", "Holding Currency", "Holding Currency Amount",
    ]

    /// Stripe's reporting categories (the `reporting_category` column, not `type`), as its
    /// reporting-categories page lists them. Matching uses charges, refunds, failed refunds,
    /// disputes and payouts; every other category is imported and shown with its total in
    /// `other.csv`, so a file always balances. A value outside this list (a typo, a category
    /// Stripe added later) is refused, naming it: it is added here once its meaning is known.
    static let stripeCategories = [
        "advance", "advance_funding", "anticipation_repayment", "charge", "charge_failure", "climate_order_purchase",
        "climate_order_refund", "connect_collection_transfer", "connect_reserved_funds", "contribution", "dispute",
        "dispute_reversal", "fee", "financing_paydown", "financing_paydown_reversal", "financing_payout",
        "financing_payout_reversal", "issuing_authorization_hold", "issuing_authorization_release", "issuing_dispute",
        "issuing_transaction", "network_cost", "other_adjustment", "partial_capture_reversal", "payout",
        "payout_minimum_balance_hold", "payout_minimum_balance_release", "payout_reversal", "platform_earning",
        "platform_earning_refund", "refund", "refund_failure", "risk_reserved_funds", "tax", "topup",
        "topup_reversal", "transfer", "transfer_reversal", "unreconciled_customer_funds",
    ]

    /// The column a line's key comes from, as an error names it.
    public var keyColumn: String {
        self == .checkoutFinancialActions ? "Action ID" : "balance_transaction_id"
    }

    /// The columns this layout cannot do without.
    public var requiredColumns: [String] {
        switch self {
        case .stripeBalanceChange: Self.stripeColumns
        case .stripePayoutReconciliation: Self.stripeColumns + ["automatic_payout_id"]
        case .checkoutFinancialActions: Self.checkoutColumns
        }
    }

    /// Which layout a header is, given the provider if the operator named one.
    ///
    /// Stripe's payout reconciliation report is the one with `automatic_payout_effective_at`;
    /// the balance-change report lacks it. A header that fits neither provider is another
    /// report (a summary, a different export) and is refused by the caller.
    public static func detect(header: [String], provider: Provider?) -> SettlementReport? {
        let names = Set(header)
        let looksStripe = names.contains("balance_transaction_id")
        let looksCheckout = names.contains("Action ID") || names.contains("Breakdown Type")
        switch provider {
        case .stripe?: guard looksStripe else { return nil }
        case .checkout?: guard looksCheckout else { return nil }
        case nil: guard looksStripe != looksCheckout else { return nil }
        }
        if looksCheckout && provider != .stripe { return .checkoutFinancialActions }
        return names.contains("automatic_payout_effective_at") ? .stripePayoutReconciliation : .stripeBalanceChange
    }
}
