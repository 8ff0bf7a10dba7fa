-- The columns the data map finds one subject's rows by (docs/privacy.md). Without an index each
-- export, erasure and hold check reads the whole table; `datamap check` names any that lack one.
-- On a large production table, build the index with CREATE INDEX CONCURRENTLY beforehand: this
-- migration then finds it and does nothing.
CREATE INDEX IF NOT EXISTS audit_log_actor_idx ON public.audit_log (actor);
CREATE INDEX IF NOT EXISTS moderation_actions_actor_idx ON public.moderation_actions (actor_id);
CREATE INDEX IF NOT EXISTS assist_drafts_order_idx ON public.assist_drafts (order_id);
CREATE INDEX IF NOT EXISTS assist_drafts_author_idx ON public.assist_drafts (author_id);
CREATE INDEX IF NOT EXISTS refunds_order_idx ON public.refunds (order_id);
CREATE INDEX IF NOT EXISTS phone_verifications_profile_idx ON public.phone_verifications (profile_id);
CREATE INDEX IF NOT EXISTS astro_requests_user_idx ON public.astro_requests (user_id);
