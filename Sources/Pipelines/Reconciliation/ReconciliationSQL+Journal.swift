import Postgres

/// The month's journal (docs/reconciliation.md, "Ledger export"): one entry per local day and
/// currency, built from the same snapshot as the rest of the close.
///
/// Every source row gives legs that sum to zero (a sale: the provider owes the gross, revenue
/// and VAT are credited), so an entry balances by construction; the job checks it all the same
/// before anything is written. Amounts are minor units, debit positive.
extension ReconciliationSQL {
    /// $1 keys, $2 codes, $3 names, in the journal's order.
    static let journalAccounts = """
        CREATE TEMP TABLE rec_accounts ON COMMIT DROP AS
        SELECT key, code, name, ord FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS a(key, code, name, ord)
        """

    /// $1 providers, $2 the VAT contained in their fees (basis points).
    static let journalFeeVAT = """
        CREATE TEMP TABLE rec_fee_vat ON COMMIT DROP AS
        SELECT provider, bp FROM unnest($1::text[], $2::integer[]) AS f(provider, bp)
        """

    /// A VAT rate label as the journal says it: `15%`, or `mixed rates` / `unknown rate`.
    private static func rate(_ label: String) -> String {
        "CASE WHEN \(label) ~ '^[0-9]+(\\.[0-9]+)?$' THEN \(label) || '%' ELSE \(label) || ' rate' END"
    }

    /// Each source is summed per day, currency, provider and rate first: the legs are then built
    /// from a few thousand groups, not from every invoice and settlement line.
    static let journal = """
        CREATE TEMP TABLE rec_journal ON COMMIT DROP AS
        WITH sales AS (
          -- Invoices by tax point, as the VAT summary counts them.
          SELECT day, currency, provider, \(rate("label")) AS rate, gross, vat
            FROM (SELECT (v.tax_point AT TIME ZONE p.tz)::date AS day, v.currency, coalesce(v.provider, 'unknown') AS provider,
                         coalesce(r.rate, v.rate_label, 'unknown') AS label, sum(coalesce(r.gross, v.total_cents))::bigint AS gross,
                         sum(coalesce(r.vat, v.vat_cents))::bigint AS vat
                    FROM rec_invoices v CROSS JOIN rec_params p
                    LEFT JOIN rec_doc_rates r ON r.kind = 'invoice' AND r.id = v.id
                   WHERE v.tax_point >= p.start_at AND v.tax_point < p.end_at
                   GROUP BY 1, 2, 3, 4) g
        ), credits AS (
          -- Credit notes in the month they are issued.
          SELECT day, currency, provider, \(rate("label")) AS rate, gross, vat
            FROM (SELECT (c.created_at AT TIME ZONE p.tz)::date AS day, c.currency, c.provider, c.rate AS label,
                         sum(c.gross)::bigint AS gross, sum(c.vat)::bigint AS vat
                    FROM rec_credit_rates c CROSS JOIN rec_params p
                   GROUP BY 1, 2, 3, 4) g
        ), lines AS (
          -- Settlement lines of the month: `fee` is what the provider kept (Stripe reports it
          -- positive, Checkout.com's fee rows are negative amounts), the rest of the balance
          -- change is `net + fee`.
          SELECT (l.created_at AT TIME ZONE p.tz)::date AS day, l.provider, l.currency::text AS currency, l.category,
                 sum(CASE WHEN l.provider = 'stripe' THEN l.fee_minor ELSE -l.fee_minor END)::bigint AS fee,
                 sum(l.net_minor)::bigint AS net
            FROM public.settlement_lines l CROSS JOIN rec_params p
           WHERE l.created_at >= p.start_at AND l.created_at < p.end_at
           GROUP BY 1, 2, 3, 4
        ), fees AS (
          SELECT f.day, f.provider, f.currency, f.fee,
                 round(f.fee::numeric * coalesce(v.bp, 0) / (10000 + coalesce(v.bp, 0)))::bigint AS vat
            FROM (SELECT day, provider, currency, sum(fee)::bigint AS fee FROM lines GROUP BY 1, 2, 3) f
            LEFT JOIN rec_fee_vat v USING (provider)
        ), principal AS (
          -- Charges and refunds are booked from the invoices and credit notes; every other
          -- movement of the provider's balance goes to the account its category names.
          SELECT day, provider, currency, category,
                 CASE WHEN category IN ('payout', 'payout_reversal') THEN 'bank'
                      WHEN category IN ('dispute', 'dispute_reversal', 'chargeback', 'chargeback reversal',
                                        'chargeback_reversal') THEN 'disputes'
                      WHEN category = 'tax' THEN 'vat_on_fees'
                      WHEN category IN ('fee', 'network_cost') THEN 'fees'
                      ELSE 'adjustments' END AS account,
                 net + fee AS amount
            FROM lines
           WHERE category NOT IN ('charge', 'capture', 'refund')
        ), legs (day, currency, account, description, amount) AS (
          SELECT day, currency, 'provider_clearing', 'sales via ' || provider, gross FROM sales
          UNION ALL SELECT day, currency, 'revenue', 'sales at ' || rate, -(gross - vat) FROM sales
          UNION ALL SELECT day, currency, 'vat_payable', 'output VAT at ' || rate, -vat FROM sales
          UNION ALL SELECT day, currency, 'refunds', 'refunds at ' || rate, gross - vat FROM credits
          UNION ALL SELECT day, currency, 'vat_payable', 'output VAT at ' || rate || ' on refunds', vat FROM credits
          UNION ALL SELECT day, currency, 'provider_clearing', 'refunds via ' || provider, -gross FROM credits
          UNION ALL SELECT day, currency, 'fees', provider || ' fees', fee - vat FROM fees
          UNION ALL SELECT day, currency, 'vat_on_fees', 'VAT in ' || provider || ' fees', vat FROM fees
          UNION ALL SELECT day, currency, 'provider_clearing', provider || ' fees', -fee FROM fees
          UNION ALL SELECT day, currency, account, provider || ' ' || category, -amount FROM principal
          UNION ALL SELECT day, currency, 'provider_clearing', provider || ' ' || category, amount FROM principal
        )
        SELECT g.day, g.currency, a.ord, g.account, g.description, sum(g.amount)::bigint AS amount
          FROM legs g JOIN rec_accounts a ON a.key = g.account
         GROUP BY g.day, g.currency, a.ord, g.account, g.description
        HAVING sum(g.amount) <> 0
        """

