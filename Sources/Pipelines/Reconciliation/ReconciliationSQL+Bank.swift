import Postgres

/// The bank tie-out (docs/reconciliation.md, "Bank tie-out"): each provider payout against the
/// deposit on the bank statements, unmatched deposits, bank fees, and each account's balance
/// carried from the month's opening to its closing.
extension ReconciliationSQL {
    static let bankStatements = [
        // Payouts of the window: Stripe's payout rows; Checkout.com reports none, so a payout is
        // the net of its lines.
        """
        CREATE TEMP TABLE rec_bank_payouts ON COMMIT DROP AS
        SELECT x.*, x.paid_at >= p.start_at AND x.paid_at < p.end_at AS in_month,
               (x.paid_at AT TIME ZONE p.tz)::date AS paid_day
          FROM (SELECT e.provider, e.source_id AS payout_id, e.currency, -e.net AS amount, e.created_at AS paid_at
                  FROM rec_events e WHERE e.kind = 'payout' AND e.source_id IS NOT NULL AND e.net < 0
                UNION ALL
                SELECT l.provider, l.payout_id, l.currency::text, sum(l.net_minor)::bigint, max(l.created_at)
                  FROM public.settlement_lines l CROSS JOIN rec_params p
                 WHERE l.provider = 'checkout' AND l.payout_id IS NOT NULL AND l.created_at >= p.prev_start_at
                 GROUP BY l.provider, l.payout_id, l.currency) x
          CROSS JOIN rec_params p
        """,
        // Bank days of the month; deposits from the window's start to the month's end plus the
        // days a payout may take.
        """
        CREATE TEMP TABLE rec_bank_window ON COMMIT DROP AS
        SELECT (p.start_at AT TIME ZONE p.tz)::date AS first_day, (p.end_at AT TIME ZONE p.tz)::date AS next_first,
               (p.prev_start_at AT TIME ZONE p.tz)::date AS window_first,
               (p.end_at AT TIME ZONE p.tz)::date + p.bank_days AS window_next
          FROM rec_params p;
        CREATE TEMP TABLE rec_bank_match ON COMMIT DROP AS
        WITH deposits AS (
          SELECT e.id, e.account, e.currency::text AS currency, e.booking_date, e.amount_minor, e.reference, e.entry_key
            FROM public.bank_entries e CROSS JOIN rec_bank_window w
           WHERE e.amount_minor > 0 AND NOT e.is_fee AND e.booking_date >= w.window_first AND e.booking_date < w.window_next
        ), pairs AS (
          SELECT po.provider, po.payout_id, d.id AS entry_id, d.account, d.booking_date, d.entry_key,
                 strpos(lower(d.reference), lower(po.payout_id)) > 0 AS by_reference, d.booking_date - po.paid_day AS days
            FROM rec_bank_payouts po
            CROSS JOIN rec_params p
            JOIN deposits d ON d.currency = po.currency AND d.amount_minor = po.amount
             AND d.booking_date BETWEEN po.paid_day AND po.paid_day + p.bank_days
        ), ranked AS (
          SELECT pairs.*, row_number() OVER (PARTITION BY provider, payout_id ORDER BY by_reference DESC, days, entry_id) AS rp,
                 row_number() OVER (PARTITION BY entry_id ORDER BY by_reference DESC, days, provider, payout_id) AS re
            FROM pairs
        )
        SELECT provider, payout_id, entry_id, account, booking_date, entry_key, by_reference FROM ranked WHERE rp = 1 AND re = 1
        """,
        // A payout of the month with no deposit is a break where statements of its currency cover
        // its days (without statements there is nothing to tie to: tieout.csv says so).
        """
        CREATE TEMP TABLE rec_bank_tieout ON COMMIT DROP AS
        SELECT po.provider, po.payout_id, po.currency, po.amount, po.paid_at, m.account, m.booking_date, m.entry_key,
               CASE WHEN m.entry_id IS NOT NULL AND m.by_reference THEN 'matched by reference, amount and date'
                    WHEN m.entry_id IS NOT NULL THEN 'matched by amount and date'
                    WHEN c.first_day IS NULL OR c.first_day > po.paid_day THEN 'no bank statement covers it'
                    -- The statements end before the payout's days to the bank have passed: it may
                    -- still arrive (a payout on the 30th, deposited on the 2nd).
                    WHEN c.last_day < po.paid_day + p.bank_days THEN 'on its way: the statements end on ' || c.last_day
                    ELSE 'not in bank' END AS status
          FROM rec_bank_payouts po
          CROSS JOIN rec_params p
          LEFT JOIN LATERAL (
            SELECT min(s.opening_date) AS first_day, max(s.closing_date) AS last_day
              FROM public.bank_statements s WHERE s.currency = po.currency) c ON true
          LEFT JOIN rec_bank_match m ON m.provider = po.provider AND m.payout_id = po.payout_id
         WHERE po.in_month;
        INSERT INTO rec_breaks (break_type, provider, payout_id, settlement_currency, settlement_minor, settled_at, detail)
        SELECT 'payout_not_in_bank', provider, payout_id, currency, amount, paid_at,
               'no deposit of this amount on the statements within ' || (SELECT bank_days FROM rec_params) || ' days'
          FROM rec_bank_tieout WHERE status = 'not in bank';
        INSERT INTO rec_breaks (break_type, balance_transaction, ledger_currency, ledger_minor, ledger_at, detail)
        SELECT 'deposit_without_payout', e.entry_key, e.currency::text, e.amount_minor, e.booking_date::timestamp AT TIME ZONE p.tz,
               'deposit on account ' || e.account || ' matches no provider payout'
          FROM public.bank_entries e CROSS JOIN rec_bank_window w CROSS JOIN rec_params p
         WHERE e.amount_minor > 0 AND NOT e.is_fee AND e.booking_date >= w.first_day AND e.booking_date < w.next_first
           AND NOT EXISTS (SELECT 1 FROM rec_bank_match m WHERE m.entry_id = e.id)
        """,
        // Each account's month: the balance at its start (the last statement closed before it,
        // else the first statement's opening), the month's entries, the balance at its end.
        """
        CREATE TEMP TABLE rec_bank_rollforward ON COMMIT DROP AS
        WITH accounts AS (
          SELECT DISTINCT s.account, s.currency::text AS currency
            FROM public.bank_statements s CROSS JOIN rec_bank_window w
           WHERE s.closing_date >= w.first_day AND s.opening_date < w.next_first
        ), bounds AS (
          SELECT a.*,
                 coalesce((SELECT s.closing_minor FROM public.bank_statements s
                            WHERE s.account = a.account AND s.currency = a.currency AND s.closing_date < w.first_day
                            ORDER BY s.closing_date DESC, s.id DESC LIMIT 1),
                          -- else the first statement reaching into the month, moved on by its
                          -- entries booked before the month began.
                          (SELECT s.opening_minor + coalesce((SELECT sum(e.amount_minor) FROM public.bank_entries e
                                                               WHERE e.statement_id = s.id AND e.booking_date < w.first_day), 0)
                             FROM public.bank_statements s
                            WHERE s.account = a.account AND s.currency = a.currency AND s.closing_date >= w.first_day
                            ORDER BY s.opening_date, s.id LIMIT 1)) AS opening,
                 (SELECT s.closing_minor FROM public.bank_statements s
                   WHERE s.account = a.account AND s.currency = a.currency AND s.closing_date < w.next_first
                   ORDER BY s.closing_date DESC, s.id DESC LIMIT 1) AS closing,
                 (SELECT max(s.closing_date) FROM public.bank_statements s
                   WHERE s.account = a.account AND s.currency = a.currency AND s.closing_date < w.next_first) AS closing_date
            FROM accounts a CROSS JOIN rec_bank_window w
        ), moves AS (
          SELECT e.account, e.currency::text AS currency,
                 coalesce(sum(e.amount_minor) FILTER (WHERE m.entry_id IS NOT NULL), 0)::bigint AS payouts,
                 coalesce(sum(e.amount_minor) FILTER (WHERE m.entry_id IS NULL AND e.amount_minor > 0 AND NOT e.is_fee), 0)::bigint AS other_credits,
                 coalesce(-sum(e.amount_minor) FILTER (WHERE e.is_fee), 0)::bigint AS fees,
                 coalesce(-sum(e.amount_minor) FILTER (WHERE e.amount_minor < 0 AND NOT e.is_fee), 0)::bigint AS other_debits
            FROM public.bank_entries e
            CROSS JOIN rec_bank_window w
            LEFT JOIN rec_bank_match m ON m.entry_id = e.id
           WHERE e.booking_date >= w.first_day AND e.booking_date < w.next_first
           GROUP BY e.account, e.currency
        )
        SELECT b.account, b.currency, b.opening, coalesce(m.payouts, 0) AS payouts, coalesce(m.other_credits, 0) AS other_credits,
               coalesce(m.fees, 0) AS fees, coalesce(m.other_debits, 0) AS other_debits,
               b.opening + coalesce(m.payouts, 0) + coalesce(m.other_credits, 0) - coalesce(m.fees, 0) - coalesce(m.other_debits, 0)
                 AS computed_closing, b.closing, b.closing_date
          FROM bounds b LEFT JOIN moves m USING (account, currency);
        INSERT INTO rec_breaks (break_type, ledger_currency, ledger_minor, settlement_currency, settlement_minor, difference_minor, detail)
        SELECT 'bank_balance_gap', currency, computed_closing, currency, closing, closing - computed_closing,
               'account ' || account || ': opening ' || coalesce(opening::text, 'unknown') || ' + the month''s entries = '
               || coalesce(computed_closing::text, 'unknown') || ', the statements close at ' || coalesce(closing::text, 'nothing')
               || ' minor units: a statement or an entry is missing'
          FROM rec_bank_rollforward
         WHERE closing IS NULL OR opening IS NULL OR computed_closing <> closing
        """,
    ]

