import Postgres
import Reports

/// The statements of the metrics job. Every statement takes the same three parameters:
/// `$1` first day, `$2` last day (dates in the business time zone), `$3` the time zone name.
///
/// A day is the local date `(ts AT TIME ZONE tz)::date`; sources are filtered by the window's
/// local midnights as timestamptz (`day::timestamp AT TIME ZONE tz`), which are constants for
/// the planner, so the timestamp indexes are range-scanned and 23- and 25-hour days are cut
/// where they fall. No row's time is converted: events are read day by day between that day's
/// midnights, and other sources' rows find their day among the same midnights (`localDay`).
/// Each source is read once per window by one statement (`events_raw` once per day of it; see
/// `events`). Every day gets its rows even when nothing happened:
/// one row per day, per service in `services`, per notification channel; revenue rows exist per
/// day and currency with any payment attempt or refund (a currency has no fixed domain). The
/// keys of a day never depend on the rest of the window, so a nightly window and a one-day
/// backfill write the same rows.
enum MetricsSQL {
    static let days = "SELECT d::date AS day FROM generate_series($1::date, $2::date, interval '1 day') d"
    static let windowStart = "($1::date::timestamp AT TIME ZONE $3)"
    static let windowEnd = "(($2::date + 1)::timestamp AT TIME ZONE $3)"

    static func inWindow(_ column: String) -> String {
        "\(column) >= \(windowStart) AND \(column) < \(windowEnd)"
    }

    /// The window's local midnights as timestamptz, in order: computed once per statement.
    static let midnights =
        "SELECT array_agg(d::date::timestamp AT TIME ZONE $3 ORDER BY d) FROM generate_series($1::date, $2::date, interval '1 day') d"

    /// The local day of `column` for a row already inside the window: the number of the last
    /// local midnight at or before it, found by binary search (`width_bucket`). It equals
    /// `(column AT TIME ZONE $3)::date`, whose zone-rule lookup per row costs more than the
    /// scan itself (docs/performance.md); the midnights are the same expressions the window
    /// filter uses, so DST days are cut identically.
    static func localDay(_ column: String) -> String {
        "($1::date + width_bucket(\(column), (\(midnights))) - 1)"
    }

    /// Every KPI table the job writes; each is written by exactly one `MetricsStep`.
    static let tables = [
        "metrics_daily_orders", "metrics_daily_payments", "metrics_daily_revenue", "metrics_daily_calls",
        "metrics_daily_content", "metrics_daily_notifications", "metrics_daily_platform", "metrics_daily_engagement",
        "metrics_daily_readers", "metrics_daily_incidents",
    ]

    /// The call end reasons counted apiece, with their `metrics_daily_calls` columns; any other
    /// reason, or none, is `ended_other`.
    static let endReasons = [
        ("completed", "ended_completed"), ("dropped_by_monitor", "dropped_by_monitor"),
        ("dropped_by_reader", "dropped_by_reader"), ("dropped_by_client", "dropped_by_client"),
        ("failed", "ended_failed"),
    ]

    /// Per (service, event) group: its ended calls (`calls`, their `props`) counted by reason.
    static let endReasonCounts = endReasons.map { reason, column in
        "count(*) FILTER (WHERE c->>'end_reason' = \(SQLIdentifier.literal(reason))) AS \(column)"
    }.joined(separator: ", ")

    /// Per day and service: the groups' reason counts added up, and the ended calls left over.
    static let endReasonTotals =
        endReasons.map { "coalesce(sum(\($0.1)), 0) AS \($0.1)," }.joined(separator: " ")
        + " coalesce(sum(n - \(endReasons.map(\.1).joined(separator: " - "))) FILTER (WHERE event = 'call_ended'), 0)"
        + " AS ended_other,"

    /// A JSON text that PostgreSQL reads as a number (`double precision`).
    static let numeric = #"'^\s*[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$'"#

    /// Why an event of the window cannot be read, or NULL: a value the statements cast to a
    /// number that is not one. Cheap for the other events: each arm tests the event name first.
    static let malformed = """
        CASE WHEN e.event = 'sql_latency' AND e.props->>'ms' IS NOT NULL AND e.props->>'ms' !~ \(numeric)
             THEN 'props.ms is not a number'
             WHEN e.event = 'order_delivered' AND e.props->>'order_age_s' IS NOT NULL AND e.props->>'order_age_s' !~ \(numeric)
             THEN 'props.order_age_s is not a number'
             WHEN e.event = 'call_ended' AND e.props->>'duration_s' IS NOT NULL AND e.props->>'duration_s' !~ \(numeric)
             THEN 'props.duration_s is not a number' END
        """

