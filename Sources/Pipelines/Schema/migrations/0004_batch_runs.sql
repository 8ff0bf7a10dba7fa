-- samia-batch's own tables. RLS on with no policy and no grant to the API roles: only the
-- batch (table owner or service_role) reads them.
CREATE TABLE IF NOT EXISTS public.batch_runs (
  id bigserial PRIMARY KEY,
  job text NOT NULL,
  partition_key text NOT NULL DEFAULT '',
  status text NOT NULL CHECK (status IN ('running', 'succeeded', 'partial', 'failed', 'aborted')),
  dry_run boolean NOT NULL DEFAULT false,
  attempts integer NOT NULL DEFAULT 1,
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  host text NOT NULL,
  pid integer,
  version text NOT NULL,
  parameters jsonb NOT NULL DEFAULT '{}',
  stats jsonb NOT NULL DEFAULT '{}',
  error text,
  artifacts jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS batch_runs_job_idx ON public.batch_runs (job, partition_key, started_at DESC);
ALTER TABLE public.batch_runs ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON public.batch_runs FROM anon, authenticated;
REVOKE ALL ON SEQUENCE public.batch_runs_id_seq FROM anon, authenticated;
GRANT ALL ON public.batch_runs TO service_role;
GRANT ALL ON SEQUENCE public.batch_runs_id_seq TO service_role;

ALTER TABLE public._migrations ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON public._migrations FROM anon, authenticated;
