import Foundation

/// The figures on the first page finance reads: what was reconciled, how many breaks of each
/// type, and the VAT table. Amounts are already formatted in major units with the currency's
/// exact decimals (PostgreSQL formatted them), so no rounding happens here.
public struct ReconciliationSummary: Sendable, Equatable {
    public struct CurrencyTotals: Sendable, Equatable {
        public var currency: String
        public var payments: Int64
        public var paymentsAmount: String
        public var refunds: Int64
        public var refundsAmount: String
        public var settledGross: String
        public var fees: String
        public var matched: Int64
        public var inTransit: Int64
        public init(
            currency: String, payments: Int64, paymentsAmount: String, refunds: Int64, refundsAmount: String,
            settledGross: String, fees: String, matched: Int64, inTransit: Int64
        ) {
            self.currency = currency
            self.payments = payments
            self.paymentsAmount = paymentsAmount
            self.refunds = refunds
            self.refundsAmount = refundsAmount
            self.settledGross = settledGross
            self.fees = fees
            self.matched = matched
            self.inTransit = inTransit
        }
    }

    public struct VATRow: Sendable, Equatable {
        public var country: String
        public var rate: String
        public var currency: String
        public var invoices: Int64
        public var creditNotes: Int64
        public var base: String
        public var vat: String
        public var gross: String
        public init(
            country: String, rate: String, currency: String, invoices: Int64, creditNotes: Int64, base: String,
            vat: String, gross: String
        ) {
            self.country = country
            self.rate = rate
            self.currency = currency
            self.invoices = invoices
            self.creditNotes = creditNotes
            self.base = base
            self.vat = vat
            self.gross = gross
        }
    }

    public var month: String
    public var timeZone: String
    public var version: Int
    public var generatedAt: Date
    public var totals: [CurrencyTotals]
    /// Every break type in report order, with its count (zero included, so an empty type is
    /// visibly empty rather than absent).
    public var breaks: [(type: String, count: Int64)]
    public var vat: [VATRow]
    /// A close of a month that had not ended: every page and the Markdown say so.
    public var provisional = false
    /// The sales side of the KSA and UAE returns, for the countries the month billed.
    public var vatReturn: [VATReturnBox] = []
    /// Open breaks by type and age at the month's end.
    public var ageing: [AgeingRow] = []
    /// Each bank account's month, where statements were imported.
    public var bank: [BankRow] = []

    public init(
        month: String, timeZone: String, version: Int, generatedAt: Date, totals: [CurrencyTotals],
        breaks: [(type: String, count: Int64)], vat: [VATRow]
    ) {
        self.month = month
        self.timeZone = timeZone
        self.version = version
        self.generatedAt = generatedAt
        self.totals = totals
        self.breaks = breaks
        self.vat = vat
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.month == b.month && a.provisional == b.provisional && a.timeZone == b.timeZone && a.version == b.version
            && a.generatedAt == b.generatedAt
            && a.totals == b.totals && a.vat == b.vat && a.vatReturn == b.vatReturn && a.ageing == b.ageing
            && a.bank == b.bank
            && a.breaks.map(\.type) == b.breaks.map(\.type)
            && a.breaks.map(\.count) == b.breaks.map(\.count)
    }

    public var totalBreaks: Int64 { breaks.reduce(0) { $0 + $1.count } }

    /// The same content as the PDF, as Markdown (English, with the Arabic label beside each
    /// break type).
    public func markdown(labels: Labels) -> String {
        var md = "# \(labels.en("rec_title")) \(month) — \(labels.ar("rec_title"))\n\n"
        if provisional { md += "**\(labels.en("rec_provisional"))** — \(labels.ar("rec_provisional"))\n\n" }
        md += "- \(labels.en("rec_time_zone")): \(timeZone)\n"
        md += "- \(labels.en("rec_version")): \(version)\n"
        md += "- \(labels.en("rec_generated")): \(PDFRenderer.isoDate(generatedAt))\n"
        md += "- \(labels.en("rec_total_breaks")): \(totalBreaks)\n\n"
        md += "## \(labels.en("rec_totals"))\n\n"
        md += "| currency | payments | amount | refunds | amount | settled gross | fees | matched | in transit |\n"
        md += "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
        for t in totals {
            md +=
                "| \(t.currency) | \(t.payments) | \(t.paymentsAmount) | \(t.refunds) | \(t.refundsAmount) | \(t.settledGross) | \(t.fees) | \(t.matched) | \(t.inTransit) |\n"
        }
        if totals.isEmpty { md += "\n\(labels.en("rec_totals_empty"))\n" }
        md +=
            "\n## \(labels.en("rec_breaks"))\n\n| type | file | count | \(labels.ar("rec_breaks")) |\n| --- | --- | ---: | --- |\n"
        for b in breaks {
            md +=
                "| \(labels.en("break_" + b.type)) | breaks/\(b.type).csv | \(b.count) | \(labels.ar("break_" + b.type)) |\n"
        }
        if totalBreaks == 0 { md += "\n\(labels.en("rec_breaks_none"))\n" }
        md += "\n## \(labels.en("rec_vat"))\n\n"
        md += "| country | rate % | currency | invoices | credit notes | taxable base | VAT | gross |\n"
        md += "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |\n"
        for v in vat {
            md +=
                "| \(v.country) | \(v.rate) | \(v.currency) | \(v.invoices) | \(v.creditNotes) | \(v.base) | \(v.vat) | \(v.gross) |\n"
        }
        if vat.isEmpty { md += "\n\(labels.en("rec_vat_empty"))\n" }
        md += vatReturnMarkdown(labels: labels)
        md += sectionsMarkdown(labels: labels)
        md += "\nEvery figure comes from the CSV files in this ZIP; `manifest.json` lists their SHA-256, the run's "
        md += "parameters and tolerances, and is signed (`manifest.sig`, Ed25519).\n"
        return md
    }

    /// The VAT return boxes, one table per return.
    func vatReturnMarkdown(labels: Labels) -> String {
        var md =
            "\n## \(labels.en("rec_vat_return")) — \(labels.ar("rec_vat_return"))\n\n\(labels.en("rec_vat_return_note"))\n"
        if vatReturn.isEmpty { return md + "\n\(labels.en("rec_vat_return_empty"))\n" }
        for code in ["KSA", "UAE"] where vatReturn.contains(where: { $0.code == code }) {
            md += "\n### \(labels.en("vat_return_" + code))\n\n| box | item | amount | adjustment | VAT | note |\n"
            md += "| --- | --- | ---: | ---: | ---: | --- |\n"
            for b in vatReturn where b.code == code {
                md +=
                    "| \(b.box) | \(labels.en(b.labelKey)) | \(b.amount ?? "—") | \(b.adjustment ?? "—") | \(b.vat ?? "—") | \(b.note) |\n"
            }
        }
        return md
    }
}
