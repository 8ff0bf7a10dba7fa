-- Data-subject request fixture. Subject A (a client) with two orders, payments, an invoice, a
-- refund, a call, notifications, media and an audit row; reader R handles A's orders and B's;
-- client B's data must never appear in A's export; S is a superadmin.
--   A aaaaaaaa-0000-4000-8000-000000000001  amira@example.com  +966500000001
--   R aaaaaaaa-0000-4000-8000-000000000002  reader@example.com
--   B aaaaaaaa-0000-4000-8000-000000000003  bob@example.org
--   S aaaaaaaa-0000-4000-8000-000000000004
INSERT INTO public.services (id, code, name) VALUES (1, 'coffee', 'Coffee cup'), (2, 'tarot', 'Tarot')
ON CONFLICT DO NOTHING;

INSERT INTO public.profiles (id, email, phone, first_name, last_name, dob, country, role_id)
SELECT v.id::uuid, v.email, v.phone, v.first_name, v.last_name, v.dob::date, v.country, r.id
  FROM (VALUES ('aaaaaaaa-0000-4000-8000-000000000001', 'amira@example.com', '+966500000001', 'Amira', 'Haddad', '1990-05-12', 'SA', 'client'),
               ('aaaaaaaa-0000-4000-8000-000000000002', 'reader@example.com', '+971500000002', 'Rana', 'Reader', NULL, 'AE', 'reader'),
               ('aaaaaaaa-0000-4000-8000-000000000003', 'bob@example.org', '+12025550003', 'Bob', 'Other', '1985-01-01', 'US', 'client'),
               ('aaaaaaaa-0000-4000-8000-000000000004', 'root@example.com', NULL, 'Sam', 'Super', NULL, 'LB', 'superadmin'))
       v(id, email, phone, first_name, last_name, dob, country, role)
  JOIN public.roles r ON r.code = v.role;

INSERT INTO public.media_assets (id, owner_id, kind, url, bytes) VALUES
  (101, 'aaaaaaaa-0000-4000-8000-000000000001', 'image', 'uploads/aaaaaaaa-0000-4000-8000-000000000001/order-1.jpg', 11),
  (102, 'aaaaaaaa-0000-4000-8000-000000000002', 'audio', 'readings/1/answer.mp3', 12),
  (103, 'aaaaaaaa-0000-4000-8000-000000000003', 'image', 'uploads/aaaaaaaa-0000-4000-8000-000000000003/order-3.jpg', 6),
  (104, 'aaaaaaaa-0000-4000-8000-000000000001', 'other', '../../etc/passwd', 0),
  (105, 'aaaaaaaa-0000-4000-8000-000000000001', 'image', 'uploads/aaaaaaaa-0000-4000-8000-000000000001/gone.jpg', 5),
  (106, 'aaaaaaaa-0000-4000-8000-000000000001', 'pdf', 'invoices/2026/10/SAMIA-2026-000001.pdf', 18);

INSERT INTO public.orders (id, user_id, service_id, status, question_text, input_media_id, output_media_id, assigned_reader) VALUES
  (1, 'aaaaaaaa-0000-4000-8000-000000000001', 1, 'delivered',
   'Please read for my sister sara@example.net too, call her on +44 7700 900123. Reply to amira@example.com',
   101, 102, 'aaaaaaaa-0000-4000-8000-000000000002'),
  (2, 'aaaaaaaa-0000-4000-8000-000000000001', 2, 'new', 'Will I travel? سأسافر؟', NULL, NULL, 'aaaaaaaa-0000-4000-8000-000000000002'),
  (3, 'aaaaaaaa-0000-4000-8000-000000000003', 1, 'delivered', 'Bob''s own question, bob@example.org', 103, NULL,
   'aaaaaaaa-0000-4000-8000-000000000002');

INSERT INTO public.payment_intents (id, order_id, provider, provider_intent_id, amount_cents, currency, status, client_secret) VALUES
  (1, 1, 'stripe', 'pi_A1', 11500, 'SAR', 'succeeded', 'pi_A1_secret_do_not_export'),
  (2, 3, 'stripe', 'pi_B3', 5000, 'USD', 'succeeded', 'pi_B3_secret');
INSERT INTO public.invoices (order_id, payment_intent_id, number, subtotal_cents, vat_cents, total_cents, currency,
                             pdf_media_id, billing_name, billing_email, billing_country)
