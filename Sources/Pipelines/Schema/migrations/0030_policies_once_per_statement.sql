-- The row-level policies asked private.has_role() and private.role_code() once per row: a
-- SECURITY DEFINER function is never inlined, so a staff read of 200 orders ran the profile
-- lookup 200 times (27 ms where 1 ms does). Neither depends on the row, so each call is wrapped
-- as a sub-select, `(SELECT private.has_role(...))`, which PostgreSQL runs once per statement
-- (an InitPlan), as Supabase advises for auth.uid(). Found by the parity report's lint
-- `function_call_per_row` (issue 37); the answer of every policy is unchanged.
DO $$
DECLARE
  p record;
  rewrite text := '(?<!SELECT )(private\.has_role\(VARIADIC ARRAY\[[^]]*\]\)|private\.role_code\(\))';
  q text;
  c text;
BEGIN
  FOR p IN
    SELECT n.nspname, c.relname, pol.polname,
           pg_get_expr(pol.polqual, pol.polrelid) AS qual, pg_get_expr(pol.polwithcheck, pol.polrelid) AS chk
      FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public'
       AND coalesce(pg_get_expr(pol.polqual, pol.polrelid), '') || coalesce(pg_get_expr(pol.polwithcheck, pol.polrelid), '')
           ~ rewrite
  LOOP
    q := regexp_replace(p.qual, rewrite, '(SELECT \1)', 'g');
    c := regexp_replace(p.chk, rewrite, '(SELECT \1)', 'g');
    IF q IS NOT NULL THEN
      EXECUTE format('ALTER POLICY %I ON %I.%I USING (%s)', p.polname, p.nspname, p.relname, q);
    END IF;
    IF c IS NOT NULL THEN
      EXECUTE format('ALTER POLICY %I ON %I.%I WITH CHECK (%s)', p.polname, p.nspname, p.relname, c);
    END IF;
  END LOOP;
END
$$;

-- KPI tables made by later migrations get the once-per-statement form from the start.
CREATE OR REPLACE FUNCTION private.samia_kpi_table(t text) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
  EXECUTE format('ALTER TABLE public.%I ENABLE ROW LEVEL SECURITY', t);
  IF NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = format('public.%I', t)::regclass) THEN
    EXECUTE format('CREATE POLICY %I ON public.%I FOR SELECT TO authenticated USING ((SELECT private.has_role(%L, %L, %L)))',
                   t || '_staff_read', t, 'monitor', 'admin', 'superadmin');
  END IF;
  EXECUTE format('GRANT SELECT ON public.%I TO authenticated', t);
  EXECUTE format('GRANT ALL ON public.%I TO service_role', t);
END $f$;
REVOKE ALL ON FUNCTION private.samia_kpi_table(text) FROM PUBLIC;
