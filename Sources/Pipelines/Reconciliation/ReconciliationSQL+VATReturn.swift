import Postgres

/// The sales side of the KSA (ZATCA) and UAE (FTA VAT201) returns, from `rec_vat` (invoices by
/// tax point, credit notes in the month issued): docs/reconciliation.md, "VAT return figures".
///
/// A box sums only documents in the return's currency and at a known rate: a box that would
/// need another currency (or holds a document at an unknown or mixed rate, for the totals) is
/// not computed, and says why, rather than give a partial figure a preparer could copy.
extension ReconciliationSQL {
    /// The rates a return may convert with: `--fx-rates` when `--reporting-currency` is the
    /// return's currency (units of it per unit of the document's currency); empty otherwise.
    static let vatReturnRates = """
        CREATE TEMP TABLE rec_return_fx (currency text, return_currency text, rate numeric) ON COMMIT DROP
        """
    static let vatReturnRatesFromReporting = """
        INSERT INTO rec_return_fx SELECT upper(currency), current_setting('samia.reporting_currency'), rate::numeric FROM rec_fx
        """

    static let vatReturn = """
        CREATE TEMP TABLE rec_vat_return ON COMMIT DROP AS
        WITH returns (code, country, currency) AS (VALUES ('KSA', 'SA', 'SAR'), ('UAE', 'AE', 'AED')),
        -- scope: the return's own country ("home"), and for the KSA return zero-rated supplies to
        -- countries with no return here ("abroad": exports); figures: all, VAT only, or none
        -- (purchases, which this system does not hold).
        boxes (code, box, ord, kinds, home, abroad, figures) AS (VALUES
          ('KSA', '1', 1, '{standard}', true, false, 'all'), ('KSA', '3', 2, '{zero}', true, false, 'all'),
          ('KSA', '4', 3, '{zero}', false, true, 'all'), ('KSA', '5', 4, '{exempt}', true, false, 'all'),
          ('KSA', '6', 5, '{standard,zero,exempt,unknown}', true, true, 'all'),
          ('KSA', '7-12', 6, '{}', false, false, 'none'),
          ('KSA', '13', 7, '{standard,zero,exempt,unknown}', true, true, 'vat'),
          ('UAE', '1', 1, '{standard}', true, false, 'all'), ('UAE', '4', 2, '{zero}', true, false, 'all'),
          ('UAE', '5', 3, '{exempt}', true, false, 'all'),
          ('UAE', '8', 4, '{standard,zero,exempt,unknown}', true, false, 'all'),
          ('UAE', '9-11', 5, '{}', false, false, 'none'),
          ('UAE', '12', 6, '{standard,zero,exempt,unknown}', true, false, 'vat')),
        docs AS (
          SELECT v.*, CASE WHEN v.rate !~ '^[0-9]+(\\.[0-9]+)?$' THEN 'unknown'
                           WHEN v.rate::numeric > 0 THEN 'standard' ELSE 'zero' END AS kind
            FROM rec_vat v
        ), placed AS (
          SELECT b.code, b.box, b.ord, b.figures, r.currency AS return_currency, d.*
            FROM boxes b
            JOIN returns r USING (code)
            LEFT JOIN docs d
              ON d.kind = ANY (b.kinds::text[])
             AND ((b.home AND d.country = r.country)
                  OR (b.abroad AND d.kind = 'zero' AND d.country NOT IN (SELECT country FROM returns)))
        ), converted AS (
          -- Each figure in the return's minor units: as it is in the return's currency, else at
          -- the given rate, rounded half away from zero per country, rate and currency; NULL
          -- when there is no rate.
          SELECT p.*, x.factor
            FROM placed p
            LEFT JOIN LATERAL (
              SELECT CASE WHEN p.currency = p.return_currency THEN 1::numeric
                          ELSE f.rate * power(10::numeric, t.exp - c.exp) END AS factor
                FROM (SELECT 1) one
                LEFT JOIN rec_return_fx f ON f.currency = p.currency AND f.return_currency = p.return_currency
                LEFT JOIN rec_currency c ON c.code = p.currency
                LEFT JOIN rec_currency t ON t.code = p.return_currency) x ON true
        ), summed AS (
          SELECT code, box, ord, figures, return_currency,
                 count(country) AS rows, sum(invoices + credit_notes) AS documents,
                 sum(round(invoice_base * factor)) AS amount, sum(round(credit_base * factor)) AS adjustment,
                 sum(round(vat * factor)) AS vat,
                 string_agg(DISTINCT currency, ', ' ORDER BY currency) FILTER (WHERE country IS NOT NULL AND factor IS NULL)
                   AS other_currencies,
                 string_agg(DISTINCT currency, ', ' ORDER BY currency) FILTER (WHERE currency <> return_currency AND factor IS NOT NULL)
                   AS converted_currencies,
                 sum(invoices + credit_notes) FILTER (WHERE kind = 'unknown') AS unknown_rate
            FROM converted GROUP BY code, box, ord, figures, return_currency
        )
        SELECT s.code, s.box, s.ord, s.return_currency, s.figures,
               s.figures <> 'none' AND s.other_currencies IS NULL AND s.unknown_rate IS NULL AS computed,
               coalesce(s.amount, 0) AS amount, coalesce(s.adjustment, 0) AS adjustment, coalesce(s.vat, 0) AS vat,
               CASE WHEN s.figures = 'none' THEN 'from the purchase ledger'
                    WHEN s.other_currencies IS NOT NULL THEN 'not computed: documents in ' || s.other_currencies
                    WHEN s.unknown_rate IS NOT NULL THEN 'not computed: ' || s.unknown_rate || ' document(s) at an unknown or mixed rate'
                    WHEN s.converted_currencies IS NOT NULL THEN 'includes ' || s.converted_currencies || ' converted at --fx-rates'
                    ELSE '' END AS note
          FROM summed s
         -- A return is shown when any of its boxes holds a document.
         WHERE EXISTS (SELECT 1 FROM summed t WHERE t.code = s.code AND t.rows > 0)
        """

    /// The figures as the summary shows them: major units, blank where a box has none.
    static let vatReturnRows = """
        SELECT code, box, return_currency AS currency, computed, note,
               CASE WHEN computed AND figures = 'all' THEN \(major("amount", "return_currency"))::text END AS amount,
               CASE WHEN computed AND figures = 'all' THEN \(major("adjustment", "return_currency"))::text END AS adjustment,
               CASE WHEN computed THEN \(major("vat", "return_currency"))::text END AS vat
          FROM rec_vat_return ORDER BY code, ord
        """

    static let vatReturnCSV = """
        COPY (SELECT code AS vat_return, box, return_currency AS currency,
                     CASE WHEN computed AND figures = 'all' THEN \(major("amount", "return_currency")) END AS amount,
                     CASE WHEN computed AND figures = 'all' THEN \(major("adjustment", "return_currency")) END AS adjustment,
                     CASE WHEN computed THEN \(major("vat", "return_currency")) END AS vat, computed, note
                FROM rec_vat_return ORDER BY code, ord)
          TO STDOUT WITH (FORMAT csv, HEADER)
        """
}
