with days as ({{ days() }}),
placed as (
  select distinct {{ local_day('o.created_at') }} as day, o.user_id
    from public.orders o where {{ in_window('o.created_at') }}
),
customers as (
  select p.day, count(*) as active,
         count(*) filter (where not exists (
           select 1 from public.orders x
            where x.user_id = p.user_id and x.created_at < (p.day::timestamp at time zone '{{ var("tz") }}'))) as new
    from placed p group by p.day
)
select d.day, coalesce(c.active, 0)::int as active_customers, coalesce(c.new, 0)::int as new_customers,
       coalesce(c.active - c.new, 0)::int as returning_customers
  from days d left join customers c on c.day = d.day
