-- Three gaps the parity report's synthetic write probes found in this project's own policies
-- (docs/parity.md, "What the write probes found"). Copying an existing row never showed them:
-- each needs a row written with the prober's own id or a changed role.
--
-- Permissive policies are ORed separately for USING and for WITH CHECK: a row an UPDATE reaches
-- through one policy's USING may be written if any other policy's WITH CHECK accepts it. So a
-- WITH CHECK must say who it is for, not only what the row looks like.
--
-- 1. profiles_admin_update's WITH CHECK (`superadmin OR role_id <> superadmin`) did not name the
--    admin: a client reached its own profile through profiles_own_update's USING and passed this
--    WITH CHECK, so it could make itself an admin, a reader or a monitor. An admin could also
--    reach a superadmin's profile and demote it. Now both sides require the staff role, and an
--    admin reaches and writes only profiles that are not superadmin's.
-- 2. orders_own_insert let any signed-in role (reader, monitor, admin) file an order in its own
--    name; only clients order.
--
-- Only our own definitions (recognised by their text) are replaced; a platform's are left alone.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public' AND tablename = 'profiles'
                AND policyname = 'profiles_admin_update'
                AND with_check = '(private.has_role(VARIADIC ARRAY[''superadmin''::text]) OR (role_id <> ( SELECT r.id
   FROM roles r
  WHERE (r.code = ''superadmin''::text))))') THEN
    DROP POLICY profiles_admin_update ON public.profiles;
    CREATE POLICY profiles_admin_update ON public.profiles FOR UPDATE TO authenticated
      USING (private.has_role('superadmin')
             OR (private.has_role('admin') AND role_id <> (SELECT r.id FROM public.roles r WHERE r.code = 'superadmin')))
      WITH CHECK (private.has_role('superadmin')
             OR (private.has_role('admin') AND role_id <> (SELECT r.id FROM public.roles r WHERE r.code = 'superadmin')));
  END IF;
  IF EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public' AND tablename = 'orders'
                AND policyname = 'orders_own_insert'
                AND with_check = '((user_id = ( SELECT auth.uid() AS uid)) AND (status = ''new''::order_status))') THEN
    DROP POLICY orders_own_insert ON public.orders;
    CREATE POLICY orders_own_insert ON public.orders FOR INSERT TO authenticated
      WITH CHECK (user_id = (SELECT auth.uid()) AND status = 'new' AND private.has_role('client'));
  END IF;
END
$$;
