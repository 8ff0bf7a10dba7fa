import Postgres

/// The month's matching, in PostgreSQL, as temporary tables of one transaction: the ledger
/// and the settlement lines never travel to the batch; only the finished CSVs do (docs/reconciliation.md).
///
/// Statements run in order after `setup`; every later one reads `rec_params`.
enum ReconciliationSQL {
    /// $1 month's first day, $2 time zone, $3 amount tolerance, $4 fee tolerance, $5 in-transit
    /// days, $6 fallback VAT rate in basis points or NULL, $7 days a payout may take to the bank.
    static let parameters = """
        CREATE TEMP TABLE rec_params ON COMMIT DROP AS
        SELECT $1::date AS month_first,
               ($1::date)::timestamp AT TIME ZONE $2::text AS start_at,
               ($1::date + interval '1 month') AT TIME ZONE $2::text AS end_at,
               ($1::date - interval '1 month') AT TIME ZONE $2::text AS prev_start_at,
               $2::text AS tz, $3::bigint AS amount_tol, $4::bigint AS fee_tol, $5::integer AS transit_days,
               $6::integer AS vat_fallback_bp, to_char($1::date, 'YYYY-MM') AS month_key, $7::integer AS bank_days,
               (($1::date + interval '1 month') AT TIME ZONE $2::text) - make_interval(days => $5::integer) AS transit_from
        """

    /// $1 codes, $2 exponents, from `Currency.exponents` (`SettlementSQL.currencyParameters`).
    static let currencies = """
        CREATE TEMP TABLE rec_currency ON COMMIT DROP AS
        SELECT code, exp FROM unnest($1::text[], $2::integer[]) AS x(code, exp)
        """

    /// $1 countries, $2 first days, $3 basis points, from `VATRateTable.sqlParameters`; each
    /// entry runs until the next one.
    static let vatRates = """
        CREATE TEMP TABLE rec_vat_rates ON COMMIT DROP AS
        SELECT country, valid_from, lead(valid_from) OVER (PARTITION BY country ORDER BY valid_from) AS valid_to, bp
          FROM unnest($1::text[], $2::date[], $3::integer[]) AS v(country, valid_from, bp)
        """

    /// $1 providers, $2 currencies, $3 basis points, $4 fixed fees in minor units, from the
    /// policy's fee schedule.
    static let fees = """
        CREATE TEMP TABLE rec_fees ON COMMIT DROP AS
        SELECT provider, currency, bp, fixed_minor
          FROM unnest($1::text[], $2::text[], $3::integer[], $4::bigint[]) AS f(provider, currency, bp, fixed_minor)
        """

    /// The settlement files whose lines the window read, for the manifest.
    static let sourceFiles = """
        SELECT f.file_name, f.sha256, f.report_type FROM public.settlement_files f
         WHERE EXISTS (SELECT 1 FROM public.settlement_lines l CROSS JOIN rec_params p
                        WHERE (l.file_id = f.id OR l.payout_file_id = f.id) AND l.created_at >= p.prev_start_at)
         ORDER BY f.id
        """

    /// Per currency: the month's ledger, what settled, what matched and what is in transit.
    static let totals = """
        WITH pay AS (
          SELECT currency, count(*) AS payments, sum(amount) AS payments_minor FROM rec_payments WHERE in_month GROUP BY 1
        ), ref AS (
          SELECT currency, count(*) AS refunds, sum(amount) AS refunds_minor FROM rec_refunds
           WHERE in_month AND k = 1 AND status = 'succeeded' GROUP BY 1
        ), settled AS (
          SELECT e.currency, coalesce(sum(e.gross) FILTER (WHERE e.kind IN ('charge', 'refund')), 0) AS settled_minor,
                 sum(e.fee) AS fees_minor, count(*) FILTER (WHERE e.kind IN ('charge', 'refund')) AS settled_events
            FROM rec_events e CROSS JOIN rec_params p
           WHERE e.created_at >= p.start_at AND e.created_at < p.end_at GROUP BY 1
        ), matched AS (
          SELECT currency, count(*) AS matched FROM rec_matched GROUP BY 1
        ), transit AS (
          SELECT currency, count(*) AS in_transit FROM rec_in_transit GROUP BY 1
        ), figures AS (
          SELECT currency, coalesce(p.payments, 0) AS payments, coalesce(p.payments_minor, 0) AS payments_minor,
                 coalesce(r.refunds, 0) AS refunds, coalesce(r.refunds_minor, 0) AS refunds_minor,
                 coalesce(s.settled_minor, 0) AS settled_minor, coalesce(s.fees_minor, 0) AS fees_minor,
                 coalesce(m.matched, 0) AS matched, coalesce(t.in_transit, 0) AS in_transit
            FROM pay p
            FULL JOIN ref r USING (currency)
            FULL JOIN settled s USING (currency)
            FULL JOIN matched m USING (currency)
            FULL JOIN transit t USING (currency)
           WHERE coalesce(p.payments, 0) + coalesce(r.refunds, 0) + coalesce(s.settled_events, 0) > 0
        )
        SELECT f.currency, f.payments, \(major("f.payments_minor", "f.currency"))::text AS payments_amount, f.refunds,
               \(major("f.refunds_minor", "f.currency"))::text AS refunds_amount,
               \(major("f.settled_minor", "f.currency"))::text AS settled_gross, \(major("f.fees_minor", "f.currency"))::text AS fees,
               f.matched, f.in_transit
          FROM figures f ORDER BY f.currency
        """

    static let vatRows = """
        SELECT country, rate, currency, invoices, credit_notes, \(major("base", "currency"))::text AS base,
               \(major("vat", "currency"))::text AS vat, \(major("gross", "currency"))::text AS gross
          FROM rec_vat ORDER BY country, currency, rate
        """