VALUES (1, 1, 'SAMIA-2026-000001', 10000, 1500, 11500, 'SAR', 106, 'Amira Haddad', 'amira@example.com', 'SA');
INSERT INTO public.refunds (order_id, payment_intent_id, provider_refund_id, amount_cents, currency, reason, status)
VALUES (1, 1, 're_A1', 1000, 'SAR', 'asked by phone from +966 55 123 4567', 'succeeded');
INSERT INTO public.calls (order_id, started_at, ended_at, end_reason)
VALUES (2, '2026-10-02 10:00Z', '2026-10-02 10:20Z', 'completed');
INSERT INTO public.notif_log (user_id, channel, template_code, target, payload, status) VALUES
  ('aaaaaaaa-0000-4000-8000-000000000001', 'email', 'reading_ready', 'amira@example.com',
   '{"text": "Your reader reader@example.com replied"}', 'sent'),
  ('aaaaaaaa-0000-4000-8000-000000000003', 'email', 'reading_ready', 'bob@example.org', '{}', 'sent');
INSERT INTO public.notif_prefs (user_id) VALUES ('aaaaaaaa-0000-4000-8000-000000000001');
INSERT INTO public.phone_verifications (profile_id, phone, status)
VALUES ('aaaaaaaa-0000-4000-8000-000000000001', '+966500000001', 'verified');
INSERT INTO public.astro_requests (user_id, order_id, birth_date, birth_place)
VALUES ('aaaaaaaa-0000-4000-8000-000000000001', 2, '1990-05-12', 'Beirut');
INSERT INTO public.audit_log (actor, actor_role, event) VALUES ('aaaaaaaa-0000-4000-8000-000000000001', 'client', 'login');
-- Rows about A that others wrote (an admin's entry on A's refund, a block of A's profile), A's
-- pseudonymous analytics events (actor_hash = SHA-256 of "SALT:id", salt dsr-test-salt) and the
-- providers' webhooks naming A's payment and refund; B's of each kind must stay out of A's export.
INSERT INTO public.audit_log (actor, actor_role, event, entity, entity_id, meta)
SELECT 'aaaaaaaa-0000-4000-8000-000000000004', 'admin', 'refund_created', 'refund', r.id::text, '{}'
  FROM public.refunds r WHERE r.provider_refund_id = 're_A1';
INSERT INTO public.audit_log (actor, actor_role, event, entity, entity_id, meta) VALUES
  ('aaaaaaaa-0000-4000-8000-000000000004', 'admin', 'profile_blocked', 'profile', 'aaaaaaaa-0000-4000-8000-000000000003', '{}');
INSERT INTO public.moderation_actions (actor_id, target_kind, target_id, action, reason) VALUES
  ('aaaaaaaa-0000-4000-8000-000000000004', 'profile', 'aaaaaaaa-0000-4000-8000-000000000001', 'block', 'reported twice'),
  ('aaaaaaaa-0000-4000-8000-000000000004', 'order', '3', 'approve', 'checked');
INSERT INTO public.events_raw (occurred_at, event, actor_hash, actor_role, service_code)
SELECT v.at::timestamptz, v.event, encode(sha256(convert_to('dsr-test-salt:' || v.who, 'UTF8')), 'hex'), 'client', v.service
  FROM (VALUES ('2026-10-01 10:00Z', 'order_created', 'aaaaaaaa-0000-4000-8000-000000000001', 'coffee'),
               ('2026-10-02 10:00Z', 'call_started', 'aaaaaaaa-0000-4000-8000-000000000001', 'tarot'),
               ('2026-10-01 11:00Z', 'order_created', 'aaaaaaaa-0000-4000-8000-000000000003', 'coffee')) v(at, event, who, service);
INSERT INTO public.payment_events (provider, event_type, payload, signature_valid) VALUES
  ('stripe', 'payment_intent.succeeded', '{"id": "pi_A1", "amount": 11500, "currency": "sar"}', true),
  ('stripe', 'charge.refunded',
   '{"id": "evt_A1", "data": {"object": {"id": "re_A1", "amount": 1000, "receipt_email": "amira@example.com",
     "billing_details": {"name": "Amira Haddad", "email": "amira@example.com", "phone": "+966500000001"}}}}', true),
  ('stripe', 'payment_intent.succeeded', '{"id": "pi_B3", "receipt_email": "bob@example.org"}', true);
