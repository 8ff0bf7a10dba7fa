-- Row-level security implementing the access intent of PLATFORM.md: deny by default.
--
-- Policies are created on a table only when it has none: where the platform already defines
-- its own (production), adding ours could widen access, since permissive policies are ORed.

CREATE SCHEMA IF NOT EXISTS private;
REVOKE ALL ON SCHEMA private FROM PUBLIC;
GRANT USAGE ON SCHEMA private TO anon, authenticated, service_role;

-- The caller's role code. SECURITY DEFINER with an empty search_path so policies on profiles
-- can ask it without recursing into their own RLS, and nobody can shadow what it calls.
CREATE OR REPLACE FUNCTION private.role_code() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = '' AS $$
  SELECT r.code FROM public.profiles p JOIN public.roles r ON r.id = p.role_id WHERE p.id = auth.uid()
$$;
CREATE OR REPLACE FUNCTION private.has_role(VARIADIC codes text[]) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = '' AS $$
  SELECT coalesce(private.role_code() = ANY (codes), false)
$$;
-- True when the caller is the reader assigned to the order.
CREATE OR REPLACE FUNCTION private.is_assigned_reader(order_id bigint) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = '' AS $$
  SELECT EXISTS (SELECT 1 FROM public.orders o WHERE o.id = order_id AND o.assigned_reader = auth.uid())
$$;
-- True when the order belongs to the caller.
CREATE OR REPLACE FUNCTION private.owns_order(order_id bigint) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = '' AS $$
  SELECT EXISTS (SELECT 1 FROM public.orders o WHERE o.id = order_id AND o.user_id = auth.uid())
$$;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA private FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA private TO anon, authenticated, service_role;