    /// Entries whose debits and credits differ (none, by construction): the job refuses to
    /// write a journal that does not balance.
    static let journalUnbalanced = """
        SELECT day::text AS day, currency, sum(amount)::bigint AS difference
          FROM rec_journal GROUP BY day, currency HAVING sum(amount) <> 0 ORDER BY 1, 2
        """

    /// Lines per entry, in file order, for splitting Xero files between entries.
    static let journalEntries = """
        SELECT currency, day::text AS day, count(*) AS lines FROM rec_journal GROUP BY currency, day ORDER BY 1, 2
        """

    /// The generic double-entry layout: one row per line, debit or credit.
    static let journalCSV = """
        COPY (SELECT j.day || '/' || j.currency AS entry_id, j.day AS date, j.currency, a.code AS account_code,
                     a.name AS account_name, \(text("j.description", as: "description")),
                     CASE WHEN j.amount > 0 THEN \(decimal("j.amount", exp: "c.exp")) END AS debit,
                     CASE WHEN j.amount < 0 THEN \(decimal("-j.amount", exp: "c.exp")) END AS credit
                FROM rec_journal j
                JOIN rec_accounts a ON a.key = j.account
                JOIN rec_currency c ON c.code = j.currency
               ORDER BY j.day, j.currency, j.ord, j.description)
          TO STDOUT WITH (FORMAT csv, HEADER)
        """

    /// Xero's manual-journal import for one currency and a run of days: signed amounts (debit
    /// positive), dates as dd/mm/yyyy, one journal per (narration, date).
    static func xeroCSV(currency: String, from: String, through: String) -> String {
        """
        COPY (SELECT 'Samia payments ' || j.day || ' ' || j.currency AS "*Narration", to_char(j.day, 'DD/MM/YYYY') AS "*Date",
                     \(text("j.description", as: "\"Description\"")), a.code AS "*AccountCode",
                     current_setting('samia.xero_tax_rate') AS "*TaxRate", \(decimal("j.amount", exp: "c.exp")) AS "*Amount",
                     NULL AS "TrackingName1", NULL AS "TrackingOption1", NULL AS "TrackingName2", NULL AS "TrackingOption2"
                FROM rec_journal j
                JOIN rec_accounts a ON a.key = j.account
                JOIN rec_currency c ON c.code = j.currency
               WHERE j.currency = \(SQLIdentifier.literal(currency))
                 AND j.day BETWEEN \(SQLIdentifier.literal(from))::date AND \(SQLIdentifier.literal(through))::date
               ORDER BY j.day, j.ord, j.description)
          TO STDOUT WITH (FORMAT csv, HEADER)
        """
    }
}
