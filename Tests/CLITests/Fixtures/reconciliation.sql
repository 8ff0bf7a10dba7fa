-- October 2026, by hand: one ledger item per break type (docs/reconciliation.md), every amount
-- worked out in the comments. Settlement CSVs for the same payments are in ReconciliationTests.
INSERT INTO public.services (code, name, base_price) VALUES ('tarot', 'Tarot reading', 25.00) ON CONFLICT (code) DO NOTHING;
INSERT INTO public.profiles (id, email, country) VALUES
  ('00000000-0000-0000-0000-0000000000b1', 'sa@example.com', 'SA'),
  ('00000000-0000-0000-0000-0000000000b2', 'kw@example.com', 'KW'),
  ('00000000-0000-0000-0000-0000000000b3', 'bh@example.com', 'BH'),
  ('00000000-0000-0000-0000-0000000000b4', 'ae@example.com', 'AE'),
  ('00000000-0000-0000-0000-0000000000b5', 'de@example.com', 'DE');

-- Payments: (order id, provider, intent, minor units, currency, country, paid at UTC).
CREATE TEMP TABLE fx_pay (oid bigint, provider text, ref text, amount bigint, currency text, country text, paid timestamptz);
INSERT INTO fx_pay VALUES
  (1,  'stripe',   'pi_ok_sar',    11500, 'SAR', 'SA', '2026-10-05 10:00Z'),  -- matched
  (2,  'stripe',   'pi_kwd',        3750, 'KWD', 'KW', '2026-10-06 10:00Z'),  -- matched; partial refund 1.250 matched
  (3,  'stripe',   'pi_bhd',       11000, 'BHD', 'BH', '2026-10-07 10:00Z'),  -- settled 10.990: amount mismatch -0.010
  (4,  'stripe',   'pi_missing',    2000, 'USD', 'AE', '2026-10-08 10:00Z'),  -- no charge: missing in provider
  (5,  'stripe',   'pi_fee',       10000, 'USD', 'AE', '2026-10-09 10:00Z'),  -- fee 3.50, schedule 3.20: variance 0.30
  (6,  'stripe',   'pi_usd_ok',     5000, 'USD', 'AE', '2026-10-10 10:00Z'),  -- fee 1.75 = 2.9% + 0.30; dispute open
  (7,  'stripe',   'pi_cur',        2999, 'EUR', 'DE', '2026-10-11 10:00Z'),  -- charged in USD: currency mismatch
  (8,  'stripe',   'pi_dup',        5000, 'SAR', 'SA', '2026-10-12 10:00Z'),  -- two charges: duplicate
  (9,  'stripe',   'pi_noinv',      2000, 'SAR', 'SA', '2026-10-13 10:00Z'),  -- matched, never invoiced
  (10, 'stripe',   'pi_transit',    3000, 'SAR', 'SA', '2026-10-31 22:30Z'),  -- Oct in UTC, Nov 1 in Riyadh; settled Nov 1
  (11, 'stripe',   'pi_sepedge',    6000, 'SAR', 'SA', '2026-09-30 22:00Z'),  -- Sep in UTC, Oct 1 in Riyadh
  (12, 'stripe',   'pi_late',       4000, 'SAR', 'SA', '2026-10-29 10:00Z'),  -- last 3 days, no line yet: in transit
  (13, 'stripe',   'pi_sep_open',   1000, 'SAR', 'SA', '2026-09-29 12:00Z'),  -- in transit at Sep's end, still open: timing
  (14, 'stripe',   'pi_eur_fx',     4000, 'EUR', 'DE', '2026-10-14 10:00Z'),  -- settled in USD; dispute won, FX -0.50 USD
  (15, 'checkout', 'pay_ck1',       2500, 'USD', 'AE', '2026-10-19 10:00Z'),  -- Checkout.com, fee 0.83 = 2.5% + 0.20
  (16, 'stripe',   'pi_arith',      2301, 'SAR', 'SA', '2026-10-20 10:00Z'),  -- invoice 20.00 + 3.00 <> 23.01
  (17, 'stripe',   'pi_rate',       1150, 'SAR', 'SA', '2026-10-21 10:00Z');  -- invoiced at 5%, SA is 15%
INSERT INTO public.orders (id, user_id, service_id, status, created_at)
SELECT f.oid, p.id, (SELECT id FROM public.services WHERE code = 'tarot'), 'delivered', f.paid - interval '5 minutes'
  FROM fx_pay f JOIN public.profiles p ON p.country = f.country;
INSERT INTO public.payment_intents (order_id, provider, provider_intent_id, amount_cents, currency, status, created_at, updated_at)
SELECT oid, provider, ref, amount, currency, 'succeeded', paid - interval '1 minute', paid FROM fx_pay;
-- A failed attempt the provider nevertheless reports: missing in ledger ("has as failed").
INSERT INTO public.payment_intents (order_id, provider, provider_intent_id, amount_cents, currency, status, created_at, updated_at)
VALUES (1, 'stripe', 'pi_failed_attempt', 11500, 'SAR', 'failed', '2026-10-05 09:58Z', '2026-10-05 09:58Z');