    /// Sets the window's unreadable events aside (`$4` the run id); returns how many are in
    /// quarantine for the window, new or from an earlier run.
    static let quarantine = """
        WITH found AS (
          SELECT e.id, e.occurred_at, e.event, \(malformed) AS reason
            FROM public.events_raw e
           WHERE \(inWindow("e.occurred_at")) AND e.event IN ('sql_latency', 'order_delivered', 'call_ended')
        ), added AS (
          INSERT INTO public.metrics_quarantine (event_id, occurred_at, event, reason, run_id)
          SELECT id, occurred_at, event, reason, $4 FROM found WHERE reason IS NOT NULL
          ON CONFLICT (event_id) DO NOTHING RETURNING 1
        )
        SELECT (SELECT count(*) FROM found WHERE reason IS NOT NULL)::bigint AS quarantined,
               (SELECT count(*) FROM added)::bigint AS newly
        """

    static let orderEvents =
        "('order_created', 'order_assigned', 'order_delivered', 'order_rejected', 'order_cancelled', 'order_regenerated')"

    /// `events_raw` into three tables: orders per service, and calls and platform figures per
    /// day. Each day's events are read once, by a range scan of the time index between its own
    /// local midnights (`win`, one `LATERAL` subquery per day; `MetricsStep.indexScansOff` has it done as a
    /// bitmap heap scan), so every row comes with its day, nothing is converted per row, and
    /// every hash table and sort holds one day. That one read is
    /// hash-aggregated on the raw (service, event), the only keys whose statistics let the planner
    /// see how few groups there are, and on its way it collects what the counts cannot hold: the
    /// delivered orders' ages, the ended calls' `props`, the SQL latencies and the client actors,
    /// as arrays. Every `FILTER` is evaluated on every row, so the rare events are collected
    /// whole by one filter each and counted by reason, summed and averaged afterwards, from their
    /// arrays: six filters fewer per row took a tenth off the statement (docs/performance.md).
    /// The day's percentiles and its distinct clients (compared bytewise, `COLLATE "C"`: the same
    /// equality as the database's deterministic collation without its slower ordering) are then
    /// taken from those arrays, and a day's rows leave its subquery as `part` 0 (counts per
    /// service and event), 1 (delivery percentiles per service) and 2 (the day's figures).
    /// Grouping on `coalesce`d keys or an end-reason expression made the planner expect a group
    /// per row and sort instead; three narrow reads of each day took 1.5 times as long
    /// (docs/performance.md).
    static let events = """
        WITH days AS (\(days)),
        win AS (SELECT day, day::timestamp AT TIME ZONE $3 AS lo, (day + 1)::timestamp AT TIME ZONE $3 AS hi FROM days),
        day_rows AS (
          SELECT w.day, r.* FROM win w CROSS JOIN LATERAL (
            WITH g AS (
              SELECT e.service_code, e.event, count(*) AS n,
                     array_agg(e.props) FILTER (WHERE e.event = 'call_ended') AS calls,
                     array_agg((e.props->>'ms')::double precision) FILTER (WHERE e.event = 'sql_latency') AS ms,
                     array_agg((e.props->>'order_age_s')::double precision) FILTER (WHERE e.event = 'order_delivered') AS ages,
                     array_agg(e.actor_hash) FILTER (WHERE e.actor_role = 'client' AND e.actor_hash IS NOT NULL) AS clients
                FROM public.events_raw e
               WHERE e.occurred_at >= w.lo AND e.occurred_at < w.hi AND (\(malformed)) IS NULL
                 AND e.id NOT IN (SELECT d.id FROM public.metrics_event_duplicates d WHERE \(inWindow("d.occurred_at")))
               GROUP BY e.service_code, e.event
            ),
            -- One sort per service for both percentiles; a NULL service joins 'unknown'.
            delivery AS (
              SELECT s.service_code,
                     (SELECT percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY a)
                        FROM g, unnest(g.ages) a WHERE coalesce(g.service_code, 'unknown') = s.service_code) AS p
                FROM (SELECT DISTINCT coalesce(g.service_code, 'unknown') AS service_code FROM g WHERE g.ages IS NOT NULL) s
            ),
            durations AS (SELECT (c->>'duration_s')::double precision AS x FROM g, unnest(g.calls) c)
            SELECT 0 AS part, coalesce(g.service_code, 'unknown') AS service_code, g.event, g.n,
                   r.ended_completed, r.dropped_by_monitor, r.dropped_by_reader, r.dropped_by_client, r.ended_failed,
                   m.ms_sum, m.ms_count, NULL::double precision[] AS delivery_p, NULL::double precision AS duration_avg_s,
                   NULL::double precision AS duration_p95_s, NULL::bigint AS clients
              FROM g
              CROSS JOIN LATERAL (SELECT \(endReasonCounts) FROM unnest(g.calls) c) r
              CROSS JOIN LATERAL (SELECT sum(x) AS ms_sum, count(x) AS ms_count FROM unnest(g.ms) x) m
            UNION ALL
            SELECT 1, d.service_code, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, d.p, NULL, NULL, NULL FROM delivery d
            UNION ALL
            SELECT 2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                   (SELECT avg(x) FROM durations),
                   (SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY x) FROM durations),
                   (SELECT count(DISTINCT c COLLATE "C") FROM g, unnest(g.clients) c)) r
        ),
        counts AS (
          SELECT day, service_code,
                 coalesce(sum(n) FILTER (WHERE event IN \(orderEvents)), 0) AS order_events,
                 coalesce(sum(n) FILTER (WHERE event = 'order_created'), 0) AS orders_created,
                 coalesce(sum(n) FILTER (WHERE event = 'order_assigned'), 0) AS orders_assigned,
                 coalesce(sum(n) FILTER (WHERE event = 'order_delivered'), 0) AS orders_delivered,
                 coalesce(sum(n) FILTER (WHERE event = 'order_rejected'), 0) AS orders_rejected,
                 coalesce(sum(n) FILTER (WHERE event = 'order_cancelled'), 0) AS orders_cancelled,
                 coalesce(sum(n) FILTER (WHERE event = 'order_regenerated'), 0) AS regenerations,
                 coalesce(sum(n) FILTER (WHERE event = 'call_started'), 0) AS calls_started,
                 coalesce(sum(n) FILTER (WHERE event = 'call_ended'), 0) AS calls_ended,
                 \(endReasonTotals)
                 coalesce(sum(n) FILTER (WHERE event = 'rate_limit_hit'), 0) AS rate_limit_hits,
                 coalesce(sum(n) FILTER (WHERE event = 'sql_latency'), 0) AS sql_latency_samples,
                 sum(ms_sum) AS ms_sum, sum(ms_count) AS ms_count
            FROM day_rows WHERE part = 0 GROUP BY day, service_code
        ),
        delivery AS (SELECT day, service_code, delivery_p[1] AS p50, delivery_p[2] AS p95 FROM day_rows WHERE part = 1),
        figures AS (SELECT day, duration_avg_s, duration_p95_s, clients FROM day_rows WHERE part = 2),
        per_day AS (
          SELECT day, sum(calls_started) AS calls_started, sum(calls_ended) AS calls_ended,
                 sum(ended_completed) AS ended_completed, sum(dropped_by_monitor) AS dropped_by_monitor,
                 sum(dropped_by_reader) AS dropped_by_reader, sum(dropped_by_client) AS dropped_by_client,
                 sum(ended_failed) AS ended_failed, sum(ended_other) AS ended_other,
                 sum(rate_limit_hits) AS rate_limit_hits, sum(sql_latency_samples) AS sql_latency_samples,
                 sum(ms_sum) / nullif(sum(ms_count), 0) AS avg_sql_latency_ms
            FROM counts GROUP BY day
        ),
        ev AS (
          SELECT c.day, c.service_code, c.order_events, c.orders_created, c.orders_assigned,
                 c.orders_delivered, c.orders_rejected, c.orders_cancelled, c.regenerations,
                 d.p50 AS delivery_p50_s, d.p95 AS delivery_p95_s
            FROM counts c LEFT JOIN delivery d ON d.day = c.day AND d.service_code = c.service_code
        ),
        whole AS (
          SELECT p.day, p.calls_started, p.calls_ended, p.ended_completed, p.dropped_by_monitor, p.dropped_by_reader,
                 p.dropped_by_client, p.ended_failed, p.ended_other, f.duration_avg_s, f.duration_p95_s,
                 p.rate_limit_hits, p.sql_latency_samples, p.avg_sql_latency_ms,
                 coalesce(f.clients, 0) AS daily_active_clients
            FROM per_day p LEFT JOIN figures f ON f.day = p.day
        ),
        keys AS (
          SELECT d.day, s.code AS service_code FROM days d CROSS JOIN public.services s
          UNION SELECT day, service_code FROM ev WHERE order_events > 0
        ),
        ins_orders AS (
          INSERT INTO public.metrics_daily_orders (day, service_code, orders_created, orders_assigned, orders_delivered,
                 orders_rejected, orders_cancelled, regenerations, delivery_p50_s, delivery_p95_s)
          SELECT s.day, s.service_code, coalesce(v.orders_created, 0), coalesce(v.orders_assigned, 0),
                 coalesce(v.orders_delivered, 0), coalesce(v.orders_rejected, 0), coalesce(v.orders_cancelled, 0),
                 coalesce(v.regenerations, 0), v.delivery_p50_s, v.delivery_p95_s
            FROM keys s
            LEFT JOIN ev v ON v.day = s.day AND v.service_code = s.service_code
          RETURNING 1
        ),
        ins_calls AS (
          INSERT INTO public.metrics_daily_calls (day, calls_started, calls_ended, ended_completed, dropped_by_monitor,
                 dropped_by_reader, dropped_by_client, ended_failed, ended_other, duration_avg_s, duration_p95_s)
          SELECT d.day, coalesce(v.calls_started, 0), coalesce(v.calls_ended, 0), coalesce(v.ended_completed, 0),
                 coalesce(v.dropped_by_monitor, 0), coalesce(v.dropped_by_reader, 0), coalesce(v.dropped_by_client, 0),
                 coalesce(v.ended_failed, 0), coalesce(v.ended_other, 0), v.duration_avg_s, v.duration_p95_s
            FROM days d LEFT JOIN whole v ON v.day = d.day
          RETURNING 1
        ),
        ins_platform AS (
          INSERT INTO public.metrics_daily_platform (day, rate_limit_hits, sql_latency_samples, avg_sql_latency_ms,
                 daily_active_clients)
          SELECT d.day, coalesce(v.rate_limit_hits, 0), coalesce(v.sql_latency_samples, 0), v.avg_sql_latency_ms,
                 coalesce(v.daily_active_clients, 0)
            FROM days d LEFT JOIN whole v ON v.day = d.day
          RETURNING 1
        )
        SELECT (SELECT count(*) FROM ins_orders) AS orders, (SELECT count(*) FROM ins_calls) AS calls,
               (SELECT count(*) FROM ins_platform) AS platform,
               -- What the scan read, before any join to days or keys, for the totals check.
               (SELECT coalesce(sum(order_events), 0)::bigint FROM counts) AS source_orders,
               (SELECT coalesce(sum(calls_started + calls_ended), 0)::bigint FROM counts) AS source_calls,
               (SELECT coalesce(sum(rate_limit_hits + sql_latency_samples), 0)::bigint FROM counts) AS source_platform
        """