    static let bankTieoutCSV = """
        COPY (SELECT \(text("t.provider")), \(text("t.payout_id")), t.currency, \(decimal("t.amount", exp: "c.exp")) AS amount,
                     t.paid_at AS paid_out_at, \(text("t.account")), t.booking_date AS deposited_on,
                     \(text("t.entry_key", as: "bank_reference")), t.status
                FROM rec_bank_tieout t JOIN rec_currency c ON c.code = t.currency
               ORDER BY t.paid_at, t.provider, t.payout_id)
          TO STDOUT WITH (FORMAT csv, HEADER)
        """

    static let bankFeesCSV = """
        COPY (SELECT \(text("e.account")), e.currency, e.booking_date, \(decimal("-e.amount_minor", exp: "c.exp")) AS fee,
                     \(text("e.entry_key", as: "bank_reference")), \(text("e.reference"))
                FROM public.bank_entries e
                CROSS JOIN rec_bank_window w
                JOIN rec_currency c ON c.code = e.currency
               WHERE e.is_fee AND e.booking_date >= w.first_day AND e.booking_date < w.next_first
               ORDER BY e.account, e.booking_date, e.id)
          TO STDOUT WITH (FORMAT csv, HEADER)
        """

    /// The roll-forward for the summary, formatted in each currency's decimals.
    static let bankRollforwardRows = """
        SELECT r.account, r.currency, coalesce(\(decimal("r.opening", exp: "c.exp"))::text, '—') AS opening,
               \(decimal("r.payouts", exp: "c.exp"))::text AS payouts, \(decimal("r.fees", exp: "c.exp"))::text AS fees,
               \(decimal("r.other_credits - r.other_debits", exp: "c.exp"))::text AS other_net,
               coalesce(\(decimal("r.computed_closing", exp: "c.exp"))::text, '—') AS computed_closing,
               coalesce(\(decimal("r.closing", exp: "c.exp"))::text, '—') AS closing,
               coalesce(r.closing IS NOT NULL AND r.opening IS NOT NULL AND r.closing = r.computed_closing, false) AS ties
          FROM rec_bank_rollforward r JOIN rec_currency c ON c.code = r.currency
         ORDER BY r.account, r.currency
        """

    static let bankRollforwardCSV = """
        COPY (SELECT \(text("r.account")), r.currency, \(decimal("r.opening", exp: "c.exp")) AS opening_balance,
                     \(decimal("r.payouts", exp: "c.exp")) AS payouts_received, \(decimal("r.other_credits", exp: "c.exp")) AS other_credits,
                     \(decimal("r.fees", exp: "c.exp")) AS bank_fees, \(decimal("r.other_debits", exp: "c.exp")) AS other_debits,
                     \(decimal("r.computed_closing", exp: "c.exp")) AS computed_closing,
                     \(decimal("r.closing", exp: "c.exp")) AS statement_closing, r.closing_date,
                     CASE WHEN r.closing IS NOT NULL AND r.opening IS NOT NULL AND r.closing = r.computed_closing THEN 'ties'
                          ELSE 'does not tie' END AS status
                FROM rec_bank_rollforward r JOIN rec_currency c ON c.code = r.currency
               ORDER BY r.account, r.currency)
          TO STDOUT WITH (FORMAT csv, HEADER)
        """
}
