-- Demo data in every platform table, computed in PostgreSQL from (scale, seed, as_of) alone.
-- Scale 1: about 1,000 people and 10,000 orders over the 120 days before as_of.
CREATE OR REPLACE FUNCTION samia_dev.seed(scale integer, seed bigint, as_of timestamptz) RETURNS jsonb
LANGUAGE plpgsql AS $fn$
DECLARE
  people integer := 1000 * scale;
  n_orders integer := 10000 * scale;
  n_readers integer := 10 * scale;
  first_client integer := 9 + n_readers;
  n_clients integer;
  ar_first text[] := ARRAY['محمد','أحمد','علي','عمر','خالد','يوسف','فاطمة','مريم','نور','ليلى','سارة','عبد الله','هدى','رانيا','كريم','زينب'];
  ar_first_lat text[] := ARRAY['mohammed','ahmed','ali','omar','khaled','youssef','fatima','mariam','nour','layla','sara','abdullah','huda','rania','karim','zainab'];
  ar_last text[] := ARRAY['الحسيني','العتيبي','الشمري','حداد','خوري','منصور','الزهراني','القحطاني','عبد الرحمن','السيد','نصر','الكعبي'];
  ar_last_lat text[] := ARRAY['alhusseini','alotaibi','alshammari','haddad','khoury','mansour','alzahrani','alqahtani','abdelrahman','elsayed','nasr','alkaabi'];
  en_first text[] := ARRAY['James','Emma','Lucas','Sophie','Marco','Anna','Liam','Olivia','Noah','Chloé','Hans','Elena'];
  en_last text[] := ARRAY['Smith','Müller','Rossi','Dubois','García','Johnson','Jansen','Novak','Silva','Schmidt','Brown','Martin'];
  -- country, dialling code, currency, minor-unit exponent, units per USD, Arabic-speaking
  countries text[] := ARRAY['SA','AE','KW','BH','OM','QA','JO','LB','EG','DE','FR','IT','ES','NL','US'];
  dial text[] := ARRAY['966','971','965','973','968','974','962','961','20','49','33','39','34','31','1'];
  currencies text[] := ARRAY['SAR','AED','KWD','BHD','OMR','QAR','JOD','USD','EGP','EUR','EUR','EUR','EUR','EUR','USD'];
  exps integer[] := ARRAY[2,2,3,3,3,2,3,2,2,2,2,2,2,2,2];
  rates numeric[] := ARRAY[3.75,3.6725,0.307,0.376,0.385,3.64,0.709,1,48.5,0.92,0.92,0.92,0.92,0.92,1];
  weights double precision[] := ARRAY[0.22,0.14,0.06,0.04,0.04,0.04,0.06,0.05,0.09,0.05,0.04,0.03,0.03,0.03,0.08];
  cum double precision[];
  signs text[] := ARRAY['aries','taurus','gemini','cancer','leo','virgo','libra','scorpio','sagittarius','capricorn','aquarius','pisces'];
  acc double precision := 0;
  counts jsonb := '{}';
