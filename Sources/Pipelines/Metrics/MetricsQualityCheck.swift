import Postgres

/// A data-quality rule run after the day tables are written, inside the same transaction: any
/// row it returns is a violation, and the whole window is rolled back (the previous days stay).
///
/// Each query takes the job's parameters (`$1` first day, `$2` last day, `$3` time zone) and
/// returns one text column describing each violation, with no personal data in it.
struct MetricsQualityCheck: Sendable {
    let name: String
    let table: String
    let sql: String

    static let all: [MetricsQualityCheck] = shape + nonNegative + [reportingRates]

    /// With a reporting currency set, every revenue row is converted: a currency without a rate
    /// recent enough, or one this service does not know, fails the run rather than leave the
    /// reporting total short of it.
    static let reportingRates = MetricsQualityCheck(
        name: "revenue converted to the reporting currency", table: "metrics_daily_revenue",
        sql: """
            SELECT t.day::text || ': ' || t.currency || CASE
                     WHEN t.fx_rate IS NULL THEN ' has no rate to ' || t.reporting_currency
                       || ' in fx_rates on that day or in the METRICS_FX_MAX_AGE_DAYS before it'
                     ELSE ' is not a currency this service knows the minor units of' END
              FROM public.metrics_daily_revenue t
             WHERE t.day BETWEEN $1::date AND $2::date AND $3::text IS NOT NULL AND t.reporting_currency IS NOT NULL
               AND (t.fx_rate IS NULL OR t.gross_reporting_minor IS NULL OR t.refunded_reporting_minor IS NULL)
            """)

    /// What each statement read, in the order of `readTotals`' parameters `$4`…: the source
    /// statements return these as `source_*` columns.
    static let readTotalNames = [
        "source_orders", "source_calls", "source_platform", "source_payments", "source_gross", "source_refunded",
        "source_moderation", "source_notifications", "source_customer_days", "source_bookings",
    ]

    /// The window's totals in the tables against what the statements that wrote them read from
    /// their sources (`$4`… in the order of `readTotalNames`): order, call, rate-limit and latency
    /// events, payment attempts, gross and refunded minor units, moderation actions, and
    /// notifications (of any status, so a status the KPIs do not count shows up). Rows lost or
    /// doubled between reading and writing, or put on a day outside the window, show up here
    /// without a second read of any source; each statement reads its window with the same filter
    /// a fresh count would use. Fresh counts of the five smaller sources took 1.7 s of a 60-day
    /// backfill's 26 s of statements (docs/performance.md). A NULL total is not checked: a unit of
    /// work that wrote some of the tables checks only theirs.
    static let readTotals = MetricsQualityCheck(
        name: "totals equal the rows read", table: "metrics_daily_*",
        sql: """
            WITH dst AS (
              SELECT (SELECT coalesce(sum(orders_created + orders_assigned + orders_delivered + orders_rejected
                                          + orders_cancelled + regenerations), 0)
                        FROM public.metrics_daily_orders WHERE day BETWEEN $1::date AND $2::date) AS orders,
                     (SELECT coalesce(sum(calls_started + calls_ended), 0)
                        FROM public.metrics_daily_calls WHERE day BETWEEN $1::date AND $2::date) AS calls,
                     (SELECT coalesce(sum(rate_limit_hits + sql_latency_samples), 0)
                        FROM public.metrics_daily_platform WHERE day BETWEEN $1::date AND $2::date) AS platform,
                     (SELECT coalesce(sum(payments_attempted), 0)
                        FROM public.metrics_daily_payments WHERE day BETWEEN $1::date AND $2::date) AS payments,
                     (SELECT coalesce(sum(gross_minor), 0)
                        FROM public.metrics_daily_revenue WHERE day BETWEEN $1::date AND $2::date) AS gross,
                     (SELECT coalesce(sum(refunded_minor), 0)
                        FROM public.metrics_daily_revenue WHERE day BETWEEN $1::date AND $2::date) AS refunded,
                     (SELECT coalesce(sum(approvals + rejections), 0)
                        FROM public.metrics_daily_content WHERE day BETWEEN $1::date AND $2::date) AS moderation,
                     (SELECT coalesce(sum(queued + sent + failed), 0)
                        FROM public.metrics_daily_notifications WHERE day BETWEEN $1::date AND $2::date) AS notifications,
                     (SELECT coalesce(sum(active_customers), 0)
                        FROM public.metrics_daily_engagement WHERE day BETWEEN $1::date AND $2::date) AS customer_days,
                     (SELECT coalesce(sum(bookings), 0)
                        FROM public.metrics_daily_readers WHERE day BETWEEN $1::date AND $2::date) AS bookings
            )
            SELECT v.tbl || ': ' || v.kpi || ': window total ' || v.got || ' but ' || v.want || ' were read'
              FROM dst, LATERAL (VALUES
                ('metrics_daily_orders', 'order events', dst.orders, $4::bigint),
                ('metrics_daily_calls', 'call events', dst.calls, $5::bigint),
                ('metrics_daily_platform', 'rate-limit and latency events', dst.platform, $6::bigint),
                ('metrics_daily_payments', 'payment attempts', dst.payments, $7::bigint),
                ('metrics_daily_revenue', 'gross minor units', dst.gross, $8::bigint),
                ('metrics_daily_revenue', 'refunded minor units', dst.refunded, $9::bigint),
                ('metrics_daily_content', 'moderation actions', dst.moderation, $10::bigint),
                ('metrics_daily_notifications', 'notifications', dst.notifications, $11::bigint),
                ('metrics_daily_engagement', 'customers active per day', dst.customer_days, $12::bigint),
                ('metrics_daily_readers', 'bookings', dst.bookings, $13::bigint)) v(tbl, kpi, got, want)
             WHERE v.got <> v.want AND $3::text IS NOT NULL
            """)

