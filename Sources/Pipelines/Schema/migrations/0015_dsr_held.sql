-- An erasure the subject's legal hold stops waits in `held` (its attempt not counted) and is
-- picked up again by `dsr process` once no hold on the whole subject is in force.
ALTER TABLE public.dsr_requests DROP CONSTRAINT IF EXISTS dsr_requests_status_check;
ALTER TABLE public.dsr_requests ADD CONSTRAINT dsr_requests_status_check
  CHECK (status IN ('requested', 'approved', 'running', 'done', 'failed', 'rejected', 'held'));
