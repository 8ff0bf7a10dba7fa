-- The breaks stripe.sql plants in month :'month' reconciled in zone :'tz', by the generator's own
-- rules, so the demo can say which they are and check that the finance ZIP shows exactly these.
-- A Stripe payment's charge line is dated 5 s after it (a second one, for every 83rd, 9 s after);
-- every 97th has no first line, every 89th is settled one minor unit high. Payments of the last
-- 3 days of a month without a line are in transit, not missing (policy: in_transit_days).
WITH w AS (
  SELECT (:'month' || '-01')::timestamp AT TIME ZONE :'tz' AS start_at,
         ((:'month' || '-01')::timestamp + interval '1 month') AT TIME ZONE :'tz' AS end_at
), p AS (
  SELECT pi.id, pi.updated_at AS paid, w.start_at, w.end_at, w.end_at - interval '3 days' AS transit_from,
         pi.updated_at >= w.start_at AND pi.updated_at < w.end_at AS in_month,
         CASE WHEN pi.id % 97 <> 0 THEN pi.updated_at + interval '5 seconds'
              WHEN pi.id % 83 = 0 THEN pi.updated_at + interval '9 seconds' END AS first_line,
         CASE WHEN pi.id % 97 <> 0 AND pi.id % 83 = 0 THEN pi.updated_at + interval '9 seconds' END AS second_line
    FROM public.payment_intents pi CROSS JOIN w
   WHERE pi.provider = 'stripe' AND pi.status = 'succeeded'
)
SELECT kind, count(*) FILTER (WHERE hit) AS planted FROM (
  SELECT 'missing_in_provider' AS kind, in_month AND first_line IS NULL AND paid < transit_from AS hit FROM p
  UNION ALL
  SELECT 'timing', NOT in_month AND paid >= start_at - interval '3 days' AND paid < start_at AND first_line IS NULL FROM p
  UNION ALL
  SELECT 'amount_mismatch', id % 89 = 0 AND first_line IS NOT NULL AND (in_month OR first_line >= start_at)
                            AND first_line < end_at FROM p
  UNION ALL
  SELECT 'duplicate', second_line IS NOT NULL AND (in_month OR second_line >= start_at) AND second_line < end_at FROM p
  UNION ALL
  SELECT 'in_transit', in_month AND first_line IS NULL AND paid >= transit_from FROM p
) x GROUP BY kind ORDER BY kind;
