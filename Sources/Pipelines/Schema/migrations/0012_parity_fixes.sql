-- Two gaps the first RLS-parity report found in this project's own policies (docs/parity.md).
--
-- 1. profiles_own_update read public.profiles inside a policy on public.profiles: every UPDATE
--    of a profile by an API role failed with "infinite recursion detected in policy". The role
--    check now goes through private.role_code(), which is SECURITY DEFINER and reads no policy.
--    Only our own definition (recognised by its text) is replaced; a platform's is left alone.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public' AND tablename = 'profiles'
                AND policyname = 'profiles_own_update' AND with_check LIKE '%FROM profiles p%') THEN
    DROP POLICY profiles_own_update ON public.profiles;
    CREATE POLICY profiles_own_update ON public.profiles FOR UPDATE TO authenticated
      USING (id = (SELECT auth.uid()))
      WITH CHECK (id = (SELECT auth.uid())
                  AND role_id = (SELECT r.id FROM public.roles r WHERE r.code = (SELECT private.role_code())));
  END IF;
END
$$;

-- 2. credit_notes has read policies for the client and for admins, but was created after the
--    blanket grant of 0003, so the API role could not read it at all.
GRANT SELECT ON public.credit_notes TO authenticated;
