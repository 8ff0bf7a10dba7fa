-- The platform schema of PLATFORM.md, created where absent and left as it is where it exists.
CREATE EXTENSION IF NOT EXISTS pgcrypto;

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'order_status' AND typnamespace = 'public'::regnamespace) THEN
    CREATE TYPE public.order_status AS ENUM
      ('new', 'assigned', 'in_progress', 'awaiting_approval', 'approved', 'rejected', 'delivered', 'cancelled');
  END IF;
END
$$;

CREATE TABLE IF NOT EXISTS public.roles (
  id smallserial PRIMARY KEY,
  code text NOT NULL UNIQUE CHECK (code IN ('superadmin', 'admin', 'reader', 'monitor', 'client')),
  label text
);
INSERT INTO public.roles (code, label) VALUES
  ('superadmin', 'Super admin'), ('admin', 'Admin'), ('reader', 'Reader'), ('monitor', 'Monitor'), ('client', 'Client')
ON CONFLICT (code) DO NOTHING;

CREATE OR REPLACE FUNCTION public.zodiac_for(d date) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = '' AS $$
  SELECT CASE
    WHEN d IS NULL THEN NULL
    WHEN (extract(month FROM d) = 3 AND extract(day FROM d) >= 21) OR (extract(month FROM d) = 4 AND extract(day FROM d) <= 19) THEN 'aries'
    WHEN (extract(month FROM d) = 4 AND extract(day FROM d) >= 20) OR (extract(month FROM d) = 5 AND extract(day FROM d) <= 20) THEN 'taurus'
    WHEN (extract(month FROM d) = 5 AND extract(day FROM d) >= 21) OR (extract(month FROM d) = 6 AND extract(day FROM d) <= 20) THEN 'gemini'
    WHEN (extract(month FROM d) = 6 AND extract(day FROM d) >= 21) OR (extract(month FROM d) = 7 AND extract(day FROM d) <= 22) THEN 'cancer'
    WHEN (extract(month FROM d) = 7 AND extract(day FROM d) >= 23) OR (extract(month FROM d) = 8 AND extract(day FROM d) <= 22) THEN 'leo'
    WHEN (extract(month FROM d) = 8 AND extract(day FROM d) >= 23) OR (extract(month FROM d) = 9 AND extract(day FROM d) <= 22) THEN 'virgo'
    WHEN (extract(month FROM d) = 9 AND extract(day FROM d) >= 23) OR (extract(month FROM d) = 10 AND extract(day FROM d) <= 22) THEN 'libra'
    WHEN (extract(month FROM d) = 10 AND extract(day FROM d) >= 23) OR (extract(month FROM d) = 11 AND extract(day FROM d) <= 21) THEN 'scorpio'
    WHEN (extract(month FROM d) = 11 AND extract(day FROM d) >= 22) OR (extract(month FROM d) = 12 AND extract(day FROM d) <= 21) THEN 'sagittarius'
    WHEN (extract(month FROM d) = 12 AND extract(day FROM d) >= 22) OR (extract(month FROM d) = 1 AND extract(day FROM d) <= 19) THEN 'capricorn'
    WHEN (extract(month FROM d) = 1 AND extract(day FROM d) >= 20) OR (extract(month FROM d) = 2 AND extract(day FROM d) <= 18) THEN 'aquarius'
    ELSE 'pisces'
  END
$$;

CREATE TABLE IF NOT EXISTS public.profiles (
  id uuid PRIMARY KEY,
  email text UNIQUE,
  phone text,
  first_name text,
  last_name text,
  dob date,
  zodiac text,
  country text,
  country_code text,
  birth_place text,
  birth_time time,
  role_id smallint NOT NULL REFERENCES public.roles(id)
    DEFAULT 5,
  email_verified boolean NOT NULL DEFAULT false,
  phone_verified boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION public.profiles_set_zodiac() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  NEW.zodiac := public.zodiac_for(NEW.dob);
  RETURN NEW;
END
$$;
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'profiles_zodiac' AND tgrelid = 'public.profiles'::regclass) THEN
    CREATE TRIGGER profiles_zodiac BEFORE INSERT OR UPDATE OF dob ON public.profiles
      FOR EACH ROW EXECUTE FUNCTION public.profiles_set_zodiac();
  END IF;
END
$$;

