extension MetricsSQL {
    /// One read of the window's orders (by creation) for engagement, one of its bookings
    /// (orders by `scheduled_at`) and one of its calls (by start) for readers. `$4` is the
    /// booking's length in minutes, `$5` a reader's shift in hours.
    ///
    /// A customer is new on a day when they have no order created before that day's local
    /// midnight (their order history looked up by `orders_user_idx`). Two bookings of one reader
    /// are double-booked when they start less than a booking's length apart: each booking is
    /// compared with the reader's previous and next ones, read from a booking's length before the
    /// window to one after it, so a pair across midnight or the window's edge is seen from both
    /// sides.
    static let customersAndReaders = """
        WITH days AS (\(days)),
        placed AS MATERIALIZED (
          SELECT \(localDay("o.created_at")) AS day, o.user_id
            FROM public.orders o
           WHERE \(inWindow("o.created_at"))
           GROUP BY 1, 2
        ),
        customers AS (
          SELECT p.day, count(*) AS active,
                 count(*) FILTER (WHERE NOT EXISTS (
                   SELECT 1 FROM public.orders x
                    WHERE x.user_id = p.user_id AND x.created_at < (p.day::timestamp AT TIME ZONE $3))) AS new
            FROM placed p GROUP BY p.day
        ),
        bk AS MATERIALIZED (
          SELECT o.scheduled_at, o.assigned_reader AS reader,
                 o.scheduled_at - lag(o.scheduled_at) OVER w < make_interval(mins => $4)
                   OR lead(o.scheduled_at) OVER w - o.scheduled_at < make_interval(mins => $4) AS doubled
            FROM public.orders o
           WHERE o.scheduled_at >= \(windowStart) - make_interval(mins => $4)
             AND o.scheduled_at < \(windowEnd) + make_interval(mins => $4)
             AND o.assigned_reader IS NOT NULL AND o.status NOT IN ('cancelled', 'rejected')
          WINDOW w AS (PARTITION BY o.assigned_reader ORDER BY o.scheduled_at, o.id)
        ),
        booked AS (
          SELECT \(localDay("scheduled_at")) AS day, count(*) AS bookings, count(DISTINCT reader) AS readers,
                 count(*) FILTER (WHERE doubled) AS doubled
            FROM bk WHERE \(inWindow("scheduled_at")) GROUP BY 1
        ),
        talk AS MATERIALIZED (
          SELECT \(localDay("c.started_at")) AS day, count(*) AS calls, count(DISTINCT o.assigned_reader) AS readers,
                 coalesce(sum(extract(epoch FROM c.ended_at - c.started_at)), 0)::double precision AS seconds
            FROM public.calls c JOIN public.orders o ON o.id = c.order_id
           WHERE \(inWindow("c.started_at")) AND c.ended_at >= c.started_at AND o.assigned_reader IS NOT NULL
           GROUP BY 1
        ),
        ins_engagement AS (
          INSERT INTO public.metrics_daily_engagement (day, active_customers, new_customers, returning_customers)
          SELECT d.day, coalesce(c.active, 0), coalesce(c.new, 0), coalesce(c.active - c.new, 0)
            FROM days d LEFT JOIN customers c ON c.day = d.day
          RETURNING 1
        ),
        ins_readers AS (
          INSERT INTO public.metrics_daily_readers (day, bookings, readers_booked, double_bookings, double_booking_rate,
                 calls, readers_on_calls, call_seconds, call_utilisation)
          SELECT d.day, coalesce(b.bookings, 0), coalesce(b.readers, 0), coalesce(b.doubled, 0),
                 CASE WHEN b.bookings > 0 THEN b.doubled::double precision / b.bookings END,
                 coalesce(t.calls, 0), coalesce(t.readers, 0), coalesce(t.seconds, 0),
                 CASE WHEN t.readers > 0 THEN t.seconds / (t.readers * $5::double precision * 3600) END
            FROM days d LEFT JOIN booked b ON b.day = d.day LEFT JOIN talk t ON t.day = d.day
          RETURNING 1
        )
        SELECT (SELECT count(*) FROM ins_engagement) AS engagement, (SELECT count(*) FROM ins_readers) AS readers,
               -- What was read, for the totals check.
               (SELECT count(*) FROM placed)::bigint AS source_customer_days,
               (SELECT count(*) FROM bk WHERE \(inWindow("scheduled_at")))::bigint AS source_bookings
        """
}
