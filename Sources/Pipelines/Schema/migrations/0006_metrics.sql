-- Daily KPI tables (docs/metrics.md defines every column once). Keyed by the business day
-- (a date in the configured time zone) and, where it matters, service, currency or channel.
-- The metrics job replaces whole days, so these tables hold no state of their own; when a day
-- was computed is in the run ledger (batch_runs), so a re-run leaves identical rows.

CREATE TABLE IF NOT EXISTS public.metrics_daily_orders (
  day date NOT NULL,
  service_code text NOT NULL,
  orders_created integer NOT NULL,
  orders_assigned integer NOT NULL,
  orders_delivered integer NOT NULL,
  orders_rejected integer NOT NULL,
  orders_cancelled integer NOT NULL,
  regenerations integer NOT NULL,
  delivery_p50_s double precision,
  delivery_p95_s double precision,
  PRIMARY KEY (day, service_code)
);

CREATE TABLE IF NOT EXISTS public.metrics_daily_payments (
  day date PRIMARY KEY,
  payments_attempted integer NOT NULL,
  payments_succeeded integer NOT NULL,
  payments_failed integer NOT NULL,
  first_attempts integer NOT NULL,
  first_attempts_succeeded integer NOT NULL,
  first_pass_success_rate double precision,
  refunds_succeeded integer NOT NULL,
  refund_rate double precision
);

CREATE TABLE IF NOT EXISTS public.metrics_daily_revenue (
  day date NOT NULL,
  currency char(3) NOT NULL,
  payments_succeeded integer NOT NULL,
  gross_minor bigint NOT NULL,
  refunds_succeeded integer NOT NULL,
  refunded_minor bigint NOT NULL,
  PRIMARY KEY (day, currency)
);

CREATE TABLE IF NOT EXISTS public.metrics_daily_calls (
  day date PRIMARY KEY,
  calls_started integer NOT NULL,
  calls_ended integer NOT NULL,
  ended_completed integer NOT NULL,
  dropped_by_monitor integer NOT NULL,
  dropped_by_reader integer NOT NULL,
  dropped_by_client integer NOT NULL,
  ended_failed integer NOT NULL,
  ended_other integer NOT NULL,
  duration_avg_s double precision,
  duration_p95_s double precision
);

CREATE TABLE IF NOT EXISTS public.metrics_daily_content (
  day date PRIMARY KEY,
  approvals integer NOT NULL,
  rejections integer NOT NULL,
  approval_latency_avg_s double precision,
  approval_latency_p95_s double precision
);

CREATE TABLE IF NOT EXISTS public.metrics_daily_notifications (
  day date NOT NULL,
  channel text NOT NULL,
  queued integer NOT NULL,
  sent integer NOT NULL,
  failed integer NOT NULL,
  PRIMARY KEY (day, channel)
);

CREATE TABLE IF NOT EXISTS public.metrics_daily_platform (
  day date PRIMARY KEY,
  rate_limit_hits integer NOT NULL,
  sql_latency_samples integer NOT NULL,
  avg_sql_latency_ms double precision,
  daily_active_clients integer NOT NULL
);

-- Day windows filter the sources by timestamp ranges; these make them index range scans.
CREATE INDEX IF NOT EXISTS payment_intents_created_idx ON public.payment_intents (created_at);
CREATE INDEX IF NOT EXISTS refunds_created_idx ON public.refunds (created_at);
CREATE INDEX IF NOT EXISTS notif_log_created_idx ON public.notif_log (created_at);
CREATE INDEX IF NOT EXISTS moderation_actions_created_idx ON public.moderation_actions (created_at);

-- KPI tables hold aggregates only (no personal data); staff dashboards read them.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['metrics_daily_orders', 'metrics_daily_payments', 'metrics_daily_revenue',
      'metrics_daily_calls', 'metrics_daily_content', 'metrics_daily_notifications', 'metrics_daily_platform'] LOOP
    EXECUTE format('ALTER TABLE public.%I ENABLE ROW LEVEL SECURITY', t);
    IF NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = format('public.%I', t)::regclass) THEN
      EXECUTE format('CREATE POLICY %I ON public.%I FOR SELECT TO authenticated USING (private.has_role(%L, %L, %L))',
                     t || '_staff_read', t, 'monitor', 'admin', 'superadmin');
    END IF;
    EXECUTE format('GRANT SELECT ON public.%I TO authenticated', t);
    EXECUTE format('GRANT ALL ON public.%I TO service_role', t);
  END LOOP;
END
$$;