CREATE OR REPLACE FUNCTION pg_temp.samia_policies(tbl text, statements text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE s text;
BEGIN
  EXECUTE format('ALTER TABLE public.%I ENABLE ROW LEVEL SECURITY', tbl);
  IF EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public' AND tablename = tbl) THEN
    RETURN;
  END IF;
  FOREACH s IN ARRAY statements LOOP
    EXECUTE replace(s, '%T', format('public.%I', tbl));
  END LOOP;
END
$$;

-- Every platform table has RLS on; a table with no policy below is reachable only by service_role.
SELECT pg_temp.samia_policies(t, ARRAY[]::text[]) FROM unnest(ARRAY[
  'phone_verifications', 'promo_codes', 'payment_events', 'notif_templates', 'app_settings', 'api_rate_limits']) AS t;

SELECT pg_temp.samia_policies('roles', ARRAY[
  $p$CREATE POLICY roles_read ON %T FOR SELECT TO authenticated USING (true)$p$]);

SELECT pg_temp.samia_policies('services', ARRAY[
  $p$CREATE POLICY services_read ON %T FOR SELECT TO anon, authenticated USING (is_active OR private.has_role('admin', 'superadmin'))$p$,
  $p$CREATE POLICY services_admin ON %T FOR ALL TO authenticated
       USING (private.has_role('admin', 'superadmin')) WITH CHECK (private.has_role('admin', 'superadmin'))$p$]);

SELECT pg_temp.samia_policies('profiles', ARRAY[
  $p$CREATE POLICY profiles_own_read ON %T FOR SELECT TO authenticated USING (id = (SELECT auth.uid()))$p$,
  $p$CREATE POLICY profiles_staff_read ON %T FOR SELECT TO authenticated USING (private.has_role('monitor', 'admin', 'superadmin'))$p$,
  $p$CREATE POLICY profiles_own_insert ON %T FOR INSERT TO authenticated
       WITH CHECK (id = (SELECT auth.uid()) AND role_id = (SELECT r.id FROM public.roles r WHERE r.code = 'client'))$p$,
  $p$CREATE POLICY profiles_own_update ON %T FOR UPDATE TO authenticated
       USING (id = (SELECT auth.uid())) WITH CHECK (id = (SELECT auth.uid()) AND role_id = (SELECT p.role_id FROM public.profiles p WHERE p.id = (SELECT auth.uid())))$p$,
  $p$CREATE POLICY profiles_admin_update ON %T FOR UPDATE TO authenticated
       USING (private.has_role('admin', 'superadmin'))
       WITH CHECK (private.has_role('superadmin') OR role_id <> (SELECT r.id FROM public.roles r WHERE r.code = 'superadmin'))$p$,
  $p$CREATE POLICY profiles_admin_insert ON %T FOR INSERT TO authenticated
       WITH CHECK (private.has_role('superadmin') OR (private.has_role('admin') AND role_id <> (SELECT r.id FROM public.roles r WHERE r.code = 'superadmin')))$p$,
  $p$CREATE POLICY profiles_superadmin_delete ON %T FOR DELETE TO authenticated USING (private.has_role('superadmin'))$p$]);

SELECT pg_temp.samia_policies('orders', ARRAY[
  $p$CREATE POLICY orders_own_read ON %T FOR SELECT TO authenticated USING (user_id = (SELECT auth.uid()))$p$,
  $p$CREATE POLICY orders_own_insert ON %T FOR INSERT TO authenticated WITH CHECK (user_id = (SELECT auth.uid()) AND status = 'new')$p$,
  $p$CREATE POLICY orders_reader_read ON %T FOR SELECT TO authenticated USING (assigned_reader = (SELECT auth.uid()))$p$,
  $p$CREATE POLICY orders_reader_update ON %T FOR UPDATE TO authenticated
       USING (assigned_reader = (SELECT auth.uid())) WITH CHECK (assigned_reader = (SELECT auth.uid()))$p$,
  $p$CREATE POLICY orders_staff_read ON %T FOR SELECT TO authenticated USING (private.has_role('monitor', 'admin', 'superadmin'))$p$,
  $p$CREATE POLICY orders_staff_update ON %T FOR UPDATE TO authenticated
       USING (private.has_role('monitor', 'admin', 'superadmin')) WITH CHECK (private.has_role('monitor', 'admin', 'superadmin'))$p$,
  $p$CREATE POLICY orders_superadmin_delete ON %T FOR DELETE TO authenticated USING (private.has_role('superadmin'))$p$]);

SELECT pg_temp.samia_policies('media_assets', ARRAY[
  $p$CREATE POLICY media_own_read ON %T FOR SELECT TO authenticated USING (owner_id = (SELECT auth.uid()))$p$,
  $p$CREATE POLICY media_own_insert ON %T FOR INSERT TO authenticated WITH CHECK (owner_id = (SELECT auth.uid()))$p$,
  $p$CREATE POLICY media_reader_read ON %T FOR SELECT TO authenticated USING (EXISTS (
       SELECT 1 FROM public.orders o WHERE (o.input_media_id = media_assets.id OR o.output_media_id = media_assets.id)
          AND o.assigned_reader = (SELECT auth.uid())))$p$,
  $p$CREATE POLICY media_staff_read ON %T FOR SELECT TO authenticated USING (private.has_role('monitor', 'admin', 'superadmin'))$p$,
  $p$CREATE POLICY media_admin_write ON %T FOR UPDATE TO authenticated
       USING (private.has_role('admin', 'superadmin')) WITH CHECK (private.has_role('admin', 'superadmin'))$p$,
  $p$CREATE POLICY media_superadmin_delete ON %T FOR DELETE TO authenticated USING (private.has_role('superadmin'))$p$]);

SELECT pg_temp.samia_policies('horoscopes', ARRAY[
  $p$CREATE POLICY horoscopes_public_today ON %T FOR SELECT TO anon, authenticated
       USING (scope = 'daily' AND ref_date = current_date AND approved_at IS NOT NULL)$p$,
  $p$CREATE POLICY horoscopes_staff_recent ON %T FOR SELECT TO authenticated
       USING (private.has_role('reader', 'monitor') AND ref_date >= current_date - 60)$p$,
  $p$CREATE POLICY horoscopes_monitor_approve ON %T FOR UPDATE TO authenticated
       USING (private.has_role('monitor') AND ref_date >= current_date - 60) WITH CHECK (private.has_role('monitor'))$p$,
  $p$CREATE POLICY horoscopes_admin ON %T FOR ALL TO authenticated
       USING (private.has_role('admin', 'superadmin')) WITH CHECK (private.has_role('admin', 'superadmin'))$p$]);

SELECT pg_temp.samia_policies('calls', ARRAY[
  $p$CREATE POLICY calls_own_read ON %T FOR SELECT TO authenticated USING (private.owns_order(order_id))$p$,
  $p$CREATE POLICY calls_reader_read ON %T FOR SELECT TO authenticated USING (private.is_assigned_reader(order_id))$p$,
  $p$CREATE POLICY calls_staff_read ON %T FOR SELECT TO authenticated USING (private.has_role('monitor', 'admin', 'superadmin'))$p$,
  $p$CREATE POLICY calls_monitor_drop ON %T FOR UPDATE TO authenticated
       USING (private.has_role('monitor', 'admin', 'superadmin')) WITH CHECK (private.has_role('monitor', 'admin', 'superadmin'))$p$]);

SELECT pg_temp.samia_policies('moderation_actions', ARRAY[
  $p$CREATE POLICY moderation_staff_read ON %T FOR SELECT TO authenticated USING (private.has_role('monitor', 'admin', 'superadmin'))$p$,
  $p$CREATE POLICY moderation_staff_insert ON %T FOR INSERT TO authenticated
       WITH CHECK (private.has_role('monitor', 'admin', 'superadmin') AND actor_id = (SELECT auth.uid()))$p$]);

SELECT pg_temp.samia_policies('audit_log', ARRAY[
  $p$CREATE POLICY audit_admin_read ON %T FOR SELECT TO authenticated USING (private.has_role('admin', 'superadmin'))$p$]);

SELECT pg_temp.samia_policies('payment_intents', ARRAY[
  $p$CREATE POLICY payment_intents_own_read ON %T FOR SELECT TO authenticated USING (private.owns_order(order_id))$p$,
  $p$CREATE POLICY payment_intents_admin_read ON %T FOR SELECT TO authenticated USING (private.has_role('admin', 'superadmin'))$p$]);

SELECT pg_temp.samia_policies('invoices', ARRAY[
  $p$CREATE POLICY invoices_own_read ON %T FOR SELECT TO authenticated USING (private.owns_order(order_id))$p$,
  $p$CREATE POLICY invoices_admin_read ON %T FOR SELECT TO authenticated USING (private.has_role('admin', 'superadmin'))$p$]);

SELECT pg_temp.samia_policies('refunds', ARRAY[
  $p$CREATE POLICY refunds_own_read ON %T FOR SELECT TO authenticated USING (private.owns_order(order_id))$p$,
  $p$CREATE POLICY refunds_admin_read ON %T FOR SELECT TO authenticated USING (private.has_role('admin', 'superadmin'))$p$,
  $p$CREATE POLICY refunds_admin_insert ON %T FOR INSERT TO authenticated
       WITH CHECK (private.has_role('admin', 'superadmin') AND created_by = (SELECT auth.uid()))$p$]);

SELECT pg_temp.samia_policies('notif_log', ARRAY[
  $p$CREATE POLICY notif_log_own_read ON %T FOR SELECT TO authenticated USING (user_id = (SELECT auth.uid()))$p$,
  $p$CREATE POLICY notif_log_admin_read ON %T FOR SELECT TO authenticated USING (private.has_role('admin', 'superadmin'))$p$]);

SELECT pg_temp.samia_policies('notif_prefs', ARRAY[
  $p$CREATE POLICY notif_prefs_own ON %T FOR ALL TO authenticated
       USING (user_id = (SELECT auth.uid())) WITH CHECK (user_id = (SELECT auth.uid()))$p$]);

SELECT pg_temp.samia_policies('blocked_profiles', ARRAY[
  $p$CREATE POLICY blocked_staff_read ON %T FOR SELECT TO authenticated USING (private.has_role('monitor', 'admin', 'superadmin'))$p$,
  $p$CREATE POLICY blocked_monitor_block ON %T FOR INSERT TO authenticated WITH CHECK (private.has_role('monitor', 'admin', 'superadmin'))$p$,
  $p$CREATE POLICY blocked_admin_unblock ON %T FOR DELETE TO authenticated USING (private.has_role('admin', 'superadmin'))$p$]);

SELECT pg_temp.samia_policies('astro_requests', ARRAY[
  $p$CREATE POLICY astro_own ON %T FOR SELECT TO authenticated USING (user_id = (SELECT auth.uid()))$p$,
  $p$CREATE POLICY astro_own_insert ON %T FOR INSERT TO authenticated WITH CHECK (user_id = (SELECT auth.uid()))$p$,
  $p$CREATE POLICY astro_staff_read ON %T FOR SELECT TO authenticated USING (private.has_role('reader', 'monitor', 'admin', 'superadmin'))$p$]);

SELECT pg_temp.samia_policies('assist_drafts', ARRAY[
  $p$CREATE POLICY drafts_reader ON %T FOR ALL TO authenticated
       USING (private.is_assigned_reader(order_id)) WITH CHECK (private.is_assigned_reader(order_id))$p$,
  $p$CREATE POLICY drafts_staff_read ON %T FOR SELECT TO authenticated USING (private.has_role('monitor', 'admin', 'superadmin'))$p$]);

SELECT pg_temp.samia_policies('events_raw', ARRAY[
  $p$CREATE POLICY events_admin_read ON %T FOR SELECT TO authenticated USING (private.has_role('admin', 'superadmin'))$p$]);

-- Grants: the API roles get table privileges, RLS decides rows. anon reads only what a policy lets it.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO authenticated;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO authenticated;
GRANT SELECT ON public.horoscopes, public.services TO anon;
GRANT ALL ON ALL TABLES IN SCHEMA public TO service_role;
GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO service_role;
