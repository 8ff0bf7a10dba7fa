with days as ({{ days() }}),
pi as (
  select {{ local_day('p.created_at') }} as day, p.status,
         not exists (select 1 from public.payment_intents x
                      where x.order_id = p.order_id and (x.created_at, x.id) < (p.created_at, p.id)) as first_attempt
    from public.payment_intents p
   where {{ in_window('p.created_at') }}
),
pay as (
  select day, count(*) as attempted, count(*) filter (where status = 'succeeded') as succeeded,
         count(*) filter (where status = 'failed') as failed, count(*) filter (where first_attempt) as first_attempts,
         count(*) filter (where first_attempt and status = 'succeeded') as first_ok
    from pi group by day
),
rf as (
  select {{ local_day('created_at') }} as day, count(*) as n
    from public.refunds where status = 'succeeded' and {{ in_window('created_at') }} group by 1
)
select d.day, coalesce(p.attempted, 0)::int as payments_attempted, coalesce(p.succeeded, 0)::int as payments_succeeded,
       coalesce(p.failed, 0)::int as payments_failed, coalesce(p.first_attempts, 0)::int as first_attempts,
       coalesce(p.first_ok, 0)::int as first_attempts_succeeded,
       case when p.first_attempts > 0 then p.first_ok::double precision / p.first_attempts end as first_pass_success_rate,
       coalesce(r.n, 0)::int as refunds_succeeded,
       case when p.succeeded > 0 then coalesce(r.n, 0)::double precision / p.succeeded end as refund_rate
  from days d left join pay p on p.day = d.day left join rf r on r.day = d.day
