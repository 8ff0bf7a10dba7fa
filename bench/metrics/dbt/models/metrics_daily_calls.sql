with days as ({{ days() }}),
ev as (
  select {{ local_day('occurred_at') }} as day,
         count(*) filter (where event = 'call_started') as calls_started,
         count(*) filter (where event = 'call_ended') as calls_ended,
         count(*) filter (where event = 'call_ended' and props->>'end_reason' = 'completed') as ended_completed,
         count(*) filter (where event = 'call_ended' and props->>'end_reason' = 'dropped_by_monitor') as dropped_by_monitor,
         count(*) filter (where event = 'call_ended' and props->>'end_reason' = 'dropped_by_reader') as dropped_by_reader,
         count(*) filter (where event = 'call_ended' and props->>'end_reason' = 'dropped_by_client') as dropped_by_client,
         count(*) filter (where event = 'call_ended' and props->>'end_reason' = 'failed') as ended_failed,
         count(*) filter (where event = 'call_ended' and coalesce(props->>'end_reason', 'other') not in
           ('completed', 'dropped_by_monitor', 'dropped_by_reader', 'dropped_by_client', 'failed')) as ended_other,
         avg((props->>'duration_s')::double precision) filter (where event = 'call_ended') as duration_avg_s,
         percentile_cont(0.95) within group (order by (props->>'duration_s')::double precision)
           filter (where event = 'call_ended') as duration_p95_s
    from public.events_raw
   where {{ in_window('occurred_at') }} and event in ('call_started', 'call_ended')
   group by 1
)
select d.day, coalesce(v.calls_started, 0)::int as calls_started, coalesce(v.calls_ended, 0)::int as calls_ended,
       coalesce(v.ended_completed, 0)::int as ended_completed, coalesce(v.dropped_by_monitor, 0)::int as dropped_by_monitor,
       coalesce(v.dropped_by_reader, 0)::int as dropped_by_reader, coalesce(v.dropped_by_client, 0)::int as dropped_by_client,
       coalesce(v.ended_failed, 0)::int as ended_failed, coalesce(v.ended_other, 0)::int as ended_other,
       v.duration_avg_s, v.duration_p95_s
  from days d left join ev v on v.day = d.day
