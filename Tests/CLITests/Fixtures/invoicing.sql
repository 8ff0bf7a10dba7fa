-- A small, hand-checkable invoicing fixture: three buyers (SA with an Allah-ligature name,
-- KW paying in a three-decimal currency, DE), payments and one partial refund.
INSERT INTO public.services (code, name, base_price, meta) VALUES
  ('tarot', 'Tarot reading', 25.00, '{"name_ar": "قراءة التاروت"}'),
  ('coffee', 'Coffee cup reading', 20.00, '{"name_ar": "قراءة الفنجان"}')
ON CONFLICT (code) DO NOTHING;
INSERT INTO public.profiles (id, email, first_name, last_name, country) VALUES
  ('00000000-0000-0000-0000-0000000000a1', 'abdullah@example.com', 'عبد الله', 'الحربي', 'SA'),
  ('00000000-0000-0000-0000-0000000000a2', 'layla@example.com', 'Layla', 'Haddad', 'KW'),
  ('00000000-0000-0000-0000-0000000000a3', 'jonas@example.com', 'Jonas', 'Weber', 'DE');
INSERT INTO public.orders (user_id, service_id, status, created_at)
SELECT u, (SELECT id FROM public.services WHERE code = CASE WHEN n % 2 = 0 THEN 'tarot' ELSE 'coffee' END), 'delivered',
       timestamptz '2026-11-01 10:00Z' + make_interval(hours => n)
  FROM generate_series(1, :orders) n,
       LATERAL (SELECT (ARRAY['00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000a2',
                              '00000000-0000-0000-0000-0000000000a3'])[1 + n % 3]::uuid AS u) x;
INSERT INTO public.payment_intents (order_id, provider, provider_intent_id, amount_cents, currency, status, created_at, updated_at)
SELECT o.id, 'stripe', 'pi_fixture_' || o.id,
       CASE p.country WHEN 'SA' THEN 11500 WHEN 'KW' THEN 3750 ELSE 2999 END,
       CASE p.country WHEN 'SA' THEN 'SAR' WHEN 'KW' THEN 'KWD' ELSE 'EUR' END,
       'succeeded', o.created_at, o.created_at + interval '1 minute'
  FROM public.orders o JOIN public.profiles p ON p.id = o.user_id;
-- One failed attempt (never invoiced) and one partial refund of the first KWD payment.
INSERT INTO public.payment_intents (order_id, provider, provider_intent_id, amount_cents, currency, status)
SELECT min(id), 'stripe', 'pi_fixture_failed', 100, 'SAR', 'failed' FROM public.orders;
INSERT INTO public.refunds (order_id, payment_intent_id, provider_refund_id, amount_cents, currency, reason, status)
SELECT pi.order_id, pi.id, 're_fixture_1', 1250, 'KWD', 'Reading delivered late', 'succeeded'
  FROM public.payment_intents pi WHERE pi.currency = 'KWD' ORDER BY pi.id LIMIT 1;
