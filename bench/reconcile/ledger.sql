-- The reconciliation benchmark's ledger: :n succeeded Stripe payments spread over October 2026
-- in five currencies (2 and 3 decimals), invoices for 99 % of them (0.1 % with broken
-- arithmetic, 0.1 % at a rate not in force), refunds for about 3 % with credit notes for 99 %
-- of those. Deterministic: every choice is a function of the payment id.
\set ON_ERROR_STOP 1
INSERT INTO public.services (code, name, base_price) VALUES ('tarot', 'Tarot reading', 25.00) ON CONFLICT (code) DO NOTHING;
INSERT INTO public.profiles (id, email, country) VALUES
  ('00000000-0000-0000-0000-00000000be01', 'ae@bench.example', 'AE'),
  ('00000000-0000-0000-0000-00000000be02', 'sa@bench.example', 'SA'),
  ('00000000-0000-0000-0000-00000000be03', 'kw@bench.example', 'KW'),
  ('00000000-0000-0000-0000-00000000be04', 'de@bench.example', 'DE'),
  ('00000000-0000-0000-0000-00000000be05', 'ae2@bench.example', 'AE');
CREATE TABLE bench_pay AS
SELECT i, (ARRAY['USD', 'SAR', 'KWD', 'EUR', 'AED'])[1 + i % 5] AS currency,
       (ARRAY['AE', 'SA', 'KW', 'DE', 'AE'])[1 + i % 5] AS country,
       (ARRAY[500, 1500, 0, 1900, 500])[1 + i % 5] AS bp,
       (ARRAY[2, 2, 3, 2, 2])[1 + i % 5] AS exp,
       ('00000000-0000-0000-0000-00000000be0' || (1 + i % 5))::uuid AS user_id,
       1000 + (i::bigint * 7919) % 9000 AS amount,
       timestamptz '2026-10-01 00:00Z' + make_interval(secs => i * (2678400.0 / :n)) AS paid
  FROM generate_series(1, :n) i;
INSERT INTO public.orders (id, user_id, service_id, status, created_at)
SELECT i, user_id, (SELECT id FROM public.services WHERE code = 'tarot'), 'delivered', paid - interval '2 minutes' FROM bench_pay;
INSERT INTO public.payment_intents (id, order_id, provider, provider_intent_id, amount_cents, currency, status, created_at, updated_at)
SELECT i, i, 'stripe', 'pi_b' || i, amount, currency, 'succeeded', paid - interval '1 minute', paid FROM bench_pay;
INSERT INTO public.invoices (id, order_id, payment_intent_id, number, subtotal_cents, vat_cents, total_cents, currency,
                             billing_country, meta, created_at)
SELECT i, i, i, 'SAMIA-2026-' || lpad((row_number() OVER (ORDER BY i))::text, 7, '0'),
       net, amount - net + CASE WHEN i % 1000 = 3 THEN 1 ELSE 0 END, amount, currency, country,
       jsonb_build_object('document', jsonb_build_object('prices_include_vat', true,
         'supplied_at', to_char(paid AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
         'lines', jsonb_build_array(jsonb_build_object('quantity', 1, 'vat_rate', rate,
           'unit_price', round(amount::numeric / power(10::numeric, exp), exp)::text)))),
       paid + interval '1 minute'
  FROM bench_pay
  CROSS JOIN LATERAL (SELECT CASE WHEN i % 1000 = 5 THEN 100 ELSE bp END AS rbp) r
  CROSS JOIN LATERAL (SELECT round(amount::numeric * 10000 / (10000 + rbp))::bigint AS net,
                             trim_scale(rbp::numeric / 100)::text AS rate) x
 WHERE i % 100 <> 7;
INSERT INTO public.refunds (id, order_id, payment_intent_id, provider_refund_id, amount_cents, currency, status, created_at)
SELECT i, i, i, 're_b' || i, CASE WHEN i % 2 = 0 THEN amount ELSE amount * 3 / 10 END, currency, 'succeeded',
       paid + interval '2 days'
  FROM bench_pay WHERE i % 33 = 0;
INSERT INTO public.credit_notes (id, refund_id, invoice_id, order_id, number, amount_cents, vat_cents, currency, meta, created_at)
SELECT r.id, r.id, r.id, r.id, 'SAMIA-CN-2026-' || lpad((row_number() OVER (ORDER BY r.id))::text, 7, '0'), r.amount_cents,
       r.amount_cents - round(r.amount_cents::numeric * 10000 / (10000 + b.bp))::bigint, r.currency,
       jsonb_build_object('document', jsonb_build_object('lines', jsonb_build_array(jsonb_build_object('vat_rate', trim_scale(b.bp::numeric / 100)::text)))),
       r.created_at + interval '1 hour'
  FROM public.refunds r JOIN bench_pay b ON b.i = r.id JOIN public.invoices i ON i.id = r.id
 WHERE r.id % 3300 <> 0;
SELECT setval('public.orders_id_seq', :n), setval('public.payment_intents_id_seq', :n), setval('public.invoices_id_seq', :n),
       setval('public.refunds_id_seq', :n), setval('public.credit_notes_id_seq', :n);
ANALYZE;
