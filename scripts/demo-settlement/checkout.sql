-- A Checkout.com financial-actions report for the demo's Checkout.com payments from :'from' to
-- :'to' (UTC): a Gross and a Processing Fee row per capture, one payout per day.
COPY (
  SELECT 'pyt_' || to_char(pi.updated_at AT TIME ZONE 'UTC', 'YYYYMMDD') AS "Payout ID", pi.provider_intent_id AS "Payment ID",
         'act_' || pi.id AS "Action ID", 'Capture' AS "Action Type",
         to_char((pi.updated_at + interval '5 seconds') AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS "Processed On",
         b.kind AS "Breakdown Type", pi.currency AS "Processing Currency",
         round(b.minor::numeric / power(10::numeric, x.exp), x.exp) AS "Processing Currency Amount", pi.currency AS "Holding Currency",
         round(b.minor::numeric / power(10::numeric, x.exp), x.exp) AS "Holding Currency Amount"
    FROM public.payment_intents pi
    CROSS JOIN LATERAL (SELECT CASE WHEN pi.currency IN ('KWD', 'BHD', 'OMR', 'JOD') THEN 3 ELSE 2 END AS exp) x
    CROSS JOIN LATERAL (VALUES ('Gross', pi.amount_cents),
                               ('Processing Fee', -(round(pi.amount_cents * 0.025)::bigint + CASE pi.currency WHEN 'USD' THEN 20 ELSE 0 END))) b(kind, minor)
   WHERE pi.provider = 'checkout' AND pi.status = 'succeeded' AND pi.updated_at >= :'from' AND pi.updated_at < :'to'
   ORDER BY pi.updated_at, pi.id, b.kind DESC
) TO STDOUT WITH (FORMAT csv, HEADER);
