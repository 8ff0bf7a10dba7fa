with days as ({{ days() }}),
ev as (
  select {{ local_day('occurred_at') }} as day, coalesce(service_code, 'unknown') as service_code,
         count(*) filter (where event = 'order_created') as orders_created,
         count(*) filter (where event = 'order_assigned') as orders_assigned,
         count(*) filter (where event = 'order_delivered') as orders_delivered,
         count(*) filter (where event = 'order_rejected') as orders_rejected,
         count(*) filter (where event = 'order_cancelled') as orders_cancelled,
         count(*) filter (where event = 'order_regenerated') as regenerations,
         percentile_cont(0.5) within group (order by (props->>'order_age_s')::double precision)
           filter (where event = 'order_delivered') as delivery_p50_s,
         percentile_cont(0.95) within group (order by (props->>'order_age_s')::double precision)
           filter (where event = 'order_delivered') as delivery_p95_s
    from public.events_raw
   where {{ in_window('occurred_at') }}
     and event in ('order_created', 'order_assigned', 'order_delivered', 'order_rejected', 'order_cancelled', 'order_regenerated')
   group by 1, 2
),
keys as (select d.day, s.code as service_code from days d cross join public.services s union select day, service_code from ev)
select k.day, k.service_code, coalesce(v.orders_created, 0)::int as orders_created,
       coalesce(v.orders_assigned, 0)::int as orders_assigned, coalesce(v.orders_delivered, 0)::int as orders_delivered,
       coalesce(v.orders_rejected, 0)::int as orders_rejected, coalesce(v.orders_cancelled, 0)::int as orders_cancelled,
       coalesce(v.regenerations, 0)::int as regenerations, v.delivery_p50_s, v.delivery_p95_s
  from keys k left join ev v on v.day = k.day and v.service_code = k.service_code
