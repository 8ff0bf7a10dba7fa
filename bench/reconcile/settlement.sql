-- One Stripe itemized balance-change report for the benchmark ledger (bench/reconcile/ledger.sql),
-- with about 1 % of each kind of break, chosen by payment id:
--   i % 100 = 10 no charge (missing in provider)     = 11 one minor unit more (amount mismatch)
--            = 12 charged in another currency        = 13 a second charge (duplicate)
--            = 14 fee 50 minor units over schedule   = 15 a charge for an unknown payment
--            = 16 a dispute opened                   refunds: every succeeded one, but i % 100 = 18
-- Fees follow the schedule: 2.9 % of the gross, rounded half up.
COPY (
  WITH pay AS (
    SELECT b.*, amount + CASE WHEN i % 100 = 11 THEN 1 ELSE 0 END AS gross FROM bench_pay b
  ), lines AS (
    SELECT 'txn_' || i AS id, paid + interval '5 seconds' AS at, currency, exp, gross,
           round(gross * 0.029)::bigint + CASE WHEN i % 100 = 14 THEN 50 ELSE 0 END AS fee, 'charge' AS category,
           'ch_' || i AS source, gross AS shown,
           CASE WHEN i % 100 = 12 THEN CASE WHEN currency = 'USD' THEN 'EUR' ELSE 'USD' END ELSE currency END AS shown_currency,
           'pi_b' || i AS pi, i AS ord, CASE WHEN i % 100 = 12 THEN 2 ELSE exp END AS shown_exp
      FROM pay WHERE i % 100 <> 10
    UNION ALL
    SELECT 'txn_d' || i, paid + interval '9 seconds', currency, exp, gross, round(gross * 0.029)::bigint, 'charge', 'ch_d' || i,
           gross, currency, 'pi_b' || i, i, exp FROM pay WHERE i % 100 = 13
    UNION ALL
    SELECT 'txn_m' || i, paid + interval '7 seconds', currency, exp, gross, round(gross * 0.029)::bigint, 'charge', 'ch_m' || i,
           gross, currency, 'pi_unknown' || i, i, exp FROM pay WHERE i % 100 = 15
    UNION ALL
    SELECT 'txn_du' || i, paid + interval '3 days', currency, exp, -gross, 0, 'dispute', 'du_' || i, -gross, currency,
           'pi_b' || i, i, exp FROM pay WHERE i % 100 = 16
    UNION ALL
    SELECT 'txn_r' || r.id, r.created_at + interval '5 seconds', r.currency, b.exp, -r.amount_cents, 0, 'refund', r.provider_refund_id,
           -r.amount_cents, r.currency, 'pi_b' || r.id, r.id, b.exp
      FROM public.refunds r JOIN bench_pay b ON b.i = r.id WHERE r.id % 100 <> 18
  )
  SELECT id AS balance_transaction_id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS created_utc,
         to_char((at AT TIME ZONE 'UTC') + interval '2 days', 'YYYY-MM-DD') AS available_on_utc, lower(currency) AS currency,
         round(gross::numeric / power(10::numeric, exp), exp) AS gross, round(fee::numeric / power(10::numeric, exp), exp) AS fee,
         round((gross - fee)::numeric / power(10::numeric, exp), exp) AS net, category AS reporting_category, source AS source_id,
         '' AS description, round(shown::numeric / power(10::numeric, shown_exp), shown_exp) AS customer_facing_amount,
         lower(shown_currency) AS customer_facing_currency, 'ch_' || ord AS charge_id, pi AS payment_intent_id
    FROM lines ORDER BY at, id
) TO STDOUT WITH (FORMAT csv, HEADER);
