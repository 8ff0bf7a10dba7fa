-- Issue 36, point 3: requests beyond access and erasure. Rectification (Art. 16), restriction
-- (Art. 18) and objection (Art. 21) are carried out by staff in the platform; the register
-- tracks them with the same one-month deadline, what the subject asked (`details`) and the
-- evidence of what was done (`outcome`, `outcome_evidence`, `completed_by`). Art. 19 notices:
-- each processor or recipient told of an erasure, rectification or restriction, by whom, when,
-- with a reference to the evidence; one row per recipient and request.
ALTER TABLE public.dsr_requests DROP CONSTRAINT IF EXISTS dsr_requests_kind_check;
ALTER TABLE public.dsr_requests ADD CONSTRAINT dsr_requests_kind_check
  CHECK (kind IN ('export', 'erase', 'rectify', 'restrict', 'object'));
ALTER TABLE public.dsr_requests
  ADD COLUMN IF NOT EXISTS details text,
  ADD COLUMN IF NOT EXISTS outcome text,
  ADD COLUMN IF NOT EXISTS outcome_evidence text,
  ADD COLUMN IF NOT EXISTS completed_by text;
ALTER TABLE public.dsr_requests DROP CONSTRAINT IF EXISTS dsr_requests_details_check;
ALTER TABLE public.dsr_requests ADD CONSTRAINT dsr_requests_details_check
  CHECK (kind IN ('export', 'erase') OR details <> '');
ALTER TABLE public.dsr_requests DROP CONSTRAINT IF EXISTS dsr_requests_outcome_check;
ALTER TABLE public.dsr_requests ADD CONSTRAINT dsr_requests_outcome_check
  CHECK (outcome IS NULL OR (outcome <> '' AND outcome_evidence <> '' AND completed_by <> ''));

CREATE TABLE IF NOT EXISTS public.dsr_notifications (
  id bigserial PRIMARY KEY,
  request_id bigint NOT NULL REFERENCES public.dsr_requests (id),
  recipient text NOT NULL CHECK (recipient <> ''),
  evidence text NOT NULL CHECK (evidence <> ''),
  notified_by text NOT NULL CHECK (notified_by <> ''),
  notified_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (request_id, recipient)
);
ALTER TABLE public.dsr_notifications ENABLE ROW LEVEL SECURITY;
GRANT ALL ON public.dsr_notifications TO service_role;
GRANT ALL ON SEQUENCE public.dsr_notifications_id_seq TO service_role;
