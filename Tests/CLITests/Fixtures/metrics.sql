-- A hand-checkable metrics fixture; expected values are worked out in MetricsTests.swift.
-- Times are UTC; Asia/Beirut is UTC+2 in November 2026 and UTC+3 until 2026-10-24 21:00Z, when
-- clocks go back an hour (2026-10-24 is a 25-hour day there).
INSERT INTO public.services (code, name, base_price) VALUES ('tarot', 'Tarot', 25.00), ('coffee', 'Coffee', 20.00);
INSERT INTO public.profiles (id, email, country) VALUES
  ('00000000-0000-0000-0000-0000000000c1', 'c1@example.com', 'SA'),
  ('00000000-0000-0000-0000-0000000000c2', 'c2@example.com', 'KW'),
  ('00000000-0000-0000-0000-0000000000a1', 'a1@example.com', 'LB');
-- Order 2 is a reading booked with reader a1 for 14:00 Beirut on the 20th.
INSERT INTO public.orders (id, user_id, service_id, status, assigned_reader, scheduled_at, created_at) VALUES
  (1, '00000000-0000-0000-0000-0000000000c1', (SELECT id FROM public.services WHERE code = 'tarot'), 'approved', NULL, NULL, '2026-11-20 06:00Z'),
  (2, '00000000-0000-0000-0000-0000000000c2', (SELECT id FROM public.services WHERE code = 'tarot'), 'delivered',
   '00000000-0000-0000-0000-0000000000a1', '2026-11-20 12:00Z', '2026-11-20 07:00Z'),
  (3, '00000000-0000-0000-0000-0000000000c1', (SELECT id FROM public.services WHERE code = 'coffee'), 'delivered', NULL, NULL, '2026-11-19 22:00Z');

INSERT INTO public.events_raw (occurred_at, event, actor_hash, actor_role, service_code, props) VALUES
  -- 00:30 on the 20th in Beirut, still the 19th in UTC.
  ('2026-11-19 22:30Z', 'order_created', 'h-c1', 'client', 'tarot', '{}'),
  ('2026-11-20 21:59Z', 'order_created', 'h-c1', 'client', 'tarot', '{}'),
  -- 00:00 on the 21st in Beirut.
  ('2026-11-20 22:00Z', 'order_created', 'h-c2', 'client', 'coffee', '{}'),
  ('2026-11-20 10:00Z', 'order_delivered', 'h-r1', 'reader', 'tarot', '{"order_age_s": 100}'),
  ('2026-11-20 11:00Z', 'order_delivered', 'h-r1', 'reader', 'tarot', '{"order_age_s": 300}'),
  ('2026-11-20 12:00Z', 'order_delivered', 'h-r1', 'reader', 'tarot', '{"order_age_s": 200}'),
  ('2026-11-20 12:30Z', 'order_regenerated', 'h-r1', 'reader', 'coffee', '{}'),
  ('2026-11-20 13:00Z', 'call_started', 'h-c2', 'client', 'direct_call', '{}'),
  ('2026-11-20 13:10Z', 'call_started', 'h-c2', 'client', 'direct_call', '{}'),
  ('2026-11-20 14:00Z', 'call_ended', 'h-c2', 'client', 'direct_call', '{"end_reason": "completed", "duration_s": 60}'),
  ('2026-11-20 14:05Z', 'call_ended', 'h-c2', 'client', 'direct_call', '{"end_reason": "dropped_by_monitor", "duration_s": 30}'),
  ('2026-11-20 15:00Z', 'rate_limit_hit', 'ip:1', 'anon', NULL, '{}'),
  ('2026-11-20 15:01Z', 'rate_limit_hit', 'ip:2', 'anon', NULL, '{}'),
  ('2026-11-20 16:00Z', 'sql_latency', NULL, 'system', NULL, '{"ms": 10}'),
  ('2026-11-20 16:01Z', 'sql_latency', NULL, 'system', NULL, '{"ms": 20}'),
  -- The 25-hour day: 00:30 local (UTC+3), 23:30 local after the fall-back (UTC+2), then 00:30 on the 25th.
  ('2026-10-23 21:30Z', 'order_created', 'h-c1', 'client', 'tarot', '{}'),
  ('2026-10-24 21:30Z', 'order_created', 'h-c1', 'client', 'tarot', '{}'),
  ('2026-10-24 22:30Z', 'order_created', 'h-c1', 'client', 'tarot', '{}');

-- Order 1: a failed first attempt, then success (SAR). Order 2: KWD, first attempt. Order 3: SAR at
-- 00:10 Beirut on the 20th (the 19th in UTC), first attempt, that succeeds on the 21st (09:00
-- Beirut): its attempt counts on the 20th, its revenue on the 21st. updated_at is the success time.
INSERT INTO public.payment_intents (order_id, provider, provider_intent_id, amount_cents, currency, status, created_at, updated_at) VALUES
  (1, 'stripe', 'pi_m1', 11500, 'SAR', 'failed', '2026-11-20 08:00Z', '2026-11-20 08:01Z'),
  (1, 'stripe', 'pi_m2', 11500, 'SAR', 'succeeded', '2026-11-20 08:05Z', '2026-11-20 08:06Z'),
  (2, 'stripe', 'pi_m3', 3750, 'KWD', 'succeeded', '2026-11-20 09:00Z', '2026-11-20 09:01Z'),
  (3, 'stripe', 'pi_m4', 2000, 'SAR', 'succeeded', '2026-11-19 22:10Z', '2026-11-21 07:00Z');
INSERT INTO public.refunds (order_id, payment_intent_id, provider_refund_id, amount_cents, currency, reason, status, created_at)
SELECT 2, id, 're_m1', 1250, 'KWD', 'late', 'succeeded', '2026-11-20 10:00Z' FROM public.payment_intents WHERE provider_intent_id = 'pi_m3';

INSERT INTO public.notif_log (user_id, channel, template_code, status, created_at) VALUES
  ('00000000-0000-0000-0000-0000000000c1', 'email', 'receipt', 'sent', '2026-11-20 08:06Z'),
  ('00000000-0000-0000-0000-0000000000c2', 'email', 'receipt', 'sent', '2026-11-20 09:01Z'),
  ('00000000-0000-0000-0000-0000000000c2', 'sms', 'otp', 'failed', '2026-11-20 09:02Z'),
  ('00000000-0000-0000-0000-0000000000c1', 'whatsapp', 'ready', 'queued', '2026-11-20 12:00Z');

-- Order 1 approved six hours after it was created; one media item rejected.
INSERT INTO public.moderation_actions (actor_id, target_kind, target_id, action, created_at) VALUES
  ('00000000-0000-0000-0000-0000000000c1', 'order', '1', 'approve', '2026-11-20 12:00Z'),
  ('00000000-0000-0000-0000-0000000000c1', 'media', '77', 'reject', '2026-11-20 12:30Z');
