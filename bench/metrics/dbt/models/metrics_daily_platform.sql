with days as ({{ days() }}),
ev as (
  select {{ local_day('occurred_at') }} as day,
         count(*) filter (where event = 'rate_limit_hit') as rate_limit_hits,
         count(*) filter (where event = 'sql_latency') as sql_latency_samples,
         avg((props->>'ms')::double precision) filter (where event = 'sql_latency') as avg_sql_latency_ms,
         count(distinct actor_hash) filter (where actor_role = 'client') as daily_active_clients
    from public.events_raw
   where {{ in_window('occurred_at') }}
   group by 1
)
select d.day, coalesce(v.rate_limit_hits, 0)::int as rate_limit_hits,
       coalesce(v.sql_latency_samples, 0)::int as sql_latency_samples, v.avg_sql_latency_ms,
       coalesce(v.daily_active_clients, 0)::int as daily_active_clients
  from days d left join ev v on v.day = d.day
