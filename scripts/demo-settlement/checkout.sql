-- A Checkout.com financial-actions report for the demo's Checkout.com payments from :'from' to
-- :'to' (UTC): a Gross and a Processing Fee row per capture, a Gross row per refund of one of
-- them, one payout per day. Nothing is planted here: every break of the demo is Stripe's.
COPY (
  SELECT * FROM (
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
  UNION ALL
  SELECT 'pyt_' || to_char(r.created_at AT TIME ZONE 'UTC', 'YYYYMMDD'), pi.provider_intent_id, r.provider_refund_id, 'Refund',
         to_char((r.created_at + interval '5 seconds') AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), 'Gross', r.currency::text,
         round(-r.amount_cents::numeric / power(10::numeric, x.exp), x.exp), r.currency::text,
         round(-r.amount_cents::numeric / power(10::numeric, x.exp), x.exp)
    FROM public.refunds r
    JOIN public.payment_intents pi ON pi.id = r.payment_intent_id
    CROSS JOIN LATERAL (SELECT CASE WHEN r.currency IN ('KWD', 'BHD', 'OMR', 'JOD') THEN 3 ELSE 2 END AS exp) x
   WHERE pi.provider = 'checkout' AND pi.status = 'succeeded' AND pi.updated_at >= :'from' AND pi.updated_at < :'to'
     AND r.status = 'succeeded' AND r.created_at < :'to'
  ) rows ORDER BY "Processed On", "Action ID", "Breakdown Type" DESC
) TO STDOUT WITH (FORMAT csv, HEADER);
