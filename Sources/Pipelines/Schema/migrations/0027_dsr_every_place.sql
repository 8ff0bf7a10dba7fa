-- Issue 36 point 2: every place a person lives. The rows written about a subject (audit entries
-- on their refund, moderation decisions on their profile), their pseudonymous analytics events
-- and the webhook payloads naming their payments are found by index; personal keys are removed
-- from a JSON document at any depth by private.samia_strip_keys (erasure's `strip` strategy).
CREATE INDEX IF NOT EXISTS audit_log_entity_idx ON public.audit_log (entity, entity_id);
CREATE INDEX IF NOT EXISTS moderation_actions_target_idx ON public.moderation_actions (target_kind, target_id);
CREATE INDEX IF NOT EXISTS events_raw_actor_hash_idx ON public.events_raw (actor_hash) WHERE actor_hash IS NOT NULL;
CREATE INDEX IF NOT EXISTS payment_events_payload_id_idx ON public.payment_events ((payload ->> 'id'));
CREATE INDEX IF NOT EXISTS payment_events_object_id_idx ON public.payment_events ((payload #>> '{data,object,id}'));

CREATE OR REPLACE FUNCTION private.samia_strip_keys(doc jsonb, keys text[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE jsonb_typeof(doc)
    WHEN 'object' THEN coalesce(
      (SELECT jsonb_object_agg(e.k, private.samia_strip_keys(e.v, keys)) FROM jsonb_each(doc) e(k, v)
        WHERE NOT (e.k = ANY (keys))), '{}'::jsonb)
    WHEN 'array' THEN coalesce(
      (SELECT jsonb_agg(private.samia_strip_keys(a.v, keys) ORDER BY a.n) FROM jsonb_array_elements(doc) WITH ORDINALITY a(v, n)),
      '[]'::jsonb)
    ELSE doc
  END
$$;
REVOKE ALL ON FUNCTION private.samia_strip_keys(jsonb, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION private.samia_strip_keys(jsonb, text[]) TO service_role;
