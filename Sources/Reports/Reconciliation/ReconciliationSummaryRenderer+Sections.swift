extension ReconciliationSummaryRenderer {
    /// Open breaks by type and age at the month's end, or why there are none.
    func ageingSection(_ out: inout Pages, _ s: ReconciliationSummary) {
        out.y += 10
        heading(&out, key: "rec_ageing")
        let columns =
            [Column(width: 0.35, alignment: .left)]
            + [0.13, 0.13, 0.13, 0.13, 0.13].map { Column(width: $0, alignment: .right) }
        table(
            &out, columns: columns,
            header: [
                "rec_break_type", "rec_open", "rec_age_0_30", "rec_age_31_60", "rec_age_61_90", "rec_age_over_90",
            ],
            rows: s.ageing.map {
                [
                    labels.en("break_" + $0.type), String($0.open), String($0.days0to30), String($0.days31to60),
                    String($0.days61to90), String($0.over90),
                ]
            })
        if s.ageing.isEmpty { note(&out, key: "rec_ageing_empty") }
    }

    /// Each bank account's roll-forward, or why there is none.
    func bankSection(_ out: inout Pages, _ s: ReconciliationSummary) {
        out.y += 10
        heading(&out, key: "rec_bank")
        let columns =
            // An IBAN (24 characters and more) fits on one line.
            [Column(width: 0.25, alignment: .left), Column(width: 0.06, alignment: .left)]
            + [0.1, 0.09, 0.08, 0.08, 0.12, 0.12].map { Column(width: $0, alignment: .right) }
            + [Column(width: 0.1, alignment: .right)]
        table(
            &out, columns: columns,
            header: [
                "rec_account", "rec_currency", "rec_opening", "rec_payouts_in", "rec_bank_fees", "rec_other",
                "rec_closing_computed", "rec_closing_statement", "rec_status",
            ],
            rows: s.bank.map {
                [
                    $0.account, $0.currency, $0.opening, $0.payouts, $0.fees, $0.otherNet, $0.computedClosing,
                    $0.statementClosing, $0.ties ? "ties" : "DOES NOT TIE",
                ]
            })
        if s.bank.isEmpty { note(&out, key: "rec_bank_empty") }
    }
}
