-- Issue 36, point 1: a key seen in a JSON column's data but not declared in the data map stops
-- every privacy job. The keys are read as key paths (`data.object.billing_details.name`; array
-- elements share their array's path) so that what sits under a key declared personal needs no
-- declaration of its own.
--
-- private.samia_json_paths_sql(source, column) is the one query that reads them from any row
-- source: a table, or a trigger's transition table. Flat documents (the common case) are read by
-- jsonb_object_keys alone; nested ones are walked by one recursive query for the whole source,
-- ten times faster than a recursive function called per row.
CREATE OR REPLACE FUNCTION private.samia_json_paths_sql(source text, col text) RETURNS text
LANGUAGE sql IMMUTABLE AS $f$
  SELECT format($q$
    SELECT DISTINCT p FROM (
      SELECT jsonb_object_keys(s.%2$I::jsonb) FROM %1$s s WHERE jsonb_typeof(s.%2$I::jsonb) = 'object'
      UNION ALL
      (WITH RECURSIVE walk(path, v) AS (
         SELECT NULL::text, s.%2$I::jsonb FROM %1$s s
          WHERE jsonb_typeof(s.%2$I::jsonb) = 'array'
             OR s.%2$I::jsonb @? 'strict $.* ? (@.type() == "object" || @.type() == "array")'
         UNION ALL
         SELECT CASE WHEN e.k IS NULL THEN w.path ELSE coalesce(w.path || '.', '') || e.k END, e.v
           FROM walk w,
                LATERAL (SELECT x.k, x.v FROM jsonb_each(CASE WHEN jsonb_typeof(w.v) = 'object' THEN w.v END) x(k, v)
                         UNION ALL
                         SELECT NULL, a.v FROM jsonb_array_elements(CASE WHEN jsonb_typeof(w.v) = 'array' THEN w.v END) a(v)) e
          WHERE jsonb_typeof(w.v) IN ('object', 'array'))
       SELECT path FROM walk WHERE path IS NOT NULL)) x(p)$q$, source, col)
$f$;

-- Every key path of a table's JSON column, read from the data.
CREATE OR REPLACE FUNCTION private.samia_scan_json_paths(tbl regclass, col text) RETURNS SETOF text
LANGUAGE plpgsql STABLE AS $f$
BEGIN
  RETURN QUERY EXECUTE private.samia_json_paths_sql(tbl::text, col);
END
$f$;

-- Reading every document on every hourly `dsr process` would cost a second per 430,000
-- analytics events. So the paths are also noted as rows are written: a statement-level trigger
-- per keyed column adds the new rows' paths to private.samia_json_key_paths. The jobs read that
-- registry where the column's triggers are in force, and the data where they are not;
-- `datamap check` always reads the data (and adds what it finds), so paths written while
-- triggers were off (a restore with session_replication_role = replica) are still found.
CREATE TABLE IF NOT EXISTS private.samia_json_key_paths (
  table_name text NOT NULL,
  column_name text NOT NULL,
  path text NOT NULL,
  first_seen timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (table_name, column_name, path)
);

CREATE OR REPLACE FUNCTION private.samia_note_json_keys() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $f$
BEGIN
  EXECUTE format('INSERT INTO private.samia_json_key_paths (table_name, column_name, path) SELECT %L, %L, p FROM (%s) q(p) '
                 || 'ON CONFLICT DO NOTHING',
                 TG_TABLE_NAME, TG_ARGV[0], private.samia_json_paths_sql('samia_new_rows', TG_ARGV[0]));
  RETURN NULL;
END
$f$;
REVOKE ALL ON FUNCTION private.samia_json_paths_sql(text, text), private.samia_scan_json_paths(regclass, text),
  private.samia_note_json_keys() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION private.samia_scan_json_paths(regclass, text) TO service_role;
GRANT SELECT ON private.samia_json_key_paths TO service_role;

-- The shipped map's keyed columns: analytics events' props and the providers' webhook payloads.
-- Triggers `samia_json_keys_COLUMN` (inserts) and `samia_json_keys_COLUMN_u` (updates).
DO $$
DECLARE t record;
BEGIN
  FOR t IN SELECT * FROM (VALUES ('events_raw', 'props'), ('payment_events', 'payload')) v(tbl, col)
            WHERE to_regclass('public.' || v.tbl) IS NOT NULL LOOP
    EXECUTE format('DROP TRIGGER IF EXISTS %I ON public.%I', 'samia_json_keys_' || t.col, t.tbl);
    EXECUTE format('DROP TRIGGER IF EXISTS %I ON public.%I', 'samia_json_keys_' || t.col || '_u', t.tbl);
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON public.%I REFERENCING NEW TABLE AS samia_new_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION private.samia_note_json_keys(%L)',
                   'samia_json_keys_' || t.col, t.tbl, t.col);
    EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON public.%I REFERENCING NEW TABLE AS samia_new_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION private.samia_note_json_keys(%L)',
                   'samia_json_keys_' || t.col || '_u', t.tbl, t.col);
    EXECUTE format('INSERT INTO private.samia_json_key_paths (table_name, column_name, path) '
                   || 'SELECT %L, %L, p FROM private.samia_scan_json_paths(%L::regclass, %L) p ON CONFLICT DO NOTHING',
                   t.tbl, t.col, 'public.' || t.tbl, t.col);
  END LOOP;
END
$$;
