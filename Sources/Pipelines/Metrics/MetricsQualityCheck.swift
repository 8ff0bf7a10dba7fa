/// A data-quality rule run after the day tables are written, inside the same transaction: any
/// row it returns is a violation, and the whole window is rolled back (the previous days stay).
///
/// Each query takes the job's parameters (`$1` first day, `$2` last day, `$3` time zone) and
/// returns one text column describing each violation, with no personal data in it.
struct MetricsQualityCheck: Sendable {
    let name: String
    let table: String
    let sql: String

    static let all: [MetricsQualityCheck] = shape + nonNegative + totals

    /// The three tables fed by `events_raw` against the event counts of the scan that fed them
    /// (`$4` order events, `$5` call events, `$6` rate-limit and latency events): rows lost or
    /// doubled between reading and writing show up here, without a second scan of the largest
    /// table. That the scan reads exactly the window's events is what the tests check.
    static let eventTotals = MetricsQualityCheck(
        name: "totals equal the events read", table: "metrics_daily_orders, _calls, _platform",
        sql: """
            WITH dst AS (
              SELECT (SELECT coalesce(sum(orders_created + orders_assigned + orders_delivered + orders_rejected
                                          + orders_cancelled + regenerations), 0)
                        FROM public.metrics_daily_orders WHERE day BETWEEN $1::date AND $2::date) AS orders,
                     (SELECT coalesce(sum(calls_started + calls_ended), 0)
                        FROM public.metrics_daily_calls WHERE day BETWEEN $1::date AND $2::date) AS calls,
                     (SELECT coalesce(sum(rate_limit_hits + sql_latency_samples), 0)
                        FROM public.metrics_daily_platform WHERE day BETWEEN $1::date AND $2::date) AS platform
            )
            SELECT kpi || ': window total ' || got || ' but ' || want || ' events were read'
              FROM dst, LATERAL (VALUES ('orders', dst.orders, $4::bigint), ('calls', dst.calls, $5::bigint),
                                        ('rate limits and latency samples', dst.platform, $6::bigint)) v(kpi, got, want)
             WHERE got <> want AND $3::text IS NOT NULL
            """)

    /// Every day has its rows, and a key appears once per day.
    private static let shape: [MetricsQualityCheck] = [
        ("metrics_daily_orders", "service_code", 1), ("metrics_daily_payments", "day", 1),
        ("metrics_daily_revenue", "currency", 0), ("metrics_daily_calls", "day", 1),
        ("metrics_daily_content", "day", 1), ("metrics_daily_notifications", "channel", 3),
        ("metrics_daily_platform", "day", 1),
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
        ("metrics_daily_revenue", ["payments_succeeded", "gross_minor", "refunds_succeeded", "refunded_minor"]),
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
    ].map { table, columns in
        let values = columns.map { "('\($0)', \($0)::double precision)" }.joined(separator: ", ")
        return MetricsQualityCheck(
            name: "no negative values", table: table,
            sql: """
                SELECT t.day::text || ': ' || v.col || ' = ' || v.val
                  FROM public.\(table) t, LATERAL (VALUES \(values)) v(col, val)
                 WHERE t.day BETWEEN $1::date AND $2::date AND $3::text IS NOT NULL AND v.val < 0
                """)
    }

    /// The window's totals equal a fresh count of the source (catches lost or doubled rows).
    private static let totals: [MetricsQualityCheck] = [
        (
            "metrics_daily_payments", "payments_attempted",
            "SELECT count(*) FROM public.payment_intents p WHERE \(MetricsSQL.inWindow("p.created_at"))"
        ),
        (
            "metrics_daily_revenue", "gross_minor",
            "SELECT coalesce(sum(p.amount_cents), 0) FROM public.payment_intents p WHERE p.status = 'succeeded' AND \(MetricsSQL.inWindow("p.created_at"))"
        ),
        (
            "metrics_daily_revenue", "refunded_minor",
            "SELECT coalesce(sum(r.amount_cents), 0) FROM public.refunds r WHERE r.status = 'succeeded' AND \(MetricsSQL.inWindow("r.created_at"))"
        ),
        (
            "metrics_daily_content", "approvals + rejections",
            "SELECT count(*) FROM public.moderation_actions m WHERE m.action IN ('approve', 'reject') AND \(MetricsSQL.inWindow("m.created_at"))"
        ),
        (
            "metrics_daily_notifications", "queued + sent + failed",
            "SELECT count(*) FROM public.notif_log n WHERE \(MetricsSQL.inWindow("n.created_at"))"
        ),
    ].map { table, expression, source in
        MetricsQualityCheck(
            name: "total of \(expression) equals the source", table: table,
            sql: """
                SELECT 'window total ' || a.total || ' but the source has ' || s.total
                  FROM (SELECT coalesce(sum(\(expression)), 0)::numeric AS total FROM public.\(table)
                         WHERE day BETWEEN $1::date AND $2::date) a,
                       (SELECT (\(source))::numeric AS total) s
                 WHERE a.total <> s.total
                """)
    }
}
