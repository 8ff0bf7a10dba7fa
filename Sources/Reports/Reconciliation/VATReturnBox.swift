/// One box of a VAT return's sales side (the KSA return's boxes 1–13, the UAE VAT201's 1–12),
/// as the reconciliation summary shows it. Figures are major units in the return's currency;
/// nil where the box is not computed (`note` says why: another currency, an unknown rate, or a
/// purchase box this system does not hold).
public struct VATReturnBox: Sendable, Equatable {
    /// `KSA` or `UAE`.
    public var code: String
    public var box: String
    public var currency: String
    public var amount: String?
    public var adjustment: String?
    public var vat: String?
    public var note: String

    public init(
        code: String, box: String, currency: String, amount: String?, adjustment: String?, vat: String?, note: String
    ) {
        self.code = code
        self.box = box
        self.currency = currency
        self.amount = amount
        self.adjustment = adjustment
        self.vat = vat
        self.note = note
    }

    /// The label key of the box's item (`vat_box_KSA_1`).
    public var labelKey: String { "vat_box_\(code)_\(box)" }
}
