-- Issue 36 point 6: a tamper-evident audit trail. Each row carries its place in one chain
-- (chain_seq), the previous row's hash (prev_hash) and its own (row_hash: SHA-256 of the
-- previous hash and the row's content, see private.audit_row_hash). A BEFORE INSERT trigger
-- links every new row through the one chain head, whose row lock orders concurrent writers
-- into a single chain (a writer waits for the one before it to commit or roll back, as invoice
-- numbering already does). Rows are append-only; `samia-batch audit verify` recomputes every
-- hash and names the first broken row. Existing rows are linked in id order, once.
LOCK TABLE public.audit_log IN SHARE ROW EXCLUSIVE MODE;

ALTER TABLE public.audit_log
  ADD COLUMN IF NOT EXISTS chain_seq bigint,
  ADD COLUMN IF NOT EXISTS prev_hash text,
  ADD COLUMN IF NOT EXISTS row_hash text;
CREATE UNIQUE INDEX IF NOT EXISTS audit_log_chain_seq_idx ON public.audit_log (chain_seq);

CREATE TABLE IF NOT EXISTS private.audit_chain_head (
  id int PRIMARY KEY CHECK (id = 1),
  seq bigint NOT NULL,
  hash text NOT NULL
);
REVOKE ALL ON private.audit_chain_head FROM PUBLIC;

-- The content hashed, as one JSON array (unambiguous: every string quoted and escaped; jsonb's
-- text is canonical), the time in UTC so the session's time zone cannot change it.
CREATE OR REPLACE FUNCTION private.audit_row_hash(
  prev text, seq bigint, id bigint, actor uuid, actor_role text, event text, entity text, entity_id text, meta jsonb,
  created_at timestamptz
) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT encode(sha256(convert_to(jsonb_build_array(
           prev, seq, id, actor, actor_role, event, entity, entity_id, meta,
           to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text, 'UTF8')), 'hex')
$$;
REVOKE ALL ON FUNCTION private.audit_row_hash(text, bigint, bigint, uuid, text, text, text, text, jsonb, timestamptz)
  FROM PUBLIC;
GRANT EXECUTE ON FUNCTION private.audit_row_hash(text, bigint, bigint, uuid, text, text, text, text, jsonb, timestamptz)
  TO service_role;

DO $$
DECLARE
  r record;
  h text := repeat('0', 64);
  s bigint := 0;
BEGIN
  IF EXISTS (SELECT 1 FROM private.audit_chain_head) THEN RETURN; END IF;
  FOR r IN SELECT * FROM public.audit_log ORDER BY id LOOP
    s := s + 1;
    UPDATE public.audit_log a
       SET chain_seq = s, prev_hash = h,
           row_hash = private.audit_row_hash(h, s, r.id, r.actor, r.actor_role, r.event, r.entity, r.entity_id, r.meta, r.created_at)
     WHERE a.id = r.id
    RETURNING a.row_hash INTO h;
  END LOOP;
  INSERT INTO private.audit_chain_head (id, seq, hash) VALUES (1, s, h);
END $$;

-- Runs as its owner: whoever may write an audit row links it, without rights on the head.
CREATE OR REPLACE FUNCTION private.audit_link() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
  head private.audit_chain_head;
BEGIN
  UPDATE private.audit_chain_head SET seq = seq + 1 WHERE id = 1 RETURNING * INTO head;
  NEW.chain_seq := head.seq;
  NEW.prev_hash := head.hash;
  NEW.row_hash := private.audit_row_hash(head.hash, head.seq, NEW.id, NEW.actor, NEW.actor_role, NEW.event,
                                         NEW.entity, NEW.entity_id, NEW.meta, NEW.created_at);
  UPDATE private.audit_chain_head SET hash = NEW.row_hash WHERE id = 1;
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION private.audit_link() FROM PUBLIC;

CREATE OR REPLACE FUNCTION private.audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = '42501';
END $$;
REVOKE ALL ON FUNCTION private.audit_append_only() FROM PUBLIC;

DROP TRIGGER IF EXISTS audit_log_link ON public.audit_log;
CREATE TRIGGER audit_log_link BEFORE INSERT ON public.audit_log FOR EACH ROW EXECUTE FUNCTION private.audit_link();
DROP TRIGGER IF EXISTS audit_log_append_only ON public.audit_log;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON public.audit_log
  FOR EACH ROW EXECUTE FUNCTION private.audit_append_only();
-- TRUNCATE bypasses row triggers.
DROP TRIGGER IF EXISTS audit_log_no_truncate ON public.audit_log;
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON public.audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION private.audit_append_only();