    /// Ledger and settlement items of the window (the month and the month before, for items
    /// carried in transit), then every classification.
    static let statements = [
        // Succeeded payments, the month's and the previous month's (carried in-transit items).
        """
        CREATE TEMP TABLE rec_payments ON COMMIT DROP AS
        SELECT pi.id, pi.order_id, pi.provider, pi.provider_intent_id AS ref, pi.amount_cents AS amount,
               pi.currency::text AS currency, pi.updated_at AS paid_at, pi.updated_at >= p.start_at AS in_month,
               i.number AS invoice_number
          FROM public.payment_intents pi
          CROSS JOIN rec_params p
          LEFT JOIN public.invoices i ON i.payment_intent_id = pi.id
         WHERE pi.status = 'succeeded' AND pi.updated_at >= p.prev_start_at AND pi.updated_at < p.end_at;
        CREATE INDEX ON rec_payments (ref);
        ANALYZE rec_payments
        """,
        // Settlement events: Stripe's balance transactions as they are; Checkout.com's breakdown
        // rows summed per action. `ref` is the payment, `item` the refund or dispute.
        """
        CREATE TEMP TABLE rec_events ON COMMIT DROP AS
        SELECT l.provider, l.line_key AS txn, l.created_at,
               CASE WHEN l.category = 'charge' THEN 'charge'
                    WHEN l.category IN ('refund', 'refund_failure', 'dispute', 'dispute_reversal', 'payout') THEN l.category
                    WHEN l.category = 'payout_reversal' THEN 'payout'
                    ELSE 'adjustment' END AS kind,
               l.currency::text AS currency, l.gross_minor AS gross, abs(l.fee_minor) AS fee, l.net_minor AS net,
               l.presentment_currency::text AS p_currency, l.presentment_minor AS p_amount, l.payment_intent_id AS ref,
               l.source_id AS item, l.source_id, l.payout_id, 1::bigint AS lines, l.category
          FROM public.settlement_lines l CROSS JOIN rec_params p
         WHERE l.provider = 'stripe' AND l.created_at >= p.prev_start_at
        UNION ALL
        SELECT l.provider, split_part(l.line_key, ':', 1), min(l.created_at),
               min(CASE WHEN l.category = 'capture' THEN 'charge'
                        WHEN l.category IN ('refund', 'payout') THEN l.category
                        WHEN l.category = 'chargeback' THEN 'dispute'
                        WHEN l.category IN ('chargeback reversal', 'chargeback_reversal') THEN 'dispute_reversal'
                        ELSE 'adjustment' END),
               min(l.currency), sum(l.gross_minor)::bigint, sum(abs(l.fee_minor))::bigint, sum(l.net_minor)::bigint,
               -- The presentment amount is the Gross breakdown row's (fee rows carry gross 0).
               min(l.presentment_currency) FILTER (WHERE l.gross_minor <> 0),
               sum(l.presentment_minor) FILTER (WHERE l.gross_minor <> 0)::bigint, min(l.source_id),
               split_part(l.line_key, ':', 1), min(l.source_id), min(l.payout_id), count(*), min(l.category)
          FROM public.settlement_lines l CROSS JOIN rec_params p
         WHERE l.provider = 'checkout' AND l.created_at >= p.prev_start_at
         GROUP BY l.provider, split_part(l.line_key, ':', 1);
        CREATE INDEX ON rec_events (ref);
        CREATE INDEX ON rec_events (item);
        ANALYZE rec_events
        """,
        """
        CREATE TEMP TABLE rec_breaks (
          break_type text NOT NULL, provider text, order_id bigint, payment_intent text, refund text, invoice_number text,
          credit_note_number text, balance_transaction text, payout_id text, dispute_id text,
          ledger_currency text, ledger_minor bigint, settlement_currency text, settlement_minor bigint,
          difference_minor bigint, ledger_at timestamptz, settled_at timestamptz, detail text, break_id text
        ) ON COMMIT DROP;
        CREATE TEMP TABLE rec_matched (
          item text NOT NULL, provider text, order_id bigint, payment_intent text, refund text, invoice_number text,
          credit_note_number text, balance_transaction text, payout_id text, currency text, ledger_minor bigint,
          settlement_currency text, settled_minor bigint, fee_minor bigint, net_minor bigint, difference_minor bigint,
          within_tolerance boolean, ledger_at timestamptz, settled_at timestamptz, note text
        ) ON COMMIT DROP;
        CREATE TEMP TABLE rec_in_transit (
          item text NOT NULL, provider text, order_id bigint, payment_intent text, refund text, invoice_number text,
          currency text, amount_minor bigint, ledger_at timestamptz, settled_at timestamptz, reason text
        ) ON COMMIT DROP
        """,
        // Each payment with its charge events, the first one the match, later ones duplicates.
        """
        CREATE TEMP TABLE rec_charges ON COMMIT DROP AS
        SELECT pm.*, e.txn, e.created_at AS settled_at, e.currency AS s_currency, e.gross, e.fee, e.net,
               coalesce(e.p_currency, e.currency) AS m_currency, coalesce(e.p_amount, e.gross) AS m_amount, e.payout_id,
               row_number() OVER (PARTITION BY pm.id ORDER BY e.created_at, e.txn) AS k
          FROM rec_payments pm
          LEFT JOIN rec_events e ON e.kind = 'charge' AND e.provider = pm.provider AND e.ref = pm.ref
        """,
        // Payments of the month with no settlement line: in transit near the end, else missing.
        """
        INSERT INTO rec_in_transit
        SELECT 'payment', c.provider, c.order_id, c.ref, NULL, c.invoice_number, c.currency, c.amount, c.paid_at, c.settled_at,
               CASE WHEN c.txn IS NULL THEN 'no settlement line yet' ELSE 'settled after the month end' END
          FROM rec_charges c CROSS JOIN rec_params p
         WHERE c.in_month AND c.k = 1
           AND ((c.txn IS NULL AND c.paid_at >= p.transit_from) OR c.settled_at >= p.end_at);
        INSERT INTO rec_breaks (break_type, provider, order_id, payment_intent, invoice_number, ledger_currency, ledger_minor,
                                ledger_at, detail)
        SELECT 'missing_in_provider', c.provider, c.order_id, c.ref, c.invoice_number, c.currency, c.amount, c.paid_at,
               'succeeded payment with no charge in the settlement reports'
          FROM rec_charges c CROSS JOIN rec_params p
         WHERE c.in_month AND c.txn IS NULL AND c.paid_at < p.transit_from;
        -- Carried from the previous month: in transit then, still open at this month's end.
        INSERT INTO rec_breaks (break_type, provider, order_id, payment_intent, invoice_number, ledger_currency, ledger_minor,
                                ledger_at, settled_at, detail)
        SELECT 'timing', c.provider, c.order_id, c.ref, c.invoice_number, c.currency, c.amount, c.paid_at, c.settled_at,
               'paid in the previous month, still not settled at this month''s end'
          FROM rec_charges c CROSS JOIN rec_params p
         WHERE NOT c.in_month AND c.k = 1 AND c.paid_at >= p.start_at - make_interval(days => p.transit_days)
           AND (c.txn IS NULL OR c.settled_at >= p.end_at)
        """,
        // Matched payments: currency, then amount within the tolerance, then fees.
        """
        INSERT INTO rec_breaks (break_type, provider, order_id, payment_intent, invoice_number, balance_transaction, payout_id,
                                ledger_currency, ledger_minor, settlement_currency, settlement_minor, ledger_at, settled_at, detail)
        SELECT 'currency_mismatch', c.provider, c.order_id, c.ref, c.invoice_number, c.txn, c.payout_id, c.currency, c.amount,
               c.m_currency, c.m_amount, c.paid_at, c.settled_at, 'charged in ' || c.m_currency || ', ledger says ' || c.currency
          FROM rec_charges c CROSS JOIN rec_params p
         WHERE c.k = 1 AND c.txn IS NOT NULL AND c.m_currency <> c.currency
           AND (c.in_month OR c.settled_at >= p.start_at) AND c.settled_at < p.end_at;
        INSERT INTO rec_breaks (break_type, provider, order_id, payment_intent, invoice_number, balance_transaction, payout_id,
                                ledger_currency, ledger_minor, settlement_currency, settlement_minor, difference_minor,
                                ledger_at, settled_at, detail)
        SELECT 'amount_mismatch', c.provider, c.order_id, c.ref, c.invoice_number, c.txn, c.payout_id, c.currency, c.amount,
               c.m_currency, c.m_amount, c.m_amount - c.amount, c.paid_at, c.settled_at,
               'settled amount differs from the ledger by more than the tolerance'
          FROM rec_charges c CROSS JOIN rec_params p
         WHERE c.k = 1 AND c.txn IS NOT NULL AND c.m_currency = c.currency AND abs(c.m_amount - c.amount) > p.amount_tol
           AND (c.in_month OR c.settled_at >= p.start_at) AND c.settled_at < p.end_at;
        INSERT INTO rec_matched
        SELECT 'payment', c.provider, c.order_id, c.ref, NULL, c.invoice_number, NULL, c.txn, c.payout_id, c.currency, c.amount,
               c.s_currency, c.gross, c.fee, c.net, c.m_amount - c.amount, c.m_amount <> c.amount, c.paid_at, c.settled_at,
               CASE WHEN NOT c.in_month THEN 'in transit at the previous month''s end, settled this month'
                    WHEN c.s_currency <> c.currency THEN 'settled in ' || c.s_currency END
          FROM rec_charges c CROSS JOIN rec_params p
         WHERE c.k = 1 AND c.txn IS NOT NULL AND c.m_currency = c.currency AND abs(c.m_amount - c.amount) <= p.amount_tol
           AND (c.in_month OR c.settled_at >= p.start_at) AND c.settled_at < p.end_at;
        INSERT INTO rec_breaks (break_type, provider, order_id, payment_intent, invoice_number, balance_transaction, payout_id,
                                ledger_currency, ledger_minor, settlement_currency, settlement_minor, difference_minor,
                                ledger_at, settled_at, detail)
        SELECT 'fee_variance', c.provider, c.order_id, c.ref, c.invoice_number, c.txn, c.payout_id, c.currency, c.amount,
               c.s_currency, c.fee, c.fee - x.expected, c.paid_at, c.settled_at,
               'fee ' || c.fee || ' minor units, schedule says ' || x.expected
          FROM rec_charges c
          CROSS JOIN rec_params p
          JOIN rec_fees f ON f.provider = c.provider AND f.currency = c.s_currency
          CROSS JOIN LATERAL (SELECT (round(c.gross::numeric * f.bp / 10000) + f.fixed_minor)::bigint AS expected) x
         WHERE c.k = 1 AND c.txn IS NOT NULL AND c.settled_at >= p.start_at AND c.settled_at < p.end_at
           AND abs(c.fee - x.expected) > p.fee_tol
        """,
        // A second charge for one payment, and two succeeded payments for one order.
        """
        INSERT INTO rec_breaks (break_type, provider, order_id, payment_intent, invoice_number, balance_transaction, payout_id,
                                ledger_currency, ledger_minor, settlement_currency, settlement_minor, ledger_at, settled_at, detail)
        SELECT 'duplicate', c.provider, c.order_id, c.ref, c.invoice_number, c.txn, c.payout_id, c.currency, c.amount,
               c.m_currency, c.m_amount, c.paid_at, c.settled_at, 'settlement charge number ' || c.k || ' for one payment'
          FROM rec_charges c CROSS JOIN rec_params p
         WHERE c.k > 1 AND (c.in_month OR c.settled_at >= p.start_at) AND c.settled_at < p.end_at;
        INSERT INTO rec_breaks (break_type, provider, order_id, payment_intent, invoice_number, ledger_currency, ledger_minor,
                                ledger_at, detail)
        SELECT 'duplicate', pm.provider, pm.order_id, pm.ref, pm.invoice_number, pm.currency, pm.amount, pm.paid_at,
               'order has ' || n || ' succeeded payments'
          FROM (SELECT *, count(*) OVER (PARTITION BY order_id) AS n FROM rec_payments WHERE in_month) pm
         WHERE pm.n > 1
        """,
        // Charges of the month that match no succeeded payment of the window.
        """
        INSERT INTO rec_matched
        SELECT 'payment', e.provider, pi.order_id, e.ref, NULL, i.number, NULL, e.txn, e.payout_id, pi.currency, pi.amount_cents,
               e.currency, e.gross, e.fee, e.net, coalesce(e.p_amount, e.gross) - pi.amount_cents, false, pi.updated_at,
               e.created_at, 'ledger payment outside the window (' || to_char(pi.updated_at, 'YYYY-MM-DD') || ')'
          FROM rec_events e
          CROSS JOIN rec_params p
          JOIN public.payment_intents pi ON pi.provider_intent_id = e.ref AND pi.provider = e.provider AND pi.status = 'succeeded'
          LEFT JOIN public.invoices i ON i.payment_intent_id = pi.id
         WHERE e.kind = 'charge' AND e.created_at >= p.start_at AND e.created_at < p.end_at
           AND NOT EXISTS (SELECT 1 FROM rec_payments pm WHERE pm.ref = e.ref AND pm.provider = e.provider);
        INSERT INTO rec_breaks (break_type, provider, order_id, payment_intent, balance_transaction, payout_id,
                                settlement_currency, settlement_minor, settled_at, detail)
        SELECT 'missing_in_ledger', e.provider, pi.order_id, e.ref, e.txn, e.payout_id, coalesce(e.p_currency, e.currency),
               coalesce(e.p_amount, e.gross), e.created_at,
               CASE WHEN pi.id IS NULL THEN 'charge for a payment the ledger does not know'
                    ELSE 'charge for a payment the ledger has as ' || pi.status END
          FROM rec_events e
          CROSS JOIN rec_params p
          LEFT JOIN public.payment_intents pi ON pi.provider_intent_id = e.ref AND pi.provider = e.provider
         WHERE e.kind = 'charge' AND e.created_at >= p.start_at AND e.created_at < p.end_at
           AND NOT EXISTS (SELECT 1 FROM rec_payments pm WHERE pm.ref = e.ref AND pm.provider = e.provider)
           AND (pi.id IS NULL OR pi.status <> 'succeeded')
        """,
        // Refunds: matched by the provider's refund id (Stripe re_…, Checkout.com action id).
        // Only succeeded refunds match; one the ledger has as failed or pending but the
        // provider settled is a missing_in_ledger break and nothing else.
        """
        CREATE TEMP TABLE rec_refunds ON COMMIT DROP AS
        SELECT r.id, r.order_id, r.provider_refund_id AS ref, r.amount_cents AS amount, r.currency::text AS currency,
               r.created_at, r.status, pi.provider, pi.provider_intent_id AS payment_ref, cn.number AS credit_note,
               cn.created_at AS credit_note_at, i.number AS invoice_number, r.created_at >= p.start_at AS in_month,
               e.txn, e.created_at AS settled_at, e.currency AS s_currency, e.gross, e.fee, e.net, e.payout_id,
               coalesce(e.p_currency, e.currency) AS m_currency, abs(coalesce(e.p_amount, e.gross)) AS m_amount,
               row_number() OVER (PARTITION BY r.id ORDER BY e.created_at, e.txn) AS k
          FROM public.refunds r
          CROSS JOIN rec_params p
          LEFT JOIN public.payment_intents pi ON pi.id = r.payment_intent_id
          LEFT JOIN public.credit_notes cn ON cn.refund_id = r.id
          LEFT JOIN public.invoices i ON i.payment_intent_id = r.payment_intent_id
          LEFT JOIN rec_events e ON e.kind = 'refund' AND e.item = r.provider_refund_id AND e.provider = pi.provider
         WHERE r.created_at >= p.prev_start_at AND r.created_at < p.end_at
        """,
        """
        INSERT INTO rec_in_transit
        SELECT 'refund', r.provider, r.order_id, r.payment_ref, r.ref, r.invoice_number, r.currency, r.amount, r.created_at,
               r.settled_at, CASE WHEN r.txn IS NULL THEN 'no settlement line yet' ELSE 'settled after the month end' END
          FROM rec_refunds r CROSS JOIN rec_params p
         WHERE r.in_month AND r.status = 'succeeded' AND r.k = 1
           AND ((r.txn IS NULL AND r.created_at >= p.transit_from) OR r.settled_at >= p.end_at);
        INSERT INTO rec_breaks (break_type, provider, order_id, payment_intent, refund, invoice_number, credit_note_number,
                                ledger_currency, ledger_minor, ledger_at, detail)
        SELECT 'missing_in_provider', r.provider, r.order_id, r.payment_ref, r.ref, r.invoice_number, r.credit_note, r.currency,
               r.amount, r.created_at, 'succeeded refund with no refund in the settlement reports'
          FROM rec_refunds r CROSS JOIN rec_params p
         WHERE r.in_month AND r.status = 'succeeded' AND r.txn IS NULL AND r.created_at < p.transit_from;
        INSERT INTO rec_breaks (break_type, provider, order_id, payment_intent, refund, invoice_number, credit_note_number,
                                balance_transaction, payout_id, ledger_currency, ledger_minor, settlement_currency,
                                settlement_minor, difference_minor, ledger_at, settled_at, detail)
        SELECT CASE WHEN r.m_currency <> r.currency THEN 'currency_mismatch' ELSE 'amount_mismatch' END, r.provider,
               r.order_id, r.payment_ref, r.ref, r.invoice_number, r.credit_note, r.txn, r.payout_id, r.currency, r.amount,
               r.m_currency, r.m_amount, CASE WHEN r.m_currency = r.currency THEN r.m_amount - r.amount END, r.created_at,
               r.settled_at, 'refund settled differently from the ledger'
          FROM rec_refunds r CROSS JOIN rec_params p
         WHERE r.k = 1 AND r.status = 'succeeded' AND r.txn IS NOT NULL AND r.settled_at < p.end_at
           AND (r.in_month OR r.settled_at >= p.start_at)
           AND (r.m_currency <> r.currency OR abs(r.m_amount - r.amount) > p.amount_tol);
        INSERT INTO rec_matched
        SELECT 'refund', r.provider, r.order_id, r.payment_ref, r.ref, r.invoice_number, r.credit_note, r.txn, r.payout_id,
               r.currency, r.amount, r.s_currency, r.gross, r.fee, r.net, r.m_amount - r.amount, r.m_amount <> r.amount,
               r.created_at, r.settled_at,
               CASE WHEN NOT r.in_month THEN 'in transit at the previous month''s end, settled this month' END
          FROM rec_refunds r CROSS JOIN rec_params p
         WHERE r.k = 1 AND r.status = 'succeeded' AND r.txn IS NOT NULL AND r.settled_at < p.end_at
           AND (r.in_month OR r.settled_at >= p.start_at)
           AND r.m_currency = r.currency AND abs(r.m_amount - r.amount) <= p.amount_tol;
        INSERT INTO rec_breaks (break_type, provider, order_id, payment_intent, refund, balance_transaction, payout_id,
                                settlement_currency, settlement_minor, settled_at, detail)
        SELECT 'duplicate', r.provider, r.order_id, r.payment_ref, r.ref, r.txn, r.payout_id, r.m_currency, r.m_amount,
               r.settled_at, 'settlement refund number ' || r.k || ' for one refund'
          FROM rec_refunds r CROSS JOIN rec_params p
         WHERE r.k > 1 AND r.status = 'succeeded' AND r.settled_at >= p.start_at AND r.settled_at < p.end_at;
        INSERT INTO rec_breaks (break_type, provider, order_id, payment_intent, refund, balance_transaction, payout_id,
                                settlement_currency, settlement_minor, settled_at, detail)
        SELECT 'missing_in_ledger', e.provider, pi.order_id, e.ref, e.item, e.txn, e.payout_id,
               coalesce(e.p_currency, e.currency), abs(coalesce(e.p_amount, e.gross)), e.created_at,
               CASE WHEN r.id IS NULL THEN 'refund the ledger does not know' ELSE 'refund the ledger has as ' || r.status END
          FROM rec_events e
          CROSS JOIN rec_params p
          LEFT JOIN public.refunds r ON r.provider_refund_id = e.item
          LEFT JOIN public.payment_intents pi ON pi.provider_intent_id = e.ref AND pi.provider = e.provider
         WHERE e.kind = 'refund' AND e.created_at >= p.start_at AND e.created_at < p.end_at
           AND (r.id IS NULL OR r.status <> 'succeeded')
        """,
        // Refunds and credit notes must come in pairs.
        """
        INSERT INTO rec_breaks (break_type, provider, order_id, payment_intent, refund, invoice_number, ledger_currency,
                                ledger_minor, ledger_at, detail)
        SELECT 'refund_without_credit_note', r.provider, r.order_id, r.payment_ref, r.ref, r.invoice_number, r.currency,
               r.amount, r.created_at, 'succeeded refund with no credit note'
          FROM rec_refunds r
         WHERE r.in_month AND r.k = 1 AND r.status = 'succeeded' AND r.credit_note IS NULL;
        INSERT INTO rec_breaks (break_type, provider, order_id, payment_intent, refund, invoice_number, credit_note_number,
                                ledger_currency, ledger_minor, ledger_at, detail)
        SELECT 'credit_note_without_refund', pi.provider, cn.order_id, pi.provider_intent_id, r.provider_refund_id, i.number,
               cn.number, cn.currency, cn.amount_cents, cn.created_at,
               CASE WHEN r.status <> 'succeeded' THEN 'credit note for a refund the ledger has as ' || r.status
                    ELSE 'credit note for a refund the provider reports as failed' END
          FROM public.credit_notes cn
          CROSS JOIN rec_params p
          JOIN public.refunds r ON r.id = cn.refund_id
          JOIN public.invoices i ON i.id = cn.invoice_id
          LEFT JOIN public.payment_intents pi ON pi.id = r.payment_intent_id
         WHERE cn.created_at >= p.start_at AND cn.created_at < p.end_at
           AND (r.status <> 'succeeded'
                OR EXISTS (SELECT 1 FROM rec_events e WHERE e.kind = 'refund_failure' AND e.item = r.provider_refund_id))
        """,
        // Disputes touched this month: status from the provider's webhook events when known,
        // else won when funds were reinstated, else open. A won dispute whose two legs do not
        // cancel in the settlement currency carries an FX difference.
        """
        WITH touched AS (
          SELECT DISTINCT e.provider, CASE WHEN e.provider = 'stripe' THEN e.source_id ELSE e.ref END AS dispute_id
            FROM rec_events e CROSS JOIN rec_params p
           WHERE e.kind IN ('dispute', 'dispute_reversal') AND e.created_at >= p.start_at AND e.created_at < p.end_at
        ), legs AS (
          SELECT t.provider, t.dispute_id, min(e.ref) AS ref, min(e.currency) AS currency,
                 coalesce(sum(e.gross) FILTER (WHERE e.kind = 'dispute'), 0)::bigint AS withdrawn,
                 coalesce(sum(e.gross) FILTER (WHERE e.kind = 'dispute_reversal'), 0)::bigint AS reinstated,
                 coalesce(sum(e.p_amount), 0)::bigint AS presentment_net, bool_and(e.p_amount IS NOT NULL) AS has_presentment,
                 min(e.txn) AS txn, max(e.created_at) AS last_at, count(*) FILTER (WHERE e.kind = 'dispute_reversal') AS reversals
            FROM touched t
            JOIN rec_events e ON e.provider = t.provider AND e.kind IN ('dispute', 'dispute_reversal')
                             AND t.dispute_id = CASE WHEN e.provider = 'stripe' THEN e.source_id ELSE e.ref END
           GROUP BY t.provider, t.dispute_id
        ), classified AS (
          SELECT l.*, pi.order_id, pi.amount_cents, pi.currency::text AS ledger_currency, i.number AS invoice_number,
                 CASE WHEN s.status = 'lost' THEN 'dispute_lost'
                      WHEN s.status = 'won' OR l.reversals > 0 THEN 'dispute_won'
                      ELSE 'dispute_open' END AS break_type,
                 s.status
            FROM legs l
            LEFT JOIN public.payment_intents pi ON pi.provider_intent_id = l.ref AND pi.provider = l.provider
            LEFT JOIN public.invoices i ON i.payment_intent_id = pi.id
            LEFT JOIN LATERAL (
              SELECT ev.payload->>'status' AS status FROM public.payment_events ev
               WHERE ev.provider = l.provider AND ev.event_type LIKE '%dispute%' AND ev.payload->>'id' = l.dispute_id
               ORDER BY ev.received_at DESC, ev.id DESC LIMIT 1) s ON true
        ), ins AS (
          INSERT INTO rec_breaks (break_type, provider, order_id, payment_intent, invoice_number, balance_transaction,
                                  dispute_id, ledger_currency, ledger_minor, settlement_currency, settlement_minor, settled_at, detail)
          SELECT c.break_type, c.provider, c.order_id, c.ref, c.invoice_number, c.txn, c.dispute_id, c.ledger_currency,
                 c.amount_cents, c.currency, c.withdrawn + c.reinstated, c.last_at,
                 'withdrawn ' || c.withdrawn || ', reinstated ' || c.reinstated || ' minor units'
                   || coalesce('; provider status ' || c.status, '')
            FROM classified c
        )
        INSERT INTO rec_breaks (break_type, provider, order_id, payment_intent, invoice_number, balance_transaction, dispute_id,
                                ledger_currency, ledger_minor, settlement_currency, settlement_minor, difference_minor,
                                settled_at, detail)
        SELECT 'fx_difference', c.provider, c.order_id, c.ref, c.invoice_number, c.txn, c.dispute_id, c.ledger_currency,
               c.amount_cents, c.currency, c.withdrawn + c.reinstated, c.withdrawn + c.reinstated, c.last_at,
               'dispute legs do not cancel in the settlement currency'
          FROM classified c
         WHERE c.break_type = 'dispute_won' AND c.reversals > 0 AND c.withdrawn + c.reinstated <> 0
           AND (NOT c.has_presentment OR c.presentment_net = 0)
        """,
        // Payouts: the payout's amount against the sum of the lines it paid out, per currency:
        // amounts of different currencies are never added. A payout whose lines are in another
        // currency than the payout itself does not tie, whatever the numbers.
        """
        CREATE TEMP TABLE rec_payouts ON COMMIT DROP AS
        WITH lines AS (
          SELECT l.provider, l.payout_id, l.currency::text AS currency, count(*) AS lines,
                 sum(l.net_minor)::bigint AS lines_net, max(l.created_at) AS last_line_at
            FROM public.settlement_lines l
           WHERE l.payout_id IS NOT NULL AND l.category NOT IN ('payout', 'payout_reversal')
           GROUP BY l.provider, l.payout_id, l.currency
        ), payouts AS (
          SELECT e.provider, e.source_id AS payout_id, e.currency, -e.gross AS amount, e.created_at
            FROM rec_events e WHERE e.kind = 'payout' AND e.source_id IS NOT NULL
        ), joined AS (
          SELECT coalesce(po.provider, li.provider) AS provider, coalesce(po.payout_id, li.payout_id) AS payout_id,
                 coalesce(po.currency, li.currency) AS currency, po.created_at AS paid_out_at, li.lines, li.lines_net,
                 po.amount, coalesce(po.created_at, li.last_line_at) AS at
            FROM payouts po
            FULL JOIN lines li ON li.provider = po.provider AND li.payout_id = po.payout_id AND li.currency = po.currency
        ), spread AS (
          SELECT j.*, count(*) OVER (PARTITION BY j.provider, j.payout_id) AS currencies,
                 max(j.paid_out_at) OVER (PARTITION BY j.provider, j.payout_id) AS payout_at,
                 bool_or(j.amount IS NOT NULL) OVER (PARTITION BY j.provider, j.payout_id) AS has_amount
            FROM joined j
        )
        SELECT s.provider, s.payout_id, s.currency, s.paid_out_at, s.lines, s.lines_net, s.amount,
               -- Checkout.com reports no payout amounts: a payout of lines in several currencies
               -- then has a row per currency, each "no payout amount in the reports".
               CASE WHEN s.currencies > 1 AND s.has_amount AND s.amount IS NULL
                    THEN 'lines in ' || s.currency || ', the payout is in another currency'
                    WHEN s.currencies > 1 AND s.lines IS NULL THEN 'paid out in ' || s.currency || ', its lines are in another currency'
                    WHEN s.currencies > 1 AND s.amount IS NOT NULL THEN 'does not tie: lines in more than one currency'
                    WHEN s.amount IS NULL THEN 'no payout amount in the reports'
                    WHEN s.lines IS NULL THEN 'no itemized lines imported'
                    WHEN s.amount = s.lines_net THEN 'ties' ELSE 'does not tie' END AS status
          FROM spread s CROSS JOIN rec_params p
         WHERE coalesce(s.payout_at, s.at) >= p.start_at AND coalesce(s.payout_at, s.at) < p.end_at;
        INSERT INTO rec_breaks (break_type, provider, payout_id, settlement_currency, settlement_minor, difference_minor,
                                settled_at, detail)
        SELECT 'payout_mismatch', provider, payout_id, currency, amount, amount - lines_net, paid_out_at,
               CASE WHEN status = 'does not tie'
                    THEN 'payout ' || amount || ' minor units, its ' || lines || ' lines sum to ' || lines_net
                    ELSE status || ' (' || coalesce(amount::text, '-') || ' paid out, ' || coalesce(lines_net::text, '-')
                         || ' in lines, minor units of ' || currency || ')' END
          FROM rec_payouts
         WHERE status NOT IN ('ties', 'no payout amount in the reports', 'no itemized lines imported')
        """,
        // Invoice checks: every payment invoiced, arithmetic, the rate in force, the number series.
        """
        INSERT INTO rec_breaks (break_type, provider, order_id, payment_intent, ledger_currency, ledger_minor, ledger_at, detail)
        SELECT 'payment_without_invoice', provider, order_id, ref, currency, amount, paid_at, 'succeeded payment with no invoice'
          FROM rec_payments WHERE in_month AND invoice_number IS NULL;
        CREATE TEMP TABLE rec_invoices ON COMMIT DROP AS
        SELECT i.id, i.order_id, i.number, i.currency::text AS currency, i.subtotal_cents, i.vat_cents, i.total_cents,
               upper(coalesce(i.billing_country, '')) AS country, i.created_at, pi.provider_intent_id AS payment_ref,
               pi.provider,
               coalesce(d.supplied_at, i.created_at) AS supplied_at, x.net AS lines_net, x.vat AS lines_vat,
               x.min_bp, x.max_bp, x.line_bp, x.rate_label, i.created_at < p.end_at AS issued_in_month,
               coalesce(d.supplied_at, pi.updated_at, i.created_at) AS tax_point
          FROM public.invoices i
          CROSS JOIN rec_params p
          LEFT JOIN public.payment_intents pi ON pi.id = i.payment_intent_id
          LEFT JOIN rec_currency c ON c.code = i.currency
          -- The stored document is read once per invoice (OFFSET 0 keeps it from being inlined
          -- into every use below, each of which would detoast it again).
          CROSS JOIN LATERAL (
            SELECT doc->'lines' AS lines, (doc->>'prices_include_vat')::boolean AS inclusive,
                   (doc->>'supplied_at')::timestamptz AS supplied_at
              FROM (SELECT i.meta->'document' AS doc OFFSET 0) m OFFSET 0) d
          -- Plain aggregates only: a DISTINCT aggregate would sort once per invoice.
          CROSS JOIN LATERAL (
            SELECT sum(a.net)::bigint AS net, sum(a.gross - a.net)::bigint AS vat,
                   CASE WHEN count(a.bp) = count(*) THEN min(a.bp)::integer END AS min_bp, max(a.bp)::integer AS max_bp, array_agg(a.bp::integer) AS line_bp,
                   CASE WHEN min(a.rate) = max(a.rate) THEN min(a.rate) WHEN count(*) > 0 THEN 'mixed' END AS rate_label
              FROM (SELECT li->>'vat_rate' AS rate, r.bp,
                           CASE WHEN d.inclusive THEN round(r.amount * 10000 / (10000 + r.bp)) ELSE r.amount END AS net,
                           CASE WHEN d.inclusive THEN r.amount ELSE r.amount + round(r.amount * r.bp / 10000) END AS gross
                      FROM jsonb_array_elements(d.lines) li
                      CROSS JOIN LATERAL (
                        SELECT (li->>'unit_price')::numeric * power(10::numeric, c.exp) * (li->>'quantity')::integer AS amount,
                               round((li->>'vat_rate')::numeric * 100) AS bp) r) a) x
         -- Issued in the month (the invoice checks), or issued later for a supply in the month (the
         -- VAT figures go by tax point: the date of supply, i.e. the payment, for prepaid services).
         WHERE i.created_at >= p.start_at AND (i.created_at < p.end_at OR pi.updated_at < p.end_at);
        INSERT INTO rec_breaks (break_type, provider, order_id, payment_intent, invoice_number, ledger_currency, ledger_minor,
                                difference_minor, ledger_at, detail)
        SELECT 'invoice_arithmetic', NULL, v.order_id, v.payment_ref, v.number, v.currency, v.total_cents,
               CASE WHEN v.subtotal_cents + v.vat_cents <> v.total_cents THEN v.subtotal_cents + v.vat_cents - v.total_cents
                    ELSE v.vat_cents - v.lines_vat END, v.created_at,
               CASE WHEN v.subtotal_cents + v.vat_cents <> v.total_cents
                    THEN 'subtotal ' || v.subtotal_cents || ' + VAT ' || v.vat_cents || ' <> total ' || v.total_cents
                    ELSE 'VAT ' || v.vat_cents || ' / base ' || v.subtotal_cents || ', the lines'' rates give VAT ' || v.lines_vat
                         || ' / base ' || v.lines_net END
          FROM rec_invoices v
         WHERE v.issued_in_month
           AND (v.subtotal_cents + v.vat_cents <> v.total_cents OR v.lines_vat <> v.vat_cents OR v.lines_net <> v.subtotal_cents)
        """,
        """
        WITH rated AS (
          SELECT v.*, coalesce(r.bp, p.vat_fallback_bp) AS in_force
            FROM rec_invoices v
            CROSS JOIN rec_params p
            LEFT JOIN rec_vat_rates r
              ON r.country = v.country AND r.valid_from <= (v.supplied_at AT TIME ZONE 'UTC')::date
             AND (r.valid_to IS NULL OR (v.supplied_at AT TIME ZONE 'UTC')::date < r.valid_to)
        )
        INSERT INTO rec_breaks (break_type, order_id, payment_intent, invoice_number, ledger_currency, ledger_minor, ledger_at, detail)
        SELECT 'vat_rate', order_id, payment_ref, number, currency, vat_cents, created_at,
               CASE WHEN in_force IS NULL THEN 'no VAT rate in force for country ' || coalesce(nullif(country, ''), '(none)')
                    WHEN min_bp IS NULL THEN 'invoice records no rate'
                    ELSE 'invoice uses '
                         || array_to_string(array(SELECT DISTINCT trim_scale(u::numeric / 100) FROM unnest(line_bp) u
                                                   WHERE u IS NOT NULL ORDER BY 1), '%, ')
                         || '%, in force for ' || country || ' on ' || to_char(supplied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')
                         || ': ' || trim_scale(in_force::numeric / 100)::text || '%' END
          FROM rated
         WHERE issued_in_month AND (in_force IS NULL OR min_bp IS NULL OR min_bp <> in_force OR max_bp <> in_force)
        """,
        // The number series: each year's numbers 1..max must each appear once (up to month end).
        // One sort per series and year: a number equal to its predecessor is a copy, a number more
        // than one above it (or above 0) ends a gap.
        """
        WITH years AS (
          SELECT extract(year FROM start_at AT TIME ZONE 'UTC')::integer AS first_year,
                 extract(year FROM (end_at - interval '1 second') AT TIME ZONE 'UTC')::integer AS last_year, end_at
            FROM rec_params
        ), numbered AS (
          -- SAMIA-YYYY-N and SAMIA-CN-YYYY-N, tested with LIKE and translate() (a regular
          -- expression costs more than the sort below at a million numbers). The casts sit behind
          -- CASE: PostgreSQL may evaluate WHERE clauses in any order.
          SELECT 'invoice' AS series, f.year, substr(i.number, 12)::bigint AS n, i.number
            FROM public.invoices i CROSS JOIN years y
            CROSS JOIN LATERAL (
              SELECT CASE WHEN i.number LIKE 'SAMIA-____-_%' AND length(i.number) <= 29 AND substr(i.number, 11, 1) = '-'
                               AND translate(substr(i.number, 7), '0123456789', '') = '-'
                          THEN substr(i.number, 7, 4)::integer END AS year) f
           WHERE i.created_at < y.end_at AND f.year = ANY (ARRAY[y.first_year, y.last_year])
          UNION ALL
          SELECT 'credit_note', f.year, substr(cn.number, 15)::bigint, cn.number
            FROM public.credit_notes cn CROSS JOIN years y
            CROSS JOIN LATERAL (
              SELECT CASE WHEN cn.number LIKE 'SAMIA-CN-____-_%' AND length(cn.number) <= 32 AND substr(cn.number, 14, 1) = '-'
                               AND translate(substr(cn.number, 10), '0123456789', '') = '-'
                          THEN substr(cn.number, 10, 4)::integer END AS year) f
           WHERE cn.created_at < y.end_at AND f.year = ANY (ARRAY[y.first_year, y.last_year])
        ), ordered AS (
          SELECT series, year, n, number, coalesce(lag(n) OVER w, 0) AS prev, lead(n) OVER w AS next
            FROM numbered WINDOW w AS (PARTITION BY series, year ORDER BY n)
        ), copies AS (
          SELECT series, year, n, count(*) AS copies, min(number) AS number
            FROM ordered WHERE n = prev OR n = next GROUP BY 1, 2, 3
        )
        INSERT INTO rec_breaks (break_type, invoice_number, credit_note_number, detail)
        SELECT 'invoice_sequence', CASE WHEN series = 'invoice' THEN number END, CASE WHEN series = 'credit_note' THEN number END,
               series || ' number ' || n || ' of ' || year || ' used ' || copies || ' times'
          FROM copies
        UNION ALL
        SELECT 'invoice_sequence', NULL, NULL,
               series || ' numbers of ' || year || ' missing: ' || (prev + 1) || CASE WHEN n - 1 > prev + 1 THEN '-' || (n - 1) ELSE '' END
          FROM ordered WHERE n - prev > 1
        """,
        // The figures per rate of documents at several rates, and the month's credit notes by
        // rate, for the VAT summary, the return and the journal alike.
        documentRates,
        creditNoteRates,
        // VAT return figures: invoices by tax point (date of supply) in the month, minus credit
        // notes issued in the month; a document at several rates in each of its rates' rows.
        """
        CREATE TEMP TABLE rec_vat ON COMMIT DROP AS
        WITH docs AS (
          SELECT v.country, v.currency, coalesce(r.rate, v.rate_label, 'unknown') AS rate,
                 1 AS invoices, 0 AS credit_notes, coalesce(r.gross - r.vat, v.subtotal_cents) AS base,
                 coalesce(r.vat, v.vat_cents) AS vat, coalesce(r.gross, v.total_cents) AS gross
            FROM rec_invoices v CROSS JOIN rec_params p
            LEFT JOIN rec_doc_rates r ON r.kind = 'invoice' AND r.id = v.id
           WHERE v.tax_point >= p.start_at AND v.tax_point < p.end_at
          UNION ALL
          SELECT c.country, c.currency, c.rate, 0, 1, -(c.gross - c.vat), -c.vat, -c.gross FROM rec_credit_rates c
        )
        SELECT coalesce(nullif(country, ''), '??') AS country, rate, currency, sum(invoices)::bigint AS invoices,
               sum(credit_notes)::bigint AS credit_notes, sum(base)::bigint AS base, sum(vat)::bigint AS vat,
               sum(gross)::bigint AS gross, coalesce(sum(base) FILTER (WHERE invoices = 1), 0)::bigint AS invoice_base,
               coalesce(sum(base) FILTER (WHERE credit_notes = 1), 0)::bigint AS credit_base
          FROM docs GROUP BY 1, 2, 3
        """,
    ]

