import Postgres

/// The break register (`reconciliation_breaks`, docs/reconciliation.md "Working breaks"): stable
/// ids for the month's breaks, the ones resolved earlier set aside, and what is carried open.
extension ReconciliationSQL {
    /// Each break's id: `BR-` and 12 hex digits of its type and the keys naming its items (the
    /// detail only when no key does, as for a gap in a number series). Amounts are left out, so
    /// a break keeps its id when a later file changes a figure. Two breaks with the same keys in
    /// one month are numbered `-2`, `-3`, … in their CSV order.
    static let breakIDs = """
        WITH ids AS (
          SELECT ctid AS row_id, 'BR-' || upper(substr(md5(concat_ws('|', break_type, coalesce(provider, ''),
                   coalesce(payment_intent, ''), coalesce(refund, ''), coalesce(invoice_number, ''),
                   coalesce(credit_note_number, ''), coalesce(balance_transaction, ''), coalesce(payout_id, ''),
                   coalesce(dispute_id, ''), coalesce(settlement_currency, ''),
                   CASE WHEN coalesce(payment_intent, refund, invoice_number, credit_note_number, balance_transaction,
                                      payout_id, dispute_id) IS NULL THEN coalesce(detail, '') END)), 1, 12)) AS base,
                 ledger_at, settled_at, ledger_minor, settlement_minor, detail
            FROM rec_breaks
        ), numbered AS (
          SELECT row_id, base, row_number() OVER (PARTITION BY base ORDER BY ledger_at, settled_at, ledger_minor,
                                                                          settlement_minor, detail) AS k
            FROM ids
        )
        UPDATE rec_breaks b SET break_id = n.base || CASE WHEN n.k > 1 THEN '-' || n.k ELSE '' END
          FROM numbered n WHERE b.ctid = n.row_id
        """

    /// Breaks someone resolved in an earlier close are not raised again: they move to
    /// `rec_resolved` (the ZIP's `breaks/resolved.csv`) and out of the counts.
    static let setAsideResolved = """
        CREATE TEMP TABLE rec_resolved ON COMMIT DROP AS
        SELECT b.*, r.first_month, r.resolved_at, r.resolved_by, r.resolution
          FROM rec_breaks b JOIN public.reconciliation_breaks r ON r.id = b.break_id AND r.status = 'resolved';
        DELETE FROM rec_breaks b USING rec_resolved r WHERE r.break_id = b.break_id
        """

    /// Every break open as of this close: the month's, and those raised in earlier months that
    /// are still open and were not raised again (carried). A break of this month's earlier run
    /// that this run no longer finds is not carried: this run clears it.
    static let openBreaks = """
        CREATE TEMP TABLE rec_open ON COMMIT DROP AS
        SELECT b.break_id AS id, b.break_type, coalesce(r.first_month, p.month_key) AS first_month,
               p.month_key AS last_month, coalesce(r.occurred_at, least(b.ledger_at, b.settled_at), p.end_at) AS occurred_at,
               false AS carried, to_jsonb(b) - 'break_id' AS item
          FROM rec_breaks b CROSS JOIN rec_params p LEFT JOIN public.reconciliation_breaks r ON r.id = b.break_id
        UNION ALL
        SELECT r.id, r.break_type, r.first_month, r.last_month, r.occurred_at, true, r.item
          FROM public.reconciliation_breaks r CROSS JOIN rec_params p
         WHERE r.status = 'open' AND r.first_month < p.month_key AND r.last_month <> p.month_key
           AND NOT EXISTS (SELECT 1 FROM rec_breaks b WHERE b.break_id = r.id)
        """

    /// $1 the run id. Records the month's breaks (new ones open, known ones seen again), and
    /// clears the open breaks an earlier run of this month raised that this run no longer finds.
    static let recordBreaks = """
        WITH seen AS (
          INSERT INTO public.reconciliation_breaks AS r (id, break_type, first_month, last_month, first_seen_at, last_seen_at,
                                                        occurred_at, item)
          SELECT o.id, o.break_type, o.first_month, o.last_month, now(), now(), o.occurred_at, o.item
            FROM rec_open o WHERE NOT o.carried
          ON CONFLICT (id) DO UPDATE
            SET last_month = greatest(r.last_month, excluded.last_month), last_seen_at = now(), item = excluded.item,
                status = 'open', cleared_at = NULL, cleared_by_run = NULL
            WHERE r.status <> 'resolved'
          RETURNING r.id
        )
        UPDATE public.reconciliation_breaks r SET status = 'cleared', cleared_at = now(), cleared_by_run = $1
          FROM rec_params p
         WHERE r.status = 'open' AND r.last_month = p.month_key
           AND NOT EXISTS (SELECT 1 FROM rec_breaks b WHERE b.break_id = r.id)
        """

