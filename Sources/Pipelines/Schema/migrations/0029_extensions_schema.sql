-- pgcrypto was created in public (0002), so PostgREST exposed its functions as RPC to every
-- role, anon included: crypt, gen_salt, pgp_sym_decrypt, gen_random_bytes and thirty more, found
-- by the parity report's function rows (issue 37). Nothing here calls them (sha256 and
-- gen_random_uuid are PostgreSQL's own). Supabase keeps extensions in a schema of their own that
-- the API does not expose; this moves pgcrypto there where it is still in public, and changes
-- nothing where it already lives elsewhere (production).
CREATE SCHEMA IF NOT EXISTS extensions;
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
              WHERE e.extname = 'pgcrypto' AND n.nspname = 'public') THEN
    ALTER EXTENSION pgcrypto SET SCHEMA extensions;
  END IF;
END
$$;