CREATE TABLE IF NOT EXISTS public.services (
  id bigserial PRIMARY KEY,
  code text NOT NULL UNIQUE CHECK (code IN ('tarot', 'coffee', 'astro', 'healing', 'direct_call')),
  name text NOT NULL,
  is_premium boolean NOT NULL DEFAULT false,
  is_active boolean NOT NULL DEFAULT true,
  base_price numeric(12, 2) NOT NULL DEFAULT 0,
  meta jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE IF NOT EXISTS public.media_assets (
  id bigserial PRIMARY KEY,
  owner_id uuid REFERENCES public.profiles(id),
  kind text NOT NULL CHECK (kind IN ('audio', 'image', 'pdf', 'other')),
  url text NOT NULL,
  duration_sec integer,
  bytes bigint,
  sha256 text,
  meta jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS media_assets_owner_idx ON public.media_assets (owner_id);

CREATE TABLE IF NOT EXISTS public.orders (
  id bigserial PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES public.profiles(id),
  service_id bigint NOT NULL REFERENCES public.services(id),
  is_gold boolean NOT NULL DEFAULT false,
  status public.order_status NOT NULL DEFAULT 'new',
  question_text text,
  input_media_id bigint REFERENCES public.media_assets(id),
  output_media_id bigint REFERENCES public.media_assets(id),
  assigned_reader uuid REFERENCES public.profiles(id),
  scheduled_at timestamptz,
  delivered_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS orders_user_idx ON public.orders (user_id);
CREATE INDEX IF NOT EXISTS orders_reader_idx ON public.orders (assigned_reader);
CREATE INDEX IF NOT EXISTS orders_created_idx ON public.orders (created_at);

CREATE TABLE IF NOT EXISTS public.horoscopes (
  id bigserial PRIMARY KEY,
  scope text NOT NULL CHECK (scope IN ('daily', 'monthly')),
  zodiac text NOT NULL,
  ref_date date NOT NULL,
  audio_media_id bigint REFERENCES public.media_assets(id),
  text_content text,
  tiktok_post_url text,
  approved_by uuid REFERENCES public.profiles(id),
  approved_at timestamptz,
  UNIQUE (scope, zodiac, ref_date)
);

CREATE TABLE IF NOT EXISTS public.calls (
  id bigserial PRIMARY KEY,
  order_id bigint NOT NULL UNIQUE REFERENCES public.orders(id),
  started_at timestamptz,
  ended_at timestamptz,
  end_reason text CHECK (end_reason IN
    ('completed', 'dropped_by_monitor', 'dropped_by_reader', 'dropped_by_client', 'failed', 'other'))
);

CREATE TABLE IF NOT EXISTS public.moderation_actions (
  id bigserial PRIMARY KEY,
  actor_id uuid REFERENCES public.profiles(id),
  target_kind text NOT NULL CHECK (target_kind IN ('order', 'profile', 'media', 'horoscope', 'call')),
  target_id text NOT NULL,
  action text NOT NULL CHECK (action IN ('approve', 'reject', 'block', 'unblock', 'drop_call')),
  reason text,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS public.phone_verifications (
  id bigserial PRIMARY KEY,
  profile_id uuid REFERENCES public.profiles(id),
  phone text NOT NULL,
  status text NOT NULL CHECK (status IN ('sent', 'verified', 'failed')),
  provider_ref text,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS public.audit_log (
  id bigserial PRIMARY KEY,
  actor uuid,
  actor_role text,
  event text NOT NULL,
  entity text,
  entity_id text,
  meta jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS audit_log_created_idx ON public.audit_log (created_at);

CREATE TABLE IF NOT EXISTS public.payment_intents (
  id bigserial PRIMARY KEY,
  order_id bigint NOT NULL REFERENCES public.orders(id),
  provider text NOT NULL,
  provider_intent_id text NOT NULL UNIQUE,
  amount_cents bigint NOT NULL CHECK (amount_cents >= 0),
  currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  status text NOT NULL CHECK (status IN ('created', 'requires_action', 'processing', 'succeeded', 'failed', 'canceled')),
  client_secret text,
  meta jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS payment_intents_order_idx ON public.payment_intents (order_id);

CREATE TABLE IF NOT EXISTS public.invoices (
  id bigserial PRIMARY KEY,
  order_id bigint NOT NULL REFERENCES public.orders(id),
  payment_intent_id bigint REFERENCES public.payment_intents(id),
  number text NOT NULL UNIQUE,
  subtotal_cents bigint NOT NULL,
  vat_cents bigint NOT NULL,
  total_cents bigint NOT NULL,
  currency char(3) NOT NULL,
  pdf_media_id bigint REFERENCES public.media_assets(id),
  billing_name text,
  billing_email text,
  billing_country text,
  meta jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS invoices_order_idx ON public.invoices (order_id);

CREATE TABLE IF NOT EXISTS public.refunds (
  id bigserial PRIMARY KEY,
  order_id bigint NOT NULL REFERENCES public.orders(id),
  payment_intent_id bigint REFERENCES public.payment_intents(id),
  provider_refund_id text NOT NULL UNIQUE,
  amount_cents bigint NOT NULL CHECK (amount_cents > 0),
  currency char(3) NOT NULL,
  reason text,
  status text NOT NULL CHECK (status IN ('requested', 'processing', 'succeeded', 'failed')),
  created_by uuid REFERENCES public.profiles(id),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS public.promo_codes (
  id bigserial PRIMARY KEY,
  code text NOT NULL UNIQUE,
  percent_off integer NOT NULL CHECK (percent_off BETWEEN 1 AND 100),
  active boolean NOT NULL DEFAULT true,
  valid_from timestamptz,
  valid_to timestamptz,
  max_redemptions integer,
  redemptions integer NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS public.payment_events (
  id bigserial PRIMARY KEY,
  provider text NOT NULL,
  event_type text NOT NULL,
  payload jsonb NOT NULL,
  signature_valid boolean NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS public.notif_templates (
  id bigserial PRIMARY KEY,
  channel text NOT NULL CHECK (channel IN ('email', 'sms', 'whatsapp')),
  code text NOT NULL UNIQUE,
  subject text,
  body text NOT NULL
);

CREATE TABLE IF NOT EXISTS public.notif_log (
  id bigserial PRIMARY KEY,
  user_id uuid REFERENCES public.profiles(id),
  channel text NOT NULL CHECK (channel IN ('email', 'sms', 'whatsapp')),
  template_code text,
  target text,
  payload jsonb NOT NULL DEFAULT '{}',
  status text NOT NULL CHECK (status IN ('queued', 'sent', 'failed')),
  provider_ref text,
  error text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS notif_log_user_idx ON public.notif_log (user_id);

CREATE TABLE IF NOT EXISTS public.notif_prefs (
  user_id uuid PRIMARY KEY REFERENCES public.profiles(id),
  email_enabled boolean NOT NULL DEFAULT true,
  sms_enabled boolean NOT NULL DEFAULT true,
  whatsapp_enabled boolean NOT NULL DEFAULT false
);

-- Tables the platform names without columns, designed minimally.
CREATE TABLE IF NOT EXISTS public.app_settings (
  key text PRIMARY KEY,
  value jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS public.api_rate_limits (
  id bigserial PRIMARY KEY,
  bucket_key text NOT NULL,
  tokens integer NOT NULL,
  window_start timestamptz NOT NULL,
  hits integer NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS api_rate_limits_updated_idx ON public.api_rate_limits (updated_at);

CREATE TABLE IF NOT EXISTS public.blocked_profiles (
  profile_id uuid PRIMARY KEY REFERENCES public.profiles(id),
  blocked_by uuid REFERENCES public.profiles(id),
  reason text,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS public.astro_requests (
  id bigserial PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES public.profiles(id),
  order_id bigint REFERENCES public.orders(id),
  birth_date date,
  birth_time time,
  birth_place text,
  status text NOT NULL DEFAULT 'new',
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS public.assist_drafts (
  id bigserial PRIMARY KEY,
  order_id bigint NOT NULL REFERENCES public.orders(id),
  author_id uuid REFERENCES public.profiles(id),
  draft_text text,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Analytics events: no personal data; actors are salted hashes.
CREATE TABLE IF NOT EXISTS public.events_raw (
  id bigserial PRIMARY KEY,
  occurred_at timestamptz NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  event text NOT NULL,
  actor_hash text,
  actor_role text,
  service_code text,
  props jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS events_raw_occurred_idx ON public.events_raw (occurred_at);