    /// Major units with exactly the currency's decimals, from minor units.
    static func major(_ minor: String, _ currency: String) -> String {
        "(SELECT \(decimal(minor, exp: "c.exp")) FROM rec_currency c WHERE c.code = \(currency))"
    }

    /// Minor units as a decimal with exactly `exp` places (`exp` is a column of `rec_currency`).
    /// The expression is parenthesised: `amount - lines_net` divided term by term was a
    /// payout's difference off by the currency's factor.
    static func decimal(_ minor: String, exp: String) -> String {
        "round((\(minor))::numeric / power(10::numeric, \(exp)), \(exp))"
    }

    /// A text column as a spreadsheet may show it: a value starting with `=`, `+`, `-`, `@`, a
    /// tab or a carriage return gets a leading `'`, so a description from a settlement file
    /// (`=HYPERLINK(...)`) is never a live formula (OWASP's CSV-injection advice). Amounts are
    /// numbers, not text, and are left alone.
    static func text(_ column: String, as name: String? = nil) -> String {
        "CASE WHEN \(column) ~ '^[=+@\\t\\r-]' THEN '''' || \(column) ELSE \(column) END AS "
            + (name ?? String(column.split(separator: ".").last!))
    }

    static let breakColumns = """
        break_id, \(text("provider")), order_id, \(text("payment_intent")), \(text("refund")), \(text("invoice_number")),
        \(text("credit_note_number")), \(text("balance_transaction")), \(text("payout_id")), \(text("dispute_id")),
        ledger_currency, \(major("ledger_minor", "ledger_currency")) AS ledger_amount, settlement_currency,
        \(major("settlement_minor", "settlement_currency")) AS settlement_amount,
        \(major("difference_minor", "coalesce(settlement_currency, ledger_currency)")) AS difference, ledger_at, settled_at,
        \(text("detail"))
        """

