-- Erasure (GDPR Art. 17): a ledger entry committed before the first destructive statement, and
-- an outbox of storage objects to delete, committed in the same transaction as the rows that
-- named them. Objects are deleted only after that commit; a crash leaves at worst an object
-- with no row (found again from the outbox), never a row pointing at a deleted object.

CREATE TABLE IF NOT EXISTS public.dsr_erasures (
  request_id bigint PRIMARY KEY REFERENCES public.dsr_requests(id),
  subject uuid NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  -- What the plan said would happen, per table and action (counts only, no personal data).
  plan jsonb NOT NULL,
  committed_at timestamptz,
  objects_total integer NOT NULL DEFAULT 0,
  objects_deleted integer NOT NULL DEFAULT 0,
  verified_at timestamptz,
  verification jsonb,
  proof_artifact_id bigint
);

CREATE TABLE IF NOT EXISTS public.storage_outbox (
  id bigserial PRIMARY KEY,
  storage_key text NOT NULL,
  -- Who queued it: 'dsr-erasure:ID' or a retention rule.
  origin text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  attempts integer NOT NULL DEFAULT 0,
  last_error text,
  deleted_at timestamptz
);
CREATE INDEX IF NOT EXISTS storage_outbox_pending_idx ON public.storage_outbox (origin, id) WHERE deleted_at IS NULL;

ALTER TABLE public.dsr_erasures ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.storage_outbox ENABLE ROW LEVEL SECURITY;
GRANT ALL ON public.dsr_erasures, public.storage_outbox TO service_role;
GRANT ALL ON SEQUENCE public.storage_outbox_id_seq TO service_role;
