-- The row-level policies asked private.has_role() and private.role_code() once per row: a
-- SECURITY DEFINER function is never inlined, so a staff read of 200 orders ran the profile
-- lookup 200 times (27 ms where 1 ms does). Neither depends on the row, so each call is wrapped
-- as a sub-select, `(SELECT private.has_role(...))`, which PostgreSQL runs once per statement
-- (an InitPlan), as Supabase advises for auth.uid(). Found by the parity report's lint
-- `function_call_per_row` (issue 37); the answer of every policy is unchanged.

-- Rewrites the policies of public whose USING or WITH CHECK matches `pattern`, each match
-- replaced by `replacement` (regexp_replace, every match); a policy that no longer matches is
-- left alone, so running it again changes nothing. Returns how many clauses it rewrote.
CREATE OR REPLACE FUNCTION private.samia_rewrite_policies(pattern text, replacement text) RETURNS integer
LANGUAGE plpgsql AS $f$
DECLARE
  p record;
  rewritten integer := 0;
BEGIN
  FOR p IN
    SELECT ns.nspname, c.relname, pol.polname,
           pg_get_expr(pol.polqual, pol.polrelid) AS qual, pg_get_expr(pol.polwithcheck, pol.polrelid) AS chk
      FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid JOIN pg_namespace ns ON ns.oid = c.relnamespace
     WHERE ns.nspname = 'public'
  LOOP
    IF p.qual ~ pattern THEN
      EXECUTE format('ALTER POLICY %I ON %I.%I USING (%s)', p.polname, p.nspname, p.relname,
                     regexp_replace(p.qual, pattern, replacement, 'g'));
      rewritten := rewritten + 1;
    END IF;
    IF p.chk ~ pattern THEN
      EXECUTE format('ALTER POLICY %I ON %I.%I WITH CHECK (%s)', p.polname, p.nspname, p.relname,
                     regexp_replace(p.chk, pattern, replacement, 'g'));
      rewritten := rewritten + 1;
    END IF;
  END LOOP;
  RETURN rewritten;
END $f$;
REVOKE ALL ON FUNCTION private.samia_rewrite_policies(text, text) FROM PUBLIC;

SELECT private.samia_rewrite_policies(
  '(?<!SELECT )(private\.has_role\(VARIADIC ARRAY\[[^]]*\]\)|private\.role_code\(\))', '(SELECT \1)');

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
