extension ReconciliationSQL {
    /// The figures per VAT rate of the month's documents with lines at more than one rate, so
    /// that each rate is booked on its own line (its revenue and output VAT), as the VAT return
    /// reports them: the rates as issued (`meta.vat_by_rate`, written since 2026-12), else
    /// derived from the lines as the invoice engine computes them (BR-CO-17: the base of each
    /// rate, VAT once per rate, half away from zero). The parts add up to the document's stored
    /// total and VAT exactly (a rounding difference goes to its largest rate). A document
    /// whose lines carry no amounts stays one "mixed rates" line.
    static let documentRates = """
        CREATE TEMP TABLE rec_doc_rates ON COMMIT DROP AS
        WITH docs AS (
          SELECT 'invoice' AS kind, i.id, i.total_cents AS total, i.vat_cents AS vat, i.meta, c.exp
            FROM rec_invoices v JOIN public.invoices i ON i.id = v.id LEFT JOIN rec_currency c ON c.code = v.currency
           WHERE v.rate_label = 'mixed'
          UNION ALL
          SELECT 'credit', cn.id, cn.amount_cents, cn.vat_cents, cn.meta, c.exp
            FROM public.credit_notes cn CROSS JOIN rec_params p LEFT JOIN rec_currency c ON c.code = cn.currency::text
           WHERE cn.created_at >= p.start_at AND cn.created_at < p.end_at
             AND (SELECT count(DISTINCT li->>'vat_rate') FROM jsonb_array_elements(cn.meta#>'{document,lines}') li) > 1
        ), parts AS (
          SELECT d.kind, d.id, d.total, d.vat, b->>'rate' AS rate,
                 (b->>'net_minor')::bigint + (b->>'vat_minor')::bigint AS gross, (b->>'vat_minor')::bigint AS rate_vat
            FROM docs d CROSS JOIN LATERAL jsonb_array_elements(d.meta->'vat_by_rate') b
          UNION ALL
          SELECT d.kind, d.id, d.total, d.vat, g.rate,
                 CASE WHEN g.inclusive THEN g.amount ELSE g.amount + round(g.amount * g.bp / 10000) END,
                 CASE WHEN g.inclusive THEN g.amount - round(g.amount * 10000 / (10000 + g.bp)) ELSE round(g.amount * g.bp / 10000) END
            FROM docs d
            CROSS JOIN LATERAL (
              SELECT li->>'vat_rate' AS rate, round((li->>'vat_rate')::numeric * 100) AS bp,
                     (d.meta#>>'{document,prices_include_vat}')::boolean AS inclusive,
                     sum((li->>'unit_price')::numeric * power(10::numeric, d.exp) * (li->>'quantity')::integer) AS amount
                FROM jsonb_array_elements(d.meta#>'{document,lines}') li
               GROUP BY 1, 2, 3) g
           WHERE d.meta->'vat_by_rate' IS NULL AND d.exp IS NOT NULL
             AND d.meta#>>'{document,prices_include_vat}' IN ('true', 'false')
             AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(d.meta#>'{document,lines}') li
                              WHERE li->>'unit_price' IS NULL OR li->>'quantity' IS NULL OR li->>'vat_rate' IS NULL)
        ), ranked AS (
          SELECT *, row_number() OVER w AS n, sum(gross) OVER (PARTITION BY kind, id) AS sum_gross,
                 sum(rate_vat) OVER (PARTITION BY kind, id) AS sum_vat
            FROM parts WINDOW w AS (PARTITION BY kind, id ORDER BY gross DESC, rate)
        )
        SELECT kind, id, rate, (gross + CASE WHEN n = 1 THEN total - sum_gross ELSE 0 END)::bigint AS gross,
               (rate_vat + CASE WHEN n = 1 THEN vat - sum_vat ELSE 0 END)::bigint AS vat
          FROM ranked
        """

    /// The month's credit notes, one row per VAT rate they credit: a note at several rates in
    /// each of its rates (`rec_doc_rates`), else under its first line's rate, or "mixed" where
    /// its lines carry no amounts to split by. The journal and the VAT return read the same rows.
    static let creditNoteRates = """
        CREATE TEMP TABLE rec_credit_rates ON COMMIT DROP AS
        SELECT cn.id, cn.created_at, cn.currency::text AS currency, coalesce(pi.provider, 'unknown') AS provider,
               upper(coalesce(i.billing_country, '')) AS country,
               coalesce(r.rate, CASE WHEN (SELECT count(DISTINCT li->>'vat_rate')
                                             FROM jsonb_array_elements(cn.meta#>'{document,lines}') li) > 1
                                     THEN 'mixed' END,
                        cn.meta#>>'{document,lines,0,vat_rate}', 'unknown') AS rate,
               coalesce(r.gross, cn.amount_cents)::bigint AS gross, coalesce(r.vat, cn.vat_cents)::bigint AS vat
          FROM public.credit_notes cn
          CROSS JOIN rec_params p
          JOIN public.invoices i ON i.id = cn.invoice_id
          LEFT JOIN public.payment_intents pi ON pi.id = i.payment_intent_id
          LEFT JOIN rec_doc_rates r ON r.kind = 'credit' AND r.id = cn.id
         WHERE cn.created_at >= p.start_at AND cn.created_at < p.end_at
        """
}