    /// The ageing of every open break at the month's end, per type.
    static let ageing = """
        COPY (SELECT o.break_type, count(*) AS open, count(*) FILTER (WHERE NOT o.carried AND o.first_month = p.month_key) AS new_this_month,
                     count(*) FILTER (WHERE o.first_month < p.month_key) AS from_earlier_months,
                     count(*) FILTER (WHERE o.carried) AS carried_not_raised_again,
                     count(*) FILTER (WHERE p.end_at - o.occurred_at <= interval '30 days') AS age_0_30_days,
                     count(*) FILTER (WHERE p.end_at - o.occurred_at > interval '30 days'
                                        AND p.end_at - o.occurred_at <= interval '60 days') AS age_31_60_days,
                     count(*) FILTER (WHERE p.end_at - o.occurred_at > interval '60 days'
                                        AND p.end_at - o.occurred_at <= interval '90 days') AS age_61_90_days,
                     count(*) FILTER (WHERE p.end_at - o.occurred_at > interval '90 days') AS age_over_90_days,
                     min(o.occurred_at) AS oldest
                FROM rec_open o CROSS JOIN rec_params p
               GROUP BY o.break_type, p.month_key ORDER BY o.break_type)
          TO STDOUT WITH (FORMAT csv, HEADER)
        """

    /// The same ageing for the summary: open count and the four age buckets, per type.
    static let ageingRows = """
        SELECT o.break_type, count(*) AS open,
               count(*) FILTER (WHERE p.end_at - o.occurred_at <= interval '30 days') AS d30,
               count(*) FILTER (WHERE p.end_at - o.occurred_at > interval '30 days'
                                  AND p.end_at - o.occurred_at <= interval '60 days') AS d60,
               count(*) FILTER (WHERE p.end_at - o.occurred_at > interval '60 days'
                                  AND p.end_at - o.occurred_at <= interval '90 days') AS d90,
               count(*) FILTER (WHERE p.end_at - o.occurred_at > interval '90 days') AS over90
          FROM rec_open o CROSS JOIN rec_params p
         GROUP BY o.break_type ORDER BY o.break_type
        """

    /// Open breaks of earlier months not raised again this month, with their age.
    static let carried = """
        COPY (SELECT o.id AS break_id, o.break_type, o.first_month, o.last_month,
                     extract(day FROM p.end_at - o.occurred_at)::integer AS age_days, o.occurred_at,
                     \(text("(o.item->>'provider')", as: "provider")), \(text("(o.item->>'payment_intent')", as: "payment_intent")),
                     \(text("(o.item->>'refund')", as: "refund")), \(text("(o.item->>'invoice_number')", as: "invoice_number")),
                     \(text("(o.item->>'balance_transaction')", as: "balance_transaction")),
                     \(text("(o.item->>'payout_id')", as: "payout_id")), \(text("(o.item->>'detail')", as: "detail"))
                FROM rec_open o CROSS JOIN rec_params p
               WHERE o.carried ORDER BY o.occurred_at, o.id)
          TO STDOUT WITH (FORMAT csv, HEADER)
        """

    /// Breaks found again this month that were resolved earlier: not breaks, listed with who
    /// resolved them and why.
    static let resolved = """
        COPY (SELECT break_id, break_type, first_month, resolved_at, \(text("resolved_by")), \(text("resolution")),
                     \(text("provider")), \(text("payment_intent")), \(text("refund")), \(text("invoice_number")),
                     \(text("balance_transaction")), \(text("payout_id")), \(text("detail"))
                FROM rec_resolved ORDER BY break_id)
          TO STDOUT WITH (FORMAT csv, HEADER)
        """
}