    /// Two passes over `payment_intents` and one over `refunds` (succeeded ones). Attempts count
    /// on their creation day (`metrics_daily_payments`: how the day's attempts fared); revenue on
    /// the payment's success day, its `updated_at` once succeeded (`metrics_daily_revenue`: the
    /// money that came in that day, the day invoicing and reconciliation give the payment). A
    /// payment is a first attempt when its order has no earlier intent. Returns, beside the rows
    /// written, what it read (`source_*`) for the totals check.
    static let payments = """
        WITH days AS (\(days)),
        pi AS MATERIALIZED (
          SELECT \(localDay("p.created_at")) AS day, p.currency::text AS currency, p.status,
                 NOT EXISTS (SELECT 1 FROM public.payment_intents x
                              WHERE x.order_id = p.order_id AND (x.created_at, x.id) < (p.created_at, p.id)) AS first_attempt
            FROM public.payment_intents p
           WHERE \(inWindow("p.created_at"))
        ),
        paid AS MATERIALIZED (
          SELECT \(localDay("p.updated_at")) AS day, p.currency::text AS currency, count(*) AS n,
                 sum(p.amount_cents) AS gross
            FROM public.payment_intents p
           WHERE p.status = 'succeeded' AND \(inWindow("p.updated_at"))
           GROUP BY 1, 2
        ),
        rf AS MATERIALIZED (
          SELECT \(localDay("r.created_at")) AS day, r.currency::text AS currency, count(*) AS n,
                 sum(r.amount_cents) AS amount
            FROM public.refunds r
           WHERE r.status = 'succeeded' AND \(inWindow("r.created_at"))
           GROUP BY 1, 2
        ),
        pay AS (
          SELECT day, count(*) AS attempted, count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
                 count(*) FILTER (WHERE status = 'failed') AS failed, count(*) FILTER (WHERE first_attempt) AS first_attempts,
                 count(*) FILTER (WHERE first_attempt AND status = 'succeeded') AS first_ok
            FROM pi GROUP BY day
        ),
        rf_day AS (SELECT day, sum(n) AS n FROM rf GROUP BY day),
        keys AS (SELECT day, currency FROM pi UNION SELECT day, currency FROM paid UNION SELECT day, currency FROM rf),
        ins_payments AS (
          INSERT INTO public.metrics_daily_payments (day, payments_attempted, payments_succeeded, payments_failed,
                 first_attempts, first_attempts_succeeded, first_pass_success_rate, refunds_succeeded, refund_rate)
          SELECT d.day, coalesce(p.attempted, 0), coalesce(p.succeeded, 0), coalesce(p.failed, 0),
                 coalesce(p.first_attempts, 0), coalesce(p.first_ok, 0),
                 CASE WHEN p.first_attempts > 0 THEN p.first_ok::double precision / p.first_attempts END,
                 coalesce(r.n, 0),
                 CASE WHEN p.succeeded > 0 THEN coalesce(r.n, 0)::double precision / p.succeeded END
            FROM days d LEFT JOIN pay p ON p.day = d.day LEFT JOIN rf_day r ON r.day = d.day
          RETURNING 1
        ),
        ins_revenue AS (
          INSERT INTO public.metrics_daily_revenue (day, currency, payments_succeeded, gross_minor, refunds_succeeded,
                 refunded_minor, reporting_currency, fx_rate, fx_rate_date, gross_reporting_minor, refunded_reporting_minor)
          SELECT k.day, k.currency, coalesce(v.n, 0), coalesce(v.gross, 0), coalesce(r.n, 0), coalesce(r.amount, 0),
                 $4::text, fx.rate, fx.rate_date,
                 round(coalesce(v.gross, 0) * fx.rate * fx.scale)::bigint, round(coalesce(r.amount, 0) * fx.rate * fx.scale)::bigint
            FROM keys k
            LEFT JOIN paid v ON v.day = k.day AND v.currency = k.currency
            LEFT JOIN rf r ON r.day = k.day AND r.currency = k.currency
            LEFT JOIN LATERAL (\(reportingRate)) fx ON true
          RETURNING 1
        )
        SELECT (SELECT count(*) FROM ins_payments) AS payments, (SELECT count(*) FROM ins_revenue) AS revenue,
               -- What was read, for the totals check.
               (SELECT count(*) FROM pi)::bigint AS source_payments,
               (SELECT coalesce(sum(gross), 0) FROM paid)::bigint AS source_gross,
               (SELECT coalesce(sum(amount), 0) FROM rf)::bigint AS source_refunded
        """

