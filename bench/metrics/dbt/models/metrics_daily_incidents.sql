with days as ({{ days() }}),
runs as (
  select job, coalesce(finished_at, started_at) as at, status <> 'succeeded' as bad
    from public.batch_runs
   where not dry_run and status in ('succeeded', 'failed', 'partial', 'aborted')
     and coalesce(finished_at, started_at) < (('{{ var("end") }}'::date + 1)::timestamp at time zone '{{ var("tz") }}')
),
marked as (select job, at, bad, lag(bad) over (partition by job order by at) as was_bad from runs),
incidents as (
  select s.job, s.at as opened_at,
         (select min(m.at) from marked m where m.job = s.job and not m.bad and m.at > s.at) as resolved_at
    from marked s where s.bad and not coalesce(s.was_bad, false)
),
bounds as (
  select day, day::timestamp at time zone '{{ var("tz") }}' as lo, (day + 1)::timestamp at time zone '{{ var("tz") }}' as hi
    from days
)
select b.day,
       count(i.job) filter (where i.opened_at >= b.lo)::int as incidents_opened,
       count(i.job) filter (where i.resolved_at >= b.lo and i.resolved_at < b.hi)::int as incidents_resolved,
       count(i.job) filter (where i.resolved_at is null or i.resolved_at >= b.hi)::int as open_at_end,
       avg(extract(epoch from i.resolved_at - i.opened_at)) filter (where i.resolved_at >= b.lo and i.resolved_at < b.hi)::double precision as mttr_avg_s,
       max(extract(epoch from i.resolved_at - i.opened_at)) filter (where i.resolved_at >= b.lo and i.resolved_at < b.hi)::double precision as mttr_max_s
  from bounds b left join incidents i on i.opened_at < b.hi
 group by b.day