BEGIN
  IF NOT EXISTS (SELECT 1 FROM samia_dev.marker) THEN
    RAISE EXCEPTION 'not a samia-batch development database' USING ERRCODE = '42501';
  END IF;
  IF EXISTS (SELECT 1 FROM public.profiles) THEN
    RAISE EXCEPTION 'database already holds profiles; create a fresh one with dev init' USING ERRCODE = '55000';
  END IF;
  n_clients := people - first_client + 1;
  FOR k IN 1..array_length(weights, 1) LOOP acc := acc + weights[k]; cum := cum || acc; END LOOP;

  CREATE TEMP TABLE seed_people ON COMMIT DROP AS
  SELECT i,
         samia_dev.pid(seed, i) AS id,
         (SELECT min(k) FROM generate_subscripts(cum, 1) k WHERE cum[k] >= samia_dev.rnd(seed, 'country', i) * acc) AS c,
         1 + floor(samia_dev.rnd(seed, 'first', i) * 16)::int AS f16,
         1 + floor(samia_dev.rnd(seed, 'first', i) * 12)::int AS f12,
         1 + floor(samia_dev.rnd(seed, 'last', i) * 12)::int AS l12
    FROM generate_series(1, people) i;

  INSERT INTO public.profiles (id, email, phone, first_name, last_name, dob, country, country_code, birth_place,
                               birth_time, role_id, email_verified, phone_verified, created_at, updated_at)
  SELECT p.id,
         CASE WHEN p.c <= 9 THEN ar_first_lat[p.f16] || '.' || ar_last_lat[p.l12]
              ELSE lower(translate(en_first[p.f12], 'éü', 'eu')) || '.' || lower(translate(en_last[p.l12], 'üí', 'ui')) END
           || p.i || '@example.com',
         '+' || dial[p.c] || lpad((floor(samia_dev.rnd(seed, 'phone', p.i) * 1e8))::bigint::text, 8, '0'),
         CASE WHEN p.c <= 9 THEN ar_first[p.f16] ELSE en_first[p.f12] END,
         CASE WHEN p.c <= 9 THEN ar_last[p.l12] ELSE en_last[p.l12] END,
         date '1960-01-01' + floor(samia_dev.rnd(seed, 'dob', p.i) * 16400)::int,
         countries[p.c], dial[p.c],
         CASE WHEN samia_dev.rnd(seed, 'bplace', p.i) < 0.6 THEN NULL ELSE countries[p.c] || ' city ' || (p.i % 7) END,
         CASE WHEN samia_dev.rnd(seed, 'btime', p.i) < 0.5 THEN NULL
              ELSE time '00:00' + make_interval(mins => floor(samia_dev.rnd(seed, 'btime2', p.i) * 1440)::int) END,
         (SELECT r.id FROM public.roles r WHERE r.code = CASE
             WHEN p.i <= 2 THEN 'superadmin' WHEN p.i <= 5 THEN 'admin' WHEN p.i <= 8 THEN 'monitor'
             WHEN p.i < first_client THEN 'reader' ELSE 'client' END),
         samia_dev.rnd(seed, 'ev', p.i) < 0.8, samia_dev.rnd(seed, 'pv', p.i) < 0.6,
         as_of - make_interval(secs => 86400 * (130 + samia_dev.rnd(seed, 'joined', p.i) * 400)),
         as_of - make_interval(secs => 86400 * samia_dev.rnd(seed, 'upd', p.i) * 100)
    FROM seed_people p;

  INSERT INTO public.services (code, name, is_premium, base_price, meta) VALUES
    ('tarot', 'Tarot reading', false, 25.00, '{"name_ar": "قراءة التاروت"}'),
    ('coffee', 'Coffee cup reading', false, 20.00, '{"name_ar": "قراءة الفنجان"}'),
    ('astro', 'Astrology chart', true, 40.00, '{"name_ar": "خريطة فلكية"}'),
    ('healing', 'Energy healing', true, 35.00, '{"name_ar": "جلسة علاج بالطاقة"}'),
    ('direct_call', 'Direct call', true, 60.00, '{"name_ar": "مكالمة مباشرة"}')
  ON CONFLICT (code) DO NOTHING;

  CREATE TEMP TABLE seed_orders ON COMMIT DROP AS
  SELECT o.i,
         first_client + floor(samia_dev.rnd(seed, 'ouser', o.i) * n_clients)::int AS person,
         9 + floor(samia_dev.rnd(seed, 'oreader', o.i) * n_readers)::int AS reader,
         (ARRAY['tarot','tarot','tarot','coffee','coffee','astro','healing','direct_call'])[1 + floor(samia_dev.rnd(seed, 'osvc', o.i) * 8)::int] AS service,
         as_of - make_interval(secs => 86400 * 120 * samia_dev.rnd(seed, 'oage', o.i)) AS created_at,
         samia_dev.rnd(seed, 'ostatus', o.i) AS s
    FROM generate_series(1, n_orders) o(i);

  INSERT INTO public.orders (id, user_id, service_id, is_gold, status, question_text, assigned_reader, scheduled_at,
                             delivered_at, created_at, updated_at)
  SELECT o.i, samia_dev.pid(seed, o.person), sv.id, samia_dev.rnd(seed, 'gold', o.i) < 0.1,
         st.status::public.order_status,
         CASE WHEN samia_dev.rnd(seed, 'lang', o.i) < 0.6 THEN 'هل سأجد عملاً جديداً هذا العام؟' ELSE 'Will my new business succeed?' END,
         CASE WHEN st.status <> 'new' AND st.status <> 'cancelled' THEN samia_dev.pid(seed, o.reader) END,
         CASE WHEN o.service = 'direct_call' THEN o.created_at + interval '1 day' END,
         CASE WHEN st.status = 'delivered' THEN o.created_at + make_interval(secs => 3600 * (2 + 70 * samia_dev.rnd(seed, 'dlv', o.i))) END,
         o.created_at, o.created_at + interval '1 hour'
    FROM seed_orders o
    JOIN public.services sv ON sv.code = o.service
    CROSS JOIN LATERAL (SELECT CASE
        WHEN o.created_at < as_of - interval '7 days' THEN
          CASE WHEN o.s < 0.74 THEN 'delivered' WHEN o.s < 0.82 THEN 'cancelled' WHEN o.s < 0.88 THEN 'rejected'
               WHEN o.s < 0.94 THEN 'approved' ELSE 'awaiting_approval' END
        ELSE
          CASE WHEN o.s < 0.15 THEN 'new' WHEN o.s < 0.30 THEN 'assigned' WHEN o.s < 0.45 THEN 'in_progress'
               WHEN o.s < 0.58 THEN 'awaiting_approval' WHEN o.s < 0.66 THEN 'approved' WHEN o.s < 0.70 THEN 'rejected'
               WHEN o.s < 0.76 THEN 'cancelled' ELSE 'delivered' END
        END AS status) st;
  PERFORM setval(pg_get_serial_sequence('public.orders', 'id'), (SELECT max(id) FROM public.orders));

  -- Media: an uploaded image for coffee readings, a voice answer for delivered orders.
  INSERT INTO public.media_assets (owner_id, kind, url, duration_sec, bytes, sha256, meta, created_at)
  SELECT o.user_id, 'image', 'uploads/' || o.user_id || '/order-' || o.id || '.jpg', NULL,
         50000 + floor(samia_dev.rnd(seed, 'imgb', o.id) * 400000)::int, md5('img' || o.id) || md5('img2' || o.id),
         jsonb_build_object('order_id', o.id, 'role', 'input'), o.created_at
    FROM public.orders o JOIN public.services s ON s.id = o.service_id WHERE s.code = 'coffee';
  INSERT INTO public.media_assets (owner_id, kind, url, duration_sec, bytes, sha256, meta, created_at)
  SELECT o.assigned_reader, 'audio', 'readings/' || o.id || '/answer.mp3', 60 + floor(samia_dev.rnd(seed, 'dur', o.id) * 600)::int,
         200000 + floor(samia_dev.rnd(seed, 'audb', o.id) * 2000000)::int, md5('aud' || o.id) || md5('aud2' || o.id),
         jsonb_build_object('order_id', o.id, 'role', 'output'), o.delivered_at
    FROM public.orders o WHERE o.status = 'delivered';
  UPDATE public.orders o SET input_media_id = m.id FROM public.media_assets m
   WHERE m.meta->>'role' = 'input' AND (m.meta->>'order_id')::bigint = o.id;
  UPDATE public.orders o SET output_media_id = m.id FROM public.media_assets m
   WHERE m.meta->>'role' = 'output' AND (m.meta->>'order_id')::bigint = o.id;

  -- Payments: every order past 'new' was paid; one in ten had a failed attempt first; cancelled ones were canceled.
  INSERT INTO public.payment_intents (order_id, provider, provider_intent_id, amount_cents, currency, status,
                                      client_secret, meta, created_at, updated_at)
  SELECT o.id, CASE WHEN samia_dev.rnd(seed, 'prov', o.id) < 0.7 THEN 'stripe' ELSE 'checkout' END,
         'pi_' || substr(md5('pi' || seed || ':' || o.id || ':' || a.attempt), 1, 24),
         round(s.base_price * (CASE WHEN o.is_gold THEN 1.5 ELSE 1 END) * rates[sp.c] * power(10, exps[sp.c]))::bigint,
         currencies[sp.c],
         CASE WHEN a.attempt = 0 THEN 'failed' WHEN o.status = 'cancelled' THEN 'canceled' ELSE 'succeeded' END,
         'pi_secret_' || substr(md5('sec' || o.id || a.attempt), 1, 16),
         jsonb_build_object('attempt', a.attempt),
         o.created_at + make_interval(secs => 60 * a.attempt), o.created_at + make_interval(secs => 60 * a.attempt + 30)
    FROM public.orders o
    JOIN public.services s ON s.id = o.service_id
    JOIN seed_people sp ON sp.id = o.user_id
    CROSS JOIN LATERAL (SELECT unnest(CASE WHEN samia_dev.rnd(seed, 'fail', o.id) < 0.1 THEN ARRAY[0, 1] ELSE ARRAY[1] END) AS attempt) a
   WHERE o.status <> 'new';

  INSERT INTO public.payment_events (provider, event_type, payload, signature_valid, received_at)
  SELECT pi.provider, 'payment_intent.' || pi.status,
         jsonb_build_object('id', pi.provider_intent_id, 'amount', pi.amount_cents, 'currency', lower(pi.currency)),
         samia_dev.rnd(seed, 'sig', pi.id) > 0.002, pi.updated_at
    FROM public.payment_intents pi;

  -- Refunds: about 4% of succeeded payments, half full, half partial.
  INSERT INTO public.refunds (order_id, payment_intent_id, provider_refund_id, amount_cents, currency, reason, status,
                              created_by, created_at)
  SELECT pi.order_id, pi.id, 're_' || substr(md5('re' || seed || ':' || pi.id), 1, 24),
         CASE WHEN samia_dev.rnd(seed, 'rfull', pi.id) < 0.5 THEN pi.amount_cents ELSE greatest(1, pi.amount_cents * 3 / 10) END,
         pi.currency,
         (ARRAY['requested_by_customer', 'duplicate', 'reading_not_delivered'])[1 + floor(samia_dev.rnd(seed, 'rwhy', pi.id) * 3)::int],
         CASE WHEN samia_dev.rnd(seed, 'rst', pi.id) < 0.9 THEN 'succeeded' WHEN samia_dev.rnd(seed, 'rst', pi.id) < 0.95 THEN 'requested' ELSE 'failed' END,
         samia_dev.pid(seed, 3 + floor(samia_dev.rnd(seed, 'radm', pi.id) * 3)::int),
         pi.created_at + make_interval(secs => 86400 * (1 + 10 * samia_dev.rnd(seed, 'rwhen', pi.id)))
    FROM public.payment_intents pi
   WHERE pi.status = 'succeeded' AND samia_dev.rnd(seed, 'refund', pi.id) < 0.04
     AND pi.created_at < as_of - interval '11 days';

  -- Horoscopes: 12 signs daily for 90 days (the last two days partly unapproved), monthly for 4 months, each with audio.
  INSERT INTO public.media_assets (owner_id, kind, url, duration_sec, bytes, sha256, meta, created_at)
  SELECT samia_dev.pid(seed, 9), 'audio', 'horoscopes/' || h.scope || '/' || h.d || '/' || h.sign || '.mp3',
         90 + floor(samia_dev.rnd(seed, 'hdur', h.k) * 120)::int, 300000 + floor(samia_dev.rnd(seed, 'hb', h.k) * 900000)::int,
         md5('h' || h.k) || md5('h2' || h.k), jsonb_build_object('horoscope', h.scope || ':' || h.sign || ':' || h.d),
         h.d::timestamptz - interval '1 day'
    FROM (SELECT 'daily' AS scope, s.sign, (as_of::date - d) AS d, d * 100 + s.k AS k
            FROM generate_series(0, 89) d, unnest(signs) WITH ORDINALITY s(sign, k)
          UNION ALL
          SELECT 'monthly', s.sign, (date_trunc('month', as_of)::date - make_interval(months => m))::date, 100000 + m * 100 + s.k
            FROM generate_series(0, 3) m, unnest(signs) WITH ORDINALITY s(sign, k)) h;
  INSERT INTO public.horoscopes (scope, zodiac, ref_date, audio_media_id, text_content, tiktok_post_url, approved_by, approved_at)
  SELECT split_part(m.meta->>'horoscope', ':', 1), split_part(m.meta->>'horoscope', ':', 2),
         split_part(m.meta->>'horoscope', ':', 3)::date, m.id,
         'نجمك اليوم: فرص جديدة في العمل. Your stars today: new chances at work.',
         CASE WHEN samia_dev.rnd(seed, 'tt', m.id) < 0.3 THEN 'https://www.tiktok.com/@samia/video/' || (7000000000000000000 + m.id) END,
         CASE WHEN split_part(m.meta->>'horoscope', ':', 3)::date < as_of::date - 1 OR samia_dev.rnd(seed, 'hap', m.id) < 0.5
              THEN samia_dev.pid(seed, 6 + (m.id % 3)::int) END,
         CASE WHEN split_part(m.meta->>'horoscope', ':', 3)::date < as_of::date - 1 OR samia_dev.rnd(seed, 'hap', m.id) < 0.5
              THEN split_part(m.meta->>'horoscope', ':', 3)::date - interval '6 hours' END
    FROM public.media_assets m WHERE m.meta ? 'horoscope';

  INSERT INTO public.calls (order_id, started_at, ended_at, end_reason)
  SELECT o.id, o.scheduled_at, o.scheduled_at + make_interval(secs => 60 * (3 + 40 * samia_dev.rnd(seed, 'cdur', o.id))),
         CASE WHEN samia_dev.rnd(seed, 'cend', o.id) < 0.8 THEN 'completed' WHEN samia_dev.rnd(seed, 'cend', o.id) < 0.85 THEN 'dropped_by_monitor'
              WHEN samia_dev.rnd(seed, 'cend', o.id) < 0.9 THEN 'dropped_by_reader' WHEN samia_dev.rnd(seed, 'cend', o.id) < 0.95 THEN 'dropped_by_client'
              WHEN samia_dev.rnd(seed, 'cend', o.id) < 0.98 THEN 'failed' ELSE 'other' END
    FROM public.orders o JOIN public.services s ON s.id = o.service_id
   WHERE s.code = 'direct_call' AND o.status IN ('delivered', 'approved', 'in_progress') AND o.scheduled_at < as_of;

  INSERT INTO public.moderation_actions (actor_id, target_kind, target_id, action, reason, created_at)
  SELECT samia_dev.pid(seed, 6 + (o.id % 3)::int), 'order', o.id::text,
         CASE WHEN o.status = 'rejected' THEN 'reject' ELSE 'approve' END,
         CASE WHEN o.status = 'rejected' THEN 'quality below standard' END, o.created_at + interval '20 hours'
    FROM public.orders o WHERE o.status IN ('approved', 'rejected', 'delivered');
  INSERT INTO public.moderation_actions (actor_id, target_kind, target_id, action, reason, created_at)
  SELECT h.approved_by, 'horoscope', h.id::text, 'approve', NULL, h.approved_at FROM public.horoscopes h WHERE h.approved_at IS NOT NULL;

  INSERT INTO public.blocked_profiles (profile_id, blocked_by, reason, created_at)
  SELECT p.id, samia_dev.pid(seed, 6), 'abusive messages', as_of - make_interval(secs => 86400 * 30 * samia_dev.rnd(seed, 'blk', p.i))
    FROM seed_people p WHERE p.i >= first_client AND samia_dev.rnd(seed, 'block', p.i) < 0.005;
  INSERT INTO public.moderation_actions (actor_id, target_kind, target_id, action, reason, created_at)
  SELECT b.blocked_by, 'profile', b.profile_id::text, 'block', b.reason, b.created_at FROM public.blocked_profiles b;

  INSERT INTO public.phone_verifications (profile_id, phone, status, provider_ref, created_at)
  SELECT p.id, p.phone, CASE WHEN p.phone_verified THEN 'verified' ELSE 'failed' END, 'SM' || substr(md5(p.id::text), 1, 30), p.created_at
    FROM public.profiles p WHERE samia_dev.rnd(seed, 'pvr', hashtext(p.id::text)) < 0.7;

  INSERT INTO public.notif_templates (channel, code, subject, body) VALUES
    ('email', 'order_confirmed', 'Your order is confirmed / تم تأكيد طلبك', 'Order {{order_id}} confirmed. تم تأكيد الطلب {{order_id}}.'),
    ('email', 'reading_delivered', 'Your reading is ready / قراءتك جاهزة', 'Listen in the app. استمع في التطبيق.'),
    ('sms', 'otp', NULL, 'Code: {{code}}'),
    ('whatsapp', 'reading_delivered_wa', NULL, 'قراءتك جاهزة ✨')
  ON CONFLICT (code) DO NOTHING;
  INSERT INTO public.notif_log (user_id, channel, template_code, target, payload, status, provider_ref, error, created_at)
  SELECT o.user_id, 'email', 'order_confirmed', p.email, jsonb_build_object('order_id', o.id),
         CASE WHEN samia_dev.rnd(seed, 'nst', o.id) < 0.96 THEN 'sent' WHEN samia_dev.rnd(seed, 'nst', o.id) < 0.98 THEN 'queued' ELSE 'failed' END,
         'msg_' || substr(md5('n' || o.id), 1, 20), NULL, o.created_at + interval '1 minute'
    FROM public.orders o JOIN public.profiles p ON p.id = o.user_id WHERE o.status <> 'new';
  INSERT INTO public.notif_log (user_id, channel, template_code, target, payload, status, provider_ref, error, created_at)
  SELECT o.user_id, CASE WHEN samia_dev.rnd(seed, 'nch', o.id) < 0.5 THEN 'sms' ELSE 'whatsapp' END, 'reading_delivered_wa', p.phone,
         jsonb_build_object('order_id', o.id),
         CASE WHEN samia_dev.rnd(seed, 'nst2', o.id) < 0.93 THEN 'sent' ELSE 'failed' END,
         'wa_' || substr(md5('w' || o.id), 1, 20),
         CASE WHEN samia_dev.rnd(seed, 'nst2', o.id) >= 0.93 THEN 'provider timeout' END, o.delivered_at
    FROM public.orders o JOIN public.profiles p ON p.id = o.user_id WHERE o.status = 'delivered';
  INSERT INTO public.notif_prefs (user_id, email_enabled, sms_enabled, whatsapp_enabled)
  SELECT p.id, samia_dev.rnd(seed, 'npe', p.i) < 0.95, samia_dev.rnd(seed, 'nps', p.i) < 0.7, samia_dev.rnd(seed, 'npw', p.i) < 0.5
    FROM seed_people p WHERE p.i >= first_client;

  INSERT INTO public.promo_codes (code, percent_off, active, valid_from, valid_to, max_redemptions, redemptions) VALUES
    ('RAMADAN25', 25, false, as_of - interval '300 days', as_of - interval '270 days', 5000, 1203),
    ('WELCOME10', 10, true, as_of - interval '365 days', NULL, NULL, 4521),
    ('GOLD50', 50, true, as_of - interval '30 days', as_of + interval '30 days', 200, 37)
  ON CONFLICT (code) DO NOTHING;

  INSERT INTO public.app_settings (key, value) VALUES
    ('maintenance', 'false'), ('daily_cutoff_tz', '"Asia/Beirut"'), ('support_email', '"support@example.com"')
  ON CONFLICT (key) DO NOTHING;

  INSERT INTO public.api_rate_limits (bucket_key, tokens, window_start, hits, updated_at)
  SELECT 'ip:' || md5('ip' || k) , floor(samia_dev.rnd(seed, 'tok', k) * 60)::int,
         as_of - make_interval(secs => 86400 * 14 * samia_dev.rnd(seed, 'rlw', k)),
         floor(samia_dev.rnd(seed, 'hits', k) * 300)::int,
         as_of - make_interval(secs => 86400 * 14 * samia_dev.rnd(seed, 'rlw', k))
    FROM generate_series(1, 200 * scale) k;

  INSERT INTO public.astro_requests (user_id, order_id, birth_date, birth_time, birth_place, status, created_at)
  SELECT o.user_id, o.id, p.dob, p.birth_time, p.birth_place, CASE WHEN o.status = 'delivered' THEN 'done' ELSE 'new' END, o.created_at
    FROM public.orders o JOIN public.services s ON s.id = o.service_id JOIN public.profiles p ON p.id = o.user_id
   WHERE s.code = 'astro';

  INSERT INTO public.assist_drafts (order_id, author_id, draft_text, created_at)
  SELECT o.id, o.assigned_reader, 'مسودة: البطاقات تشير إلى بداية جديدة. Draft: the cards point to a new beginning.', o.created_at + interval '3 hours'
    FROM public.orders o WHERE o.status IN ('delivered', 'awaiting_approval') AND samia_dev.rnd(seed, 'draft', o.id) < 0.3;

  INSERT INTO public.audit_log (actor, actor_role, event, entity, entity_id, meta, created_at)
  SELECT r.created_by, 'admin', 'refund_created', 'refund', r.id::text, jsonb_build_object('status', r.status), r.created_at
    FROM public.refunds r;
  INSERT INTO public.audit_log (actor, actor_role, event, entity, entity_id, meta, created_at)
  SELECT m.actor_id, 'monitor', 'moderation_' || m.action, m.target_kind, m.target_id, '{}', m.created_at
    FROM public.moderation_actions m;
  INSERT INTO public.audit_log (actor, actor_role, event, entity, entity_id, meta, created_at)
  SELECT p.id, 'client', 'profile_created', 'profile', p.id::text, '{}', p.created_at FROM public.profiles p;

  -- Analytics events: no personal data, actors are salted hashes.
  INSERT INTO public.events_raw (occurred_at, received_at, event, actor_hash, actor_role, service_code, props)
  SELECT e.ts, e.ts + make_interval(secs => 5 * samia_dev.rnd(seed, 'lag', e.k)), e.event,
         encode(sha256(convert_to('demo-salt:' || e.actor, 'UTF8')), 'hex'), e.role, e.service, e.props
    FROM (
      SELECT o.created_at AS ts, 'order_created' AS event, o.user_id::text AS actor, 'client' AS role, s.code AS service,
             '{}'::jsonb AS props, o.id AS k FROM public.orders o JOIN public.services s ON s.id = o.service_id
      UNION ALL
      SELECT o.created_at + interval '2 hours', 'order_assigned', o.assigned_reader::text, 'reader', s.code, '{}', o.id + 10000000
        FROM public.orders o JOIN public.services s ON s.id = o.service_id WHERE o.assigned_reader IS NOT NULL
      UNION ALL
      SELECT o.delivered_at, 'order_delivered', o.assigned_reader::text, 'reader', s.code,
             jsonb_build_object('order_age_s', extract(epoch FROM o.delivered_at - o.created_at)::bigint), o.id + 20000000
        FROM public.orders o JOIN public.services s ON s.id = o.service_id WHERE o.status = 'delivered'
      UNION ALL
      SELECT o.updated_at, 'order_' || o.status, o.user_id::text, 'client', s.code, '{}', o.id + 30000000
        FROM public.orders o JOIN public.services s ON s.id = o.service_id WHERE o.status IN ('rejected', 'cancelled')
      UNION ALL
      SELECT o.created_at + interval '10 hours', 'order_regenerated', o.assigned_reader::text, 'reader', s.code, '{}', o.id + 40000000
        FROM public.orders o JOIN public.services s ON s.id = o.service_id
       WHERE o.assigned_reader IS NOT NULL AND samia_dev.rnd(seed, 'regen', o.id) < 0.05
      UNION ALL
      SELECT pi.created_at, 'payment_' || CASE WHEN pi.status = 'succeeded' THEN 'succeeded' WHEN pi.status = 'failed' THEN 'failed' ELSE 'canceled' END,
             o.user_id::text, 'client', NULL, jsonb_build_object('amount_minor', pi.amount_cents, 'currency', pi.currency,
             'first_attempt', (pi.meta->>'attempt') = CASE WHEN EXISTS (SELECT 1 FROM public.payment_intents x WHERE x.order_id = pi.order_id AND x.id < pi.id) THEN 'x' ELSE pi.meta->>'attempt' END),
             pi.id + 50000000
        FROM public.payment_intents pi JOIN public.orders o ON o.id = pi.order_id
      UNION ALL
      SELECT c.started_at, 'call_started', o.user_id::text, 'client', 'direct_call', '{}', c.id + 60000000
        FROM public.calls c JOIN public.orders o ON o.id = c.order_id
      UNION ALL
      SELECT c.ended_at, 'call_ended', o.user_id::text, 'client', 'direct_call',
             jsonb_build_object('end_reason', c.end_reason, 'duration_s', extract(epoch FROM c.ended_at - c.started_at)::int), c.id + 70000000
        FROM public.calls c JOIN public.orders o ON o.id = c.order_id
      UNION ALL
      SELECT as_of - make_interval(secs => 86400 * 90 * samia_dev.rnd(seed, 'rlt', k)), 'rate_limit_hit', 'ip:' || (k % 97), 'anon', NULL,
             '{}', k + 80000000 FROM generate_series(1, 300 * scale) k
      UNION ALL
      SELECT as_of - make_interval(secs => 86400 * 90 * samia_dev.rnd(seed, 'sqlt', k)), 'sql_latency', NULL, 'system', NULL,
             jsonb_build_object('ms', round((2 + 40 * power(samia_dev.rnd(seed, 'sqlms', k), 3))::numeric, 2)), k + 90000000
        FROM generate_series(1, 2000 * scale) k
    ) e
   ORDER BY e.ts, e.k;  -- appended as they happen, as the platform does: the heap is laid out by time

  -- The platform appends orders, payment attempts, notifications and moderation actions as they
  -- happen, so their heaps are laid out by time; the generator above writes them order by order.
  -- Rewrite them in time order (ids and values unchanged), or every range scan of a day reads
  -- pages from the whole table (docs/performance.md).
  CLUSTER public.orders USING orders_created_idx;
  CLUSTER public.payment_intents USING payment_intents_created_idx;
  CLUSTER public.notif_log USING notif_log_created_idx;
  CLUSTER public.moderation_actions USING moderation_actions_created_idx;

  SELECT jsonb_object_agg(t, n) INTO counts FROM (
    SELECT 'profiles' t, count(*) n FROM public.profiles UNION ALL SELECT 'orders', count(*) FROM public.orders
    UNION ALL SELECT 'payment_intents', count(*) FROM public.payment_intents UNION ALL SELECT 'refunds', count(*) FROM public.refunds
    UNION ALL SELECT 'media_assets', count(*) FROM public.media_assets UNION ALL SELECT 'horoscopes', count(*) FROM public.horoscopes
    UNION ALL SELECT 'calls', count(*) FROM public.calls UNION ALL SELECT 'notif_log', count(*) FROM public.notif_log
    UNION ALL SELECT 'audit_log', count(*) FROM public.audit_log UNION ALL SELECT 'events_raw', count(*) FROM public.events_raw) c;
  RETURN counts;
END
$fn$;
