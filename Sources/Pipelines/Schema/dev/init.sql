-- Marks a database as a samia-batch development database. `dev seed` refuses any database
-- without this marker, so demo rows can never be written into a real one.
CREATE SCHEMA IF NOT EXISTS samia_dev;
CREATE TABLE IF NOT EXISTS samia_dev.marker (
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by text NOT NULL
);

-- A deterministic pseudo-random number in [0, 1) for (seed, salt, i): independent of row order,
-- parallel plans and sessions, so the same seed always gives the same data.
CREATE OR REPLACE FUNCTION samia_dev.rnd(seed bigint, salt text, i bigint) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ((hashtextextended(salt || ':' || i::text, seed) >> 11) & 4503599627370495)::double precision / 4503599627370496.0
$$;

-- The profile id of person number i.
CREATE OR REPLACE FUNCTION samia_dev.pid(seed bigint, i bigint) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT md5('profile:' || seed::text || ':' || i::text)::uuid
$$;
