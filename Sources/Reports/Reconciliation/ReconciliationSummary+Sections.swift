/// The break ageing and the bank roll-forward of the summary (issue 35, points 2 and 4): what
/// finance reads first of `breaks/ageing.csv` and `bank/rollforward.csv`, whose figures these are.
extension ReconciliationSummary {
    /// Open breaks of one type at the month's end, by the age of what they are about.
    public struct AgeingRow: Sendable, Equatable {
        public var type: String
        public var open: Int64
        public var days0to30: Int64
        public var days31to60: Int64
        public var days61to90: Int64
        public var over90: Int64
        public init(type: String, open: Int64, days0to30: Int64, days31to60: Int64, days61to90: Int64, over90: Int64) {
            self.type = type
            self.open = open
            self.days0to30 = days0to30
            self.days31to60 = days31to60
            self.days61to90 = days61to90
            self.over90 = over90
        }
    }

    /// One bank account and currency: opening + payouts − bank fees + other movements = the
    /// computed closing, against the statements' closing. Amounts formatted by PostgreSQL.
    public struct BankRow: Sendable, Equatable {
        public var account: String
        public var currency: String
        public var opening: String
        public var payouts: String
        public var fees: String
        public var otherNet: String
        public var computedClosing: String
        public var statementClosing: String
        public var ties: Bool
        public init(
            account: String, currency: String, opening: String, payouts: String, fees: String, otherNet: String,
            computedClosing: String, statementClosing: String, ties: Bool
        ) {
            self.account = account
            self.currency = currency
            self.opening = opening
            self.payouts = payouts
            self.fees = fees
            self.otherNet = otherNet
            self.computedClosing = computedClosing
            self.statementClosing = statementClosing
            self.ties = ties
        }
    }

    /// Both sections as Markdown.
    func sectionsMarkdown(labels: Labels) -> String {
        var md = "\n## \(labels.en("rec_ageing")) — \(labels.ar("rec_ageing"))\n\n"
        md +=
            "| type | open | 0-30 days | 31-60 days | 61-90 days | over 90 days |\n| --- | ---: | ---: | ---: | ---: | ---: |\n"
        for a in ageing {
            md +=
                "| \(labels.en("break_" + a.type)) | \(a.open) | \(a.days0to30) | \(a.days31to60) | \(a.days61to90) | \(a.over90) |\n"
        }
        if ageing.isEmpty { md += "\n\(labels.en("rec_ageing_empty"))\n" }
        md += "\n## \(labels.en("rec_bank")) — \(labels.ar("rec_bank"))\n\n"
        md +=
            "| account | currency | opening | payouts | bank fees | other, net | computed closing | statement closing | status |\n"
        md += "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n"
        for b in bank {
            md +=
                "| \(b.account) | \(b.currency) | \(b.opening) | \(b.payouts) | \(b.fees) | \(b.otherNet) | \(b.computedClosing) | \(b.statementClosing) | \(b.ties ? "ties" : "DOES NOT TIE") |\n"
        }
        if bank.isEmpty { md += "\n\(labels.en("rec_bank_empty"))\n" }
        return md
    }
}
