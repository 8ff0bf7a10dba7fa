with days as ({{ days() }}),
m as (
  select {{ local_day('m.created_at') }} as day,
         count(*) filter (where m.action = 'approve') as approvals,
         count(*) filter (where m.action = 'reject') as rejections,
         avg(extract(epoch from m.created_at - o.created_at)::double precision)
           filter (where m.action = 'approve' and o.id is not null) as latency_avg,
         percentile_cont(0.95) within group (order by extract(epoch from m.created_at - o.created_at)::double precision)
           filter (where m.action = 'approve' and o.id is not null) as latency_p95
    from public.moderation_actions m
    left join public.orders o on m.target_kind = 'order' and m.target_id ~ '^[0-9]{1,18}$' and o.id = m.target_id::bigint
   where m.action in ('approve', 'reject') and {{ in_window('m.created_at') }}
   group by 1
)
select d.day, coalesce(m.approvals, 0)::int as approvals, coalesce(m.rejections, 0)::int as rejections,
       m.latency_avg as approval_latency_avg_s, m.latency_p95 as approval_latency_p95_s
  from days d left join m on m.day = d.day
