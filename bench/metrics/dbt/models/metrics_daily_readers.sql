-- Bookings of 30 minutes and 8-hour shifts, the job's defaults.
with days as ({{ days() }}),
bk as (
  select o.scheduled_at, o.assigned_reader as reader,
         o.scheduled_at - lag(o.scheduled_at) over w < interval '30 minutes'
           or lead(o.scheduled_at) over w - o.scheduled_at < interval '30 minutes' as doubled
    from public.orders o
   where o.scheduled_at >= ('{{ var("start") }}'::date::timestamp at time zone '{{ var("tz") }}') - interval '30 minutes'
     and o.scheduled_at < (('{{ var("end") }}'::date + 1)::timestamp at time zone '{{ var("tz") }}') + interval '30 minutes'
     and o.assigned_reader is not null and o.status not in ('cancelled', 'rejected')
  window w as (partition by o.assigned_reader order by o.scheduled_at, o.id)
),
booked as (
  select {{ local_day('scheduled_at') }} as day, count(*) as bookings, count(distinct reader) as readers,
         count(*) filter (where doubled) as doubled
    from bk where {{ in_window('scheduled_at') }} group by 1
),
talk as (
  select {{ local_day('c.started_at') }} as day, count(*) as calls, count(distinct o.assigned_reader) as readers,
         coalesce(sum(extract(epoch from c.ended_at - c.started_at)), 0)::double precision as seconds
    from public.calls c join public.orders o on o.id = c.order_id
   where {{ in_window('c.started_at') }} and c.ended_at >= c.started_at and o.assigned_reader is not null
   group by 1
)
select d.day, coalesce(b.bookings, 0)::int as bookings, coalesce(b.readers, 0)::int as readers_booked,
       coalesce(b.doubled, 0)::int as double_bookings,
       case when b.bookings > 0 then b.doubled::double precision / b.bookings end as double_booking_rate,
       coalesce(t.calls, 0)::int as calls, coalesce(t.readers, 0)::int as readers_on_calls,
       coalesce(t.seconds, 0) as call_seconds,
       case when t.readers > 0 then t.seconds / (t.readers * 8 * 3600.0) end as call_utilisation
  from days d left join booked b on b.day = d.day left join talk t on t.day = d.day
