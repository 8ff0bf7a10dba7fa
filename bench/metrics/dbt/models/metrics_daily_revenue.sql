with attempts as (
  select distinct {{ local_day('created_at') }} as day, currency::text as currency
    from public.payment_intents where {{ in_window('created_at') }}
),
pi as (
  select {{ local_day('updated_at') }} as day, currency::text as currency, count(*) as n, sum(amount_cents) as gross
    from public.payment_intents where status = 'succeeded' and {{ in_window('updated_at') }} group by 1, 2
),
rf as (
  select {{ local_day('created_at') }} as day, currency::text as currency, count(*) as n, sum(amount_cents) as amount
    from public.refunds where status = 'succeeded' and {{ in_window('created_at') }} group by 1, 2
),
keys as (select day, currency from attempts union select day, currency from pi union select day, currency from rf)
select k.day, k.currency::char(3) as currency, coalesce(v.n, 0)::int as payments_succeeded,
       coalesce(v.gross, 0)::bigint as gross_minor, coalesce(r.n, 0)::int as refunds_succeeded,
       coalesce(r.amount, 0)::bigint as refunded_minor,
       -- No reporting currency in the benchmark (METRICS_REPORTING_CURRENCY unset): not converted.
       null::char(3) as reporting_currency, null::numeric as fx_rate, null::date as fx_rate_date,
       null::bigint as gross_reporting_minor, null::bigint as refunded_reporting_minor
  from keys k left join pi v on v.day = k.day and v.currency = k.currency
  left join rf r on r.day = k.day and r.currency = k.currency