    /// ISO 4217 exponents as JSON (`{"USD": 2, …}`), so that minor units convert exactly.
    static let exponents: String = {
        let pairs = Currency.exponents.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \($0.value)" }
        return "{" + pairs.joined(separator: ", ") + "}"
    }()

    /// For revenue key `k`, the rate to the reporting currency `$4`: 1 for the reporting
    /// currency itself, else the newest rate in `fx_rates` on or up to `$5` days before the day;
    /// and the factor between the two currencies' minor units (`$6` the exponents). No row when
    /// no reporting currency is set or no rate is found; a scale of NULL for a currency this
    /// service does not know. Either leaves the figures NULL, which the revenue check refuses.
    static let reportingRate = """
        SELECT x.rate, x.rate_date,
               power(10::numeric, ($6::jsonb->>$4::text)::int - ($6::jsonb->>k.currency)::int) AS scale
          FROM (SELECT 1::numeric AS rate, k.day AS rate_date WHERE k.currency = $4::text
                UNION ALL
                (SELECT f.rate, f.rate_date FROM public.fx_rates f
                  WHERE f.reporting_currency = $4::text AND f.currency = k.currency
                    AND f.rate_date <= k.day AND f.rate_date > k.day - $5::int
                  ORDER BY f.rate_date DESC LIMIT 1)
                LIMIT 1) x
        """