    static func breaks(_ type: String) -> String {
        """
        COPY (SELECT \(breakColumns) FROM rec_breaks WHERE break_type = \(SQLIdentifier.literal(type))
               ORDER BY ledger_at NULLS LAST, settled_at NULLS LAST, payment_intent, refund, balance_transaction, invoice_number,
                        credit_note_number, payout_id, dispute_id, detail)
          TO STDOUT WITH (FORMAT csv, HEADER)
        """
    }

    static let matched = """
        COPY (SELECT m.item, \(text("m.provider")), m.order_id, \(text("m.payment_intent")), \(text("m.refund")),
                     \(text("m.invoice_number")), \(text("m.credit_note_number")), \(text("m.balance_transaction")),
                     \(text("m.payout_id")), m.currency, \(decimal("m.ledger_minor", exp: "c.exp")) AS ledger_amount,
                     m.settlement_currency, \(decimal("m.settled_minor", exp: "s.exp")) AS settled_gross,
                     \(decimal("m.fee_minor", exp: "s.exp")) AS fee,
                     \(decimal("m.net_minor", exp: "s.exp")) AS net,
                     \(decimal("m.difference_minor", exp: "c.exp")) AS difference,
                     m.within_tolerance, m.ledger_at, m.settled_at, \(text("m.note"))
                FROM rec_matched m
                LEFT JOIN rec_currency c ON c.code = m.currency
                LEFT JOIN rec_currency s ON s.code = m.settlement_currency
               ORDER BY m.settled_at, m.balance_transaction)
          TO STDOUT WITH (FORMAT csv, HEADER)
        """

