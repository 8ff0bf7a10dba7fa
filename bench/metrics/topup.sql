-- Tops events_raw up to :target rows with synthetic analytics events over the 60 days before
-- :'as_of', in the proportions of a busy day (no personal data: actors are hashes).
INSERT INTO public.events_raw (occurred_at, received_at, event, actor_hash, actor_role, service_code, props)
SELECT ts, ts + interval '3 seconds', e.ev, a.actor, a.role, g.svc, a.props
  FROM (
    -- random() in the select list is drawn per row; in an uncorrelated LATERAL subquery it was
    -- drawn once, so every topped-up event had the same type (docs/performance.md).
    SELECT timestamptz :'as_of' - make_interval(secs => 86400 * 60 * random()) AS ts, random() AS r, k,
           (ARRAY['tarot', 'coffee', 'astro', 'healing', 'direct_call'])[1 + k % 5] AS svc
      FROM generate_series(1, greatest(0, :target - (SELECT count(*) FROM public.events_raw))) k
  ) g,
  LATERAL (SELECT
    CASE WHEN r < 0.15 THEN 'order_created' WHEN r < 0.25 THEN 'order_assigned' WHEN r < 0.35 THEN 'order_delivered'
         WHEN r < 0.36 THEN 'order_rejected' WHEN r < 0.37 THEN 'order_cancelled' WHEN r < 0.38 THEN 'order_regenerated'
         WHEN r < 0.43 THEN 'call_started' WHEN r < 0.48 THEN 'call_ended' WHEN r < 0.53 THEN 'rate_limit_hit'
         WHEN r < 0.83 THEN 'sql_latency' ELSE 'page_view' END AS ev) e,
  LATERAL (SELECT
    CASE WHEN e.ev IN ('rate_limit_hit') THEN 'ip:' || (k % 997) WHEN e.ev = 'sql_latency' THEN NULL
         ELSE md5('bench-salt:' || (k % 50000)) END AS actor,
    CASE WHEN e.ev IN ('order_assigned', 'order_delivered', 'order_regenerated') THEN 'reader'
         WHEN e.ev = 'rate_limit_hit' THEN 'anon' WHEN e.ev = 'sql_latency' THEN 'system' ELSE 'client' END AS role,
    CASE e.ev WHEN 'order_delivered' THEN jsonb_build_object('order_age_s', (k % 200000))
              WHEN 'call_ended' THEN jsonb_build_object('end_reason',
                (ARRAY['completed', 'completed', 'completed', 'dropped_by_monitor', 'dropped_by_client', 'failed'])[1 + k % 6],
                'duration_s', 30 + k % 3600)
              WHEN 'sql_latency' THEN jsonb_build_object('ms', round((2 + (k % 4000) / 100.0)::numeric, 2))
              ELSE '{}'::jsonb END AS props) a
 ORDER BY ts;  -- events arrive roughly in time order, so the heap is laid out by time as in production
ANALYZE public.events_raw;
