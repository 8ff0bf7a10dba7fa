-- Data-subject requests (GDPR Art. 15, 17, 20): the DPO's queue, with its legal deadline, and
-- the legal holds that block erasure. No foreign key to profiles: a request outlives the
-- profile it concerns, and is itself the record that the request was handled.

CREATE TABLE IF NOT EXISTS public.dsr_requests (
  id bigserial PRIMARY KEY,
  subject uuid NOT NULL,
  kind text NOT NULL CHECK (kind IN ('export', 'erase')),
  status text NOT NULL DEFAULT 'requested'
    CHECK (status IN ('requested', 'approved', 'running', 'done', 'failed', 'rejected')),
  requested_by text NOT NULL CHECK (requested_by <> ''),
  requested_at timestamptz NOT NULL DEFAULT now(),
  -- One month from receipt (Art. 12(3)); an extension moves it by at most two more months.
  due_at timestamptz NOT NULL,
  extended_until timestamptz,
  extension_reason text,
  approved_by text,
  approved_at timestamptz,
  -- Others' emails and phones are masked in an export unless a superadmin overrode it.
  unmasked boolean NOT NULL DEFAULT false,
  encrypted boolean NOT NULL DEFAULT false,
  rejection_reason text,
  attempts integer NOT NULL DEFAULT 0,
  run_id bigint,
  started_at timestamptz,
  finished_at timestamptz,
  artifact_id bigint,
  artifact_key text,
  artifact_sha256 text,
  artifact_expires_at timestamptz,
  error text,
  CHECK (extended_until IS NULL OR (extension_reason IS NOT NULL AND extension_reason <> '')),
  CHECK (status <> 'rejected' OR (rejection_reason IS NOT NULL AND rejection_reason <> '')),
  CHECK (NOT unmasked OR kind = 'export')
);
CREATE INDEX IF NOT EXISTS dsr_requests_queue_idx ON public.dsr_requests (status, id);
CREATE INDEX IF NOT EXISTS dsr_requests_subject_idx ON public.dsr_requests (subject);

-- Rows that must not be erased (litigation, an authority's order): a whole subject, or one
-- table's rows of that subject. Released holds are kept as history.
CREATE TABLE IF NOT EXISTS public.legal_holds (
  id bigserial PRIMARY KEY,
  subject uuid NOT NULL,
  table_name text,
  reason text NOT NULL CHECK (reason <> ''),
  placed_by text NOT NULL CHECK (placed_by <> ''),
  placed_at timestamptz NOT NULL DEFAULT now(),
  released_at timestamptz
);
CREATE INDEX IF NOT EXISTS legal_holds_subject_idx ON public.legal_holds (subject) WHERE released_at IS NULL;

-- Artefacts that must not outlive their purpose (DSR exports) carry an expiry; retention
-- deletes them after it.
ALTER TABLE public.batch_artifacts ADD COLUMN IF NOT EXISTS expires_at timestamptz;

ALTER TABLE public.dsr_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.legal_holds ENABLE ROW LEVEL SECURITY;
GRANT ALL ON public.dsr_requests, public.legal_holds TO service_role;
GRANT ALL ON SEQUENCE public.dsr_requests_id_seq, public.legal_holds_id_seq TO service_role;