    /// Settlement lines of the month that matching does not use (Stripe fees, network costs,
    /// transfers, tax, reserves, ...; Checkout.com actions other than captures, refunds,
    /// chargebacks and payouts), per provider, currency and category with their totals, so that
    /// every imported line is accounted for somewhere in the ZIP.
    static let other = """
        COPY (SELECT \(text("e.provider")), e.currency, \(text("e.category")), sum(e.lines)::bigint AS lines,
                     \(decimal("sum(e.gross)", exp: "c.exp")) AS gross, \(decimal("sum(e.fee)", exp: "c.exp")) AS fee,
                     \(decimal("sum(e.net)", exp: "c.exp")) AS net
                FROM rec_events e
                CROSS JOIN rec_params p
                JOIN rec_currency c ON c.code = e.currency
               WHERE e.kind = 'adjustment' AND e.created_at >= p.start_at AND e.created_at < p.end_at
               GROUP BY e.provider, e.currency, e.category, c.exp
               ORDER BY e.provider, e.currency, e.category)
          TO STDOUT WITH (FORMAT csv, HEADER)
        """

    static let inTransit = """
        COPY (SELECT t.item, \(text("t.provider")), t.order_id, \(text("t.payment_intent")), \(text("t.refund")),
                     \(text("t.invoice_number")), t.currency,
                     \(decimal("t.amount_minor", exp: "c.exp")) AS amount, t.ledger_at, t.settled_at, \(text("t.reason"))
                FROM rec_in_transit t LEFT JOIN rec_currency c ON c.code = t.currency
               ORDER BY t.ledger_at, t.payment_intent, t.refund)
          TO STDOUT WITH (FORMAT csv, HEADER)
        """