-- Invoices: price includes VAT; net = round(gross * 10000 / (10000 + bp)), VAT = gross - net.
CREATE TEMP TABLE fx_inv (n integer, ref text, subtotal bigint, vat bigint, total bigint, rate text);
INSERT INTO fx_inv VALUES
  (1,  'pi_ok_sar',  10000, 1500, 11500, '15'),
  (2,  'pi_kwd',      3750,    0,  3750, '0'),
  (3,  'pi_bhd',     10000, 1000, 11000, '10'),
  (4,  'pi_missing',  1905,   95,  2000, '5'),    -- 2000 / 1.05 = 1904.76
  (5,  'pi_fee',      9524,  476, 10000, '5'),    -- 9523.81
  (6,  'pi_usd_ok',   4762,  238,  5000, '5'),    -- 4761.90
  (7,  'pi_cur',      2520,  479,  2999, '19'),   -- 2520.17
  (8,  'pi_dup',      4348,  652,  5000, '15'),   -- 4347.83
  (9,  'pi_sepedge',  5217,  783,  6000, '15'),   -- 5217.39
  (10, 'pi_eur_fx',   3361,  639,  4000, '19'),   -- 3361.34
  (11, 'pay_ck1',     2381,  119,  2500, '5'),    -- 2380.95
  (12, 'pi_late',     3478,  522,  4000, '15'),   -- 3478.26
  (13, 'pi_arith',    2000,  300,  2301, '15'),   -- broken on purpose
  (14, 'pi_rate',     1095,   55,  1150, '5'),    -- right for 5%, but SA is 15%
  (16, 'pi_transit',  2609,  391,  3000, '15');   -- 2608.70; number 15 is never issued: a gap
INSERT INTO public.invoices (order_id, payment_intent_id, number, subtotal_cents, vat_cents, total_cents, currency,
                             billing_country, meta, created_at)
SELECT pi.order_id, pi.id, 'SAMIA-2026-' || lpad(i.n::text, 6, '0'), i.subtotal, i.vat, i.total, pi.currency, f.country,
       jsonb_build_object('document', jsonb_build_object(
         'prices_include_vat', true, 'supplied_at', to_char(f.paid AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
         'lines', jsonb_build_array(jsonb_build_object(
           'quantity', 1, 'vat_rate', i.rate,
           'unit_price', (round(i.total::numeric / power(10::numeric, CASE WHEN pi.currency IN ('KWD', 'BHD') THEN 3 ELSE 2 END),
                                CASE WHEN pi.currency IN ('KWD', 'BHD') THEN 3 ELSE 2 END))::text)))),
       f.paid + interval '1 minute'
  FROM fx_inv i JOIN public.payment_intents pi ON pi.provider_intent_id = i.ref JOIN fx_pay f ON f.ref = i.ref;

-- Refunds: a partial KWD refund with its credit note (matched), one without a credit note, and a
-- failed one that still got a credit note.
INSERT INTO public.refunds (order_id, payment_intent_id, provider_refund_id, amount_cents, currency, status, created_at)
SELECT pi.order_id, pi.id, r.ref, r.amount, pi.currency, r.status, r.at
  FROM (VALUES ('pi_kwd', 're_kwd', 1250, 'succeeded', timestamptz '2026-10-10 09:00Z'),
               ('pi_ok_sar', 're_nocn', 1000, 'succeeded', timestamptz '2026-10-15 09:00Z'),
               ('pi_dup', 're_failed', 1000, 'failed', timestamptz '2026-10-16 09:00Z')) r(pi, ref, amount, status, at)
  JOIN public.payment_intents pi ON pi.provider_intent_id = r.pi;
INSERT INTO public.credit_notes (refund_id, invoice_id, order_id, number, amount_cents, vat_cents, currency, meta, created_at)
SELECT r.id, i.id, r.order_id, c.number, r.amount_cents, c.vat, r.currency,
       jsonb_build_object('document', jsonb_build_object('lines', jsonb_build_array(jsonb_build_object('vat_rate', c.rate)))),
       r.created_at + interval '1 hour'
  FROM (VALUES ('re_kwd', 'SAMIA-CN-2026-000001', 0, '0'),
               ('re_failed', 'SAMIA-CN-2026-000002', 130, '15')) c(ref, number, vat, rate)  -- 1000 / 1.15 = 869.57
  JOIN public.refunds r ON r.provider_refund_id = c.ref
  JOIN public.invoices i ON i.payment_intent_id = r.payment_intent_id;

-- The provider's webhook says the KWD dispute was lost.
INSERT INTO public.payment_events (provider, event_type, payload, signature_valid, received_at)
VALUES ('stripe', 'charge.dispute.closed', '{"id": "du_lost", "status": "lost"}', true, '2026-10-28 12:00Z');
