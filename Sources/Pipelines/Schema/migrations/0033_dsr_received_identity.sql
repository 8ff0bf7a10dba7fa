-- Issue 36, point 3: a request's clock starts when it was received (a letter opened days after it
-- arrived, an email to the support inbox), not when someone typed it in; and nothing is
-- approved before the requester's identity was verified, recorded with its method, the
-- verifier and a reference to the evidence (a ticket, a call log; never the document itself).
ALTER TABLE public.dsr_requests ADD COLUMN IF NOT EXISTS received_at timestamptz;
UPDATE public.dsr_requests SET received_at = requested_at WHERE received_at IS NULL;
ALTER TABLE public.dsr_requests ALTER COLUMN received_at SET DEFAULT now(), ALTER COLUMN received_at SET NOT NULL;
ALTER TABLE public.dsr_requests
  ADD COLUMN IF NOT EXISTS identity_method text,
  ADD COLUMN IF NOT EXISTS identity_evidence text,
  ADD COLUMN IF NOT EXISTS identity_verified_by text,
  ADD COLUMN IF NOT EXISTS identity_verified_at timestamptz;
ALTER TABLE public.dsr_requests DROP CONSTRAINT IF EXISTS dsr_requests_identity_check;
ALTER TABLE public.dsr_requests ADD CONSTRAINT dsr_requests_identity_check CHECK (
  (identity_method IS NULL AND identity_evidence IS NULL AND identity_verified_by IS NULL AND identity_verified_at IS NULL)
  OR (identity_method IN ('account_session', 'email_challenge', 'id_document', 'in_person', 'legal_representative')
      AND identity_evidence <> '' AND identity_verified_by <> '' AND identity_verified_at IS NOT NULL));
ALTER TABLE public.dsr_requests DROP CONSTRAINT IF EXISTS dsr_requests_received_check;
ALTER TABLE public.dsr_requests ADD CONSTRAINT dsr_requests_received_check
  CHECK (received_at <= requested_at + interval '5 minutes');