    /// Every day has its rows, and a key appears once per day.
    private static let shape: [MetricsQualityCheck] = [
        ("metrics_daily_orders", "service_code", 1), ("metrics_daily_payments", "day", 1),
        ("metrics_daily_revenue", "currency", 0), ("metrics_daily_calls", "day", 1),
        ("metrics_daily_content", "day", 1), ("metrics_daily_notifications", "channel", 3),
        ("metrics_daily_platform", "day", 1), ("metrics_daily_engagement", "day", 1),
        ("metrics_daily_readers", "day", 1),
        ("metrics_daily_incidents", "day", 1),
    ].map { table, key, minimum in
        MetricsQualityCheck(
            name: "one row per day and key", table: table,
            sql: """
                SELECT d.day::text || ': ' || coalesce(c.n, 0) || ' row(s), ' || coalesce(c.keys, 0) || ' distinct key(s)'
                  FROM (\(MetricsSQL.days)) d
                  LEFT JOIN (SELECT day, count(*) AS n, count(DISTINCT \(key)) AS keys FROM public.\(table)
                              WHERE day BETWEEN $1::date AND $2::date AND $3::text IS NOT NULL GROUP BY day) c
                    ON c.day = d.day
                 WHERE coalesce(c.n, 0) < \(minimum) OR c.n <> c.keys
                """)
    }

    /// Counts, amounts, durations and rates are never negative.
    private static let nonNegative: [MetricsQualityCheck] = [
        (
            "metrics_daily_orders",
            [
                "orders_created", "orders_assigned", "orders_delivered", "orders_rejected", "orders_cancelled",
                "regenerations", "delivery_p50_s", "delivery_p95_s",
            ]
        ),
        (
            "metrics_daily_payments",
            [
                "payments_attempted", "payments_succeeded", "payments_failed", "first_attempts",
                "first_attempts_succeeded", "first_pass_success_rate", "refunds_succeeded", "refund_rate",
            ]
        ),
        (
            "metrics_daily_revenue",
            [
                "payments_succeeded", "gross_minor", "refunds_succeeded", "refunded_minor", "gross_reporting_minor",
                "refunded_reporting_minor",
            ]
        ),
        (
            "metrics_daily_calls",
            [
                "calls_started", "calls_ended", "ended_completed", "dropped_by_monitor", "dropped_by_reader",
                "dropped_by_client", "ended_failed", "ended_other", "duration_avg_s", "duration_p95_s",
            ]
        ),
        ("metrics_daily_content", ["approvals", "rejections", "approval_latency_avg_s", "approval_latency_p95_s"]),
        ("metrics_daily_notifications", ["queued", "sent", "failed"]),
        (
            "metrics_daily_platform",
            ["rate_limit_hits", "sql_latency_samples", "avg_sql_latency_ms", "daily_active_clients"]
        ),
        ("metrics_daily_engagement", ["active_customers", "new_customers", "returning_customers"]),
        (
            "metrics_daily_readers",
            [
                "bookings", "readers_booked", "double_bookings", "double_booking_rate", "calls", "readers_on_calls",
                "call_seconds", "call_utilisation",
            ]
        ),
        (
            "metrics_daily_incidents",
            ["incidents_opened", "incidents_resolved", "open_at_end", "mttr_avg_s", "mttr_max_s"]
        ),
    ].map { table, columns in
        let values = columns.map { "(\(SQLIdentifier.literal($0)), \($0)::double precision)" }.joined(separator: ", ")
        return MetricsQualityCheck(
            name: "no negative values", table: table,
            sql: """
                SELECT t.day::text || ': ' || v.col || ' = ' || v.val
                  FROM public.\(table) t, LATERAL (VALUES \(values)) v(col, val)
                 WHERE t.day BETWEEN $1::date AND $2::date AND $3::text IS NOT NULL AND v.val < 0
                """)
    }
}
