-- Signed artefacts the batch produced (finance ZIPs, later DSR exports and audit reports): one
-- row per version, never overwritten, so a month re-run keeps what finance downloaded before.

CREATE TABLE IF NOT EXISTS public.batch_artifacts (
  id bigserial PRIMARY KEY,
  kind text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9-]*$'),
  partition_key text NOT NULL,
  version integer NOT NULL CHECK (version >= 1),
  storage_key text NOT NULL UNIQUE,
  file_name text NOT NULL,
  sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  bytes bigint NOT NULL CHECK (bytes >= 0),
  run_id bigint,
  parameters jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (kind, partition_key, version)
);

-- Finance and DPO material: no API access.
ALTER TABLE public.batch_artifacts ENABLE ROW LEVEL SECURITY;
GRANT ALL ON public.batch_artifacts TO service_role;
GRANT ALL ON SEQUENCE public.batch_artifacts_id_seq TO service_role;

-- The payout reconciliation report that gave a known line its payout id, so a reconciliation
-- manifest can name every file its figures came from.
ALTER TABLE public.settlement_lines ADD COLUMN IF NOT EXISTS payout_file_id bigint REFERENCES public.settlement_files(id);