    static let payouts = """
        COPY (SELECT \(text("provider")), \(text("payout_id")), currency, paid_out_at, lines, \(major("lines_net", "currency")) AS lines_net,
                     \(major("amount", "currency")) AS payout_amount, \(major("amount - lines_net", "currency")) AS difference, status
                FROM rec_payouts ORDER BY paid_out_at NULLS LAST, provider, payout_id)
          TO STDOUT WITH (FORMAT csv, HEADER)
        """

    /// The VAT figures also in a reporting currency, from `rec_fx` (rate = reporting units per
    /// unit), each converted amount rounded half up to the reporting currency's decimals. The
    /// currency is the transaction's `samia.reporting_currency` setting (a `COPY` takes no
    /// parameters; `setUpMatching` sets it).
    static let vatSummaryConverted: String = {
        func convert(_ minor: String) -> String {
            "round(\(minor)::numeric / power(10::numeric, c.exp) * f.rate::numeric, r.exp)"
        }
        return """
            COPY (SELECT v.country, v.rate AS vat_rate_percent, v.currency, v.invoices, v.credit_notes,
                         \(decimal("v.base", exp: "c.exp")) AS taxable_base,
                         \(decimal("v.vat", exp: "c.exp")) AS vat,
                         \(decimal("v.gross", exp: "c.exp")) AS gross,
                         current_setting('samia.reporting_currency') AS reporting_currency, f.rate AS fx_rate, \(convert("v.base")) AS taxable_base_reporting,
                         \(convert("v.vat")) AS vat_reporting, \(convert("v.gross")) AS gross_reporting
                    FROM rec_vat v
                    JOIN rec_currency c ON c.code = v.currency
                    JOIN rec_currency r ON r.code = current_setting('samia.reporting_currency')
                    JOIN rec_fx f ON upper(f.currency) = v.currency
                   ORDER BY v.country, v.currency, v.rate)
              TO STDOUT WITH (FORMAT csv, HEADER)
            """
    }()

    static let vatSummary = """
        COPY (SELECT country, rate AS vat_rate_percent, currency, invoices, credit_notes, \(major("base", "currency")) AS taxable_base,
                     \(major("vat", "currency")) AS vat, \(major("gross", "currency")) AS gross
                FROM rec_vat ORDER BY country, currency, rate)
          TO STDOUT WITH (FORMAT csv, HEADER)
        """
}
