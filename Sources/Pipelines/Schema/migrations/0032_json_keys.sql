-- Issue 36, point 1: a key seen in a JSON column's data but not declared in the data map stops
-- every privacy job. private.samia_json_keys lists the object keys of a document at any depth,
-- without descending under the keys already declared personal (their whole value is personal:
-- stripped on erasure, masked in others' exports), so that `billing_details.name` needs no entry
-- of its own once `billing_details` is personal.
CREATE OR REPLACE FUNCTION private.samia_json_keys(doc jsonb, personal text[]) RETURNS SETOF text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT e.k FROM jsonb_each(CASE WHEN jsonb_typeof(doc) = 'object' THEN doc ELSE '{}' END) e(k, v)
  UNION ALL
  SELECT private.samia_json_keys(e.v, personal)
    FROM jsonb_each(CASE WHEN jsonb_typeof(doc) = 'object' THEN doc ELSE '{}' END) e(k, v)
   WHERE jsonb_typeof(e.v) IN ('object', 'array') AND NOT (e.k = ANY (personal))
  UNION ALL
  SELECT private.samia_json_keys(a.v, personal)
    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(doc) = 'array' THEN doc ELSE '[]' END) a(v)
   WHERE jsonb_typeof(a.v) IN ('object', 'array')
$$;
REVOKE ALL ON FUNCTION private.samia_json_keys(jsonb, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION private.samia_json_keys(jsonb, text[]) TO service_role;