    /// How far before a window the content statement looks for the orders its approvals approve,
    /// by their creation time. Only a hint for the plan: an approval whose order is older (or was
    /// not found there) looks its order up by primary key instead, so the figures never depend on it.
    static let approvedOrdersLookback = "7 days"

    /// One pass over `moderation_actions` (with each approval's order) and one over `notif_log`;
    /// returns what it read (`source_*`) beside the rows written.
    static let contentAndNotifications = """
        WITH days AS (\(days)),
        approvals AS MATERIALIZED (
          SELECT \(localDay("m.created_at")) AS day, m.action, m.created_at,
                 CASE WHEN m.action = 'approve' AND m.target_kind = 'order' AND m.target_id ~ '^[0-9]{1,18}$'
                      THEN m.target_id::bigint END AS order_id
            FROM public.moderation_actions m
           WHERE m.action IN ('approve', 'reject') AND \(inWindow("m.created_at"))
        ),
        -- The orders created in the window and the days before it, read as a range of the time
        -- index (orders are appended as they are placed) and hash-joined: an approval usually
        -- follows its order by hours or days. One primary-key probe per approval, or a hash of
        -- all of `orders`, each cost more (docs/performance.md). An approval of an older order
        -- still finds it by its key.
        recent AS (
          SELECT o.id, o.created_at FROM public.orders o
           WHERE o.created_at >= \(windowStart) - interval '\(approvedOrdersLookback)' AND o.created_at < \(windowEnd)
        ),
        acts AS MATERIALIZED (
          SELECT a.day, a.action,
                 extract(epoch FROM a.created_at - coalesce(r.created_at,
                   CASE WHEN a.order_id IS NOT NULL
                        THEN (SELECT o.created_at FROM public.orders o WHERE o.id = a.order_id) END))::double precision
                   AS latency_s
            FROM approvals a LEFT JOIN recent r ON r.id = a.order_id
        ),
        mod AS (
          SELECT day, count(*) FILTER (WHERE action = 'approve') AS approvals,
                 count(*) FILTER (WHERE action = 'reject') AS rejections,
                 avg(latency_s) AS latency_avg,
                 percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_s) AS latency_p95
            FROM acts GROUP BY day
        ),
        nl AS (
          SELECT \(localDay("n.created_at")) AS day, n.channel,
                 count(*) FILTER (WHERE n.status = 'queued') AS queued,
                 count(*) FILTER (WHERE n.status = 'sent') AS sent,
                 count(*) FILTER (WHERE n.status = 'failed') AS failed, count(*) AS total
            FROM public.notif_log n
           WHERE \(inWindow("n.created_at"))
           GROUP BY 1, 2
        ),
        keys AS (
          SELECT d.day, c.channel FROM days d CROSS JOIN unnest(ARRAY['email', 'sms', 'whatsapp']) AS c(channel)
          UNION SELECT day, channel FROM nl
        ),
        ins_content AS (
          INSERT INTO public.metrics_daily_content (day, approvals, rejections, approval_latency_avg_s, approval_latency_p95_s)
          SELECT d.day, coalesce(m.approvals, 0), coalesce(m.rejections, 0), m.latency_avg, m.latency_p95
            FROM days d LEFT JOIN mod m ON m.day = d.day
          RETURNING 1
        ),
        ins_notifications AS (
          INSERT INTO public.metrics_daily_notifications (day, channel, queued, sent, failed)
          SELECT k.day, k.channel, coalesce(n.queued, 0), coalesce(n.sent, 0), coalesce(n.failed, 0)
            FROM keys k LEFT JOIN nl n ON n.day = k.day AND n.channel = k.channel
          RETURNING 1
        )
        SELECT (SELECT count(*) FROM ins_content) AS content, (SELECT count(*) FROM ins_notifications) AS notifications,
               -- What was read, for the totals check.
               (SELECT count(*) FROM acts)::bigint AS source_moderation,
               (SELECT coalesce(sum(total), 0) FROM nl)::bigint AS source_notifications
        """
}
