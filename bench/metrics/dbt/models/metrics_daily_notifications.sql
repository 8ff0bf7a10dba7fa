with days as ({{ days() }}),
nl as (
  select {{ local_day('created_at') }} as day, channel,
         count(*) filter (where status = 'queued') as queued, count(*) filter (where status = 'sent') as sent,
         count(*) filter (where status = 'failed') as failed
    from public.notif_log where {{ in_window('created_at') }} group by 1, 2
),
keys as (
  select d.day, c.channel from days d cross join unnest(array['email', 'sms', 'whatsapp']) as c(channel)
  union select day, channel from nl
)
select k.day, k.channel, coalesce(n.queued, 0)::int as queued, coalesce(n.sent, 0)::int as sent,
       coalesce(n.failed, 0)::int as failed
  from keys k left join nl n on n.day = k.day and n.channel = k.channel
