-- The backend pid of the session that holds each run open (its ledger session), so that any
-- start of any job, and `samia-batch runs`, can tell a run whose process died (or whose
-- server restarted) from a live one: pg_stat_activity shows every session's pid to every role,
-- where an application_name of another role's session may be hidden.
ALTER TABLE public.batch_runs ADD COLUMN IF NOT EXISTS session_pid integer;
