-- A Stripe itemized balance-change report for the demo's payments from :'from' to :'to' (UTC),
-- generated from the seeded ledger with a few deterministic breaks so the demo's finance ZIP
-- has something to show: every 97th payment is missing, every 89th settled one minor unit
-- high, every 83rd charged twice. Fees follow policy/reconciliation.yaml.
COPY (
  WITH pay AS (
    SELECT pi.id, pi.provider_intent_id AS ref, pi.currency::text AS currency, pi.updated_at AS paid,
           pi.amount_cents + CASE WHEN pi.id % 89 = 0 THEN 1 ELSE 0 END AS gross,
           CASE WHEN pi.currency IN ('KWD', 'BHD', 'OMR', 'JOD') THEN 3 ELSE 2 END AS exp
      FROM public.payment_intents pi
     WHERE pi.provider = 'stripe' AND pi.status = 'succeeded' AND pi.updated_at >= :'from' AND pi.updated_at < :'to'
  ), lines AS (
    SELECT 'txn_' || id AS txn, paid + interval '5 seconds' AS at, currency, exp, gross,
           round(gross * 0.029)::bigint + CASE currency WHEN 'USD' THEN 30 WHEN 'EUR' THEN 25 ELSE 0 END AS fee,
           'charge' AS category, 'ch_' || id AS source, ref
      FROM pay WHERE id % 97 <> 0
    UNION ALL
    SELECT 'txn_dup_' || id, paid + interval '9 seconds', currency, exp, gross, round(gross * 0.029)::bigint, 'charge',
           'ch_dup_' || id, ref
      FROM pay WHERE id % 83 = 0
    UNION ALL
    SELECT 'txn_' || r.provider_refund_id, r.created_at + interval '5 seconds', r.currency, p.exp, -r.amount_cents, 0,
           'refund', r.provider_refund_id, p.ref
      FROM public.refunds r JOIN pay p ON p.id = r.payment_intent_id
     WHERE r.status = 'succeeded' AND r.created_at < :'to'
  )
  SELECT txn AS balance_transaction_id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS created_utc,
         to_char((at AT TIME ZONE 'UTC') + interval '2 days', 'YYYY-MM-DD') AS available_on_utc, lower(currency) AS currency,
         round(gross::numeric / power(10::numeric, exp), exp) AS gross, round(fee::numeric / power(10::numeric, exp), exp) AS fee,
         round((gross - fee)::numeric / power(10::numeric, exp), exp) AS net, category AS reporting_category,
         source AS source_id, '' AS description, round(gross::numeric / power(10::numeric, exp), exp) AS customer_facing_amount,
         lower(currency) AS customer_facing_currency, source AS charge_id, ref AS payment_intent_id
    FROM lines ORDER BY at, txn
) TO STDOUT WITH (FORMAT csv, HEADER);
