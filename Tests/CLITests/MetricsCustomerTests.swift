import Foundation
import Postgres
import TestSupport
import Testing

/// Engagement and readers' KPIs through the real binary, on a small set of orders, bookings and
/// calls whose every figure is worked out by hand below (Asia/Beirut, UTC+2 in November 2026).
@Suite("Metrics: customers and readers", .serialized)
struct MetricsCustomerTests {
    let config: ConnectionConfiguration
    let env = ["METRICS_RAW_RETENTION_DAYS": "36500", "SAMIA_LOG_FORMAT": "json"]

    init() throws {
        config = try TestCluster.shared().freshDatabase()
        _ = try psql(
            """
            INSERT INTO services (code, name, base_price) VALUES ('tarot', 'Tarot', 25.00), ('direct_call', 'Call', 60.00);
            INSERT INTO profiles (id, email) SELECT ('00000000-0000-0000-0000-0000000000' || k)::uuid, k || '@example.com'
              FROM unnest(ARRAY['c1', 'c2', 'c3', 'a1', 'a2']) k;
            -- Customers: c1 ordered on the 10th, then on the 20th (returning); c2 twice on the 20th
            -- (new, counted once) and on the 21st (returning); c3 at 00:30 on the 21st in Beirut
            -- (the 20th in UTC: new on the 21st).
            INSERT INTO orders (user_id, service_id, status, created_at)
            SELECT ('00000000-0000-0000-0000-0000000000' || o.who)::uuid, (SELECT id FROM services WHERE code = 'tarot'),
                   'delivered', o.at::timestamptz
              FROM (VALUES ('c1', '2026-11-10 09:00Z'), ('c1', '2026-11-20 10:00Z'), ('c2', '2026-11-20 08:00Z'),
                           ('c2', '2026-11-20 09:00Z'), ('c3', '2026-11-20 22:30Z'), ('c2', '2026-11-21 08:00Z')) o(who, at);
            """)
        // Bookings (orders with a reader and a time), created long before so that they do not
        // count as customers' activity in the window.
        _ = try psql(
            """
            INSERT INTO orders (user_id, service_id, status, assigned_reader, scheduled_at, created_at)
            SELECT '00000000-0000-0000-0000-0000000000c1', (SELECT id FROM services WHERE code = 'direct_call'),
                   b.status::order_status, ('00000000-0000-0000-0000-0000000000' || b.reader)::uuid, b.at::timestamptz,
                   '2026-10-01 09:00Z'
              FROM (VALUES ('a1', '2026-11-20 10:00Z', 'assigned'), ('a1', '2026-11-20 10:20Z', 'assigned'),
                           ('a1', '2026-11-20 12:00Z', 'delivered'), ('a2', '2026-11-20 10:10Z', 'delivered'),
                           ('a2', '2026-11-20 10:15Z', 'cancelled'),
                           ('a1', '2026-11-20 21:50Z', 'assigned'), ('a1', '2026-11-20 22:10Z', 'assigned'),
                           ('a2', '2026-11-21 21:55Z', 'assigned'), ('a2', '2026-11-21 22:05Z', 'assigned')) b(reader, at, status);
            INSERT INTO calls (order_id, started_at, ended_at, end_reason)
            SELECT o.id, o.scheduled_at, o.scheduled_at + c.length, 'completed'
              FROM orders o JOIN (VALUES ('2026-11-20 10:00Z'::timestamptz, interval '30 minutes'),
                                         ('2026-11-20 10:10Z'::timestamptz, interval '15 minutes')) c(at, length)
                ON o.scheduled_at = c.at AND o.status <> 'cancelled';
            -- A call still going on has no length yet.
            INSERT INTO calls (order_id, started_at) SELECT id, scheduled_at FROM orders WHERE scheduled_at = '2026-11-20 12:00Z';
            -- As the platform writes them: an order last changed when it was placed (or, for a
            -- booking, when its status was last set, at its time).
            UPDATE orders SET updated_at = greatest(created_at, coalesce(scheduled_at, created_at));
            """)
    }

    func psql(_ sql: String) throws -> String { try SQL.psql(config.conninfo, sql) }

    @Test func engagementAndBookingsMatchTheHandComputedValues() throws {
        let r = try CLI.run(
            ["metrics", "--date", "2026-11-21", "--timezone", "Asia/Beirut"], database: config, env: env)
        #expect(r.status == 0, "\(r.stderr)")
        // 20th: c1 (returning) and c2 (new); 21st: c3 (new) and c2 (returning).
        #expect(
            try psql(
                "SELECT day, active_customers, new_customers, returning_customers FROM metrics_daily_engagement ORDER BY 1"
            )
                == "2026-11-19|0|0|0\n2026-11-20|2|1|1\n2026-11-21|2|1|1")
        // 20th (local): a1 at 12:00, 12:20, 14:00, 23:50 and a2 at 12:10 (its 12:15 is cancelled):
        // 12:00 and 12:20 are 20 minutes apart, 23:50 and the 21st's 00:10 too → 3 of 5 doubled.
        // 21st: a1's 00:10, and a2's 23:55, doubled by its 00:05 on the 22nd, past the window.
        // Calls on the 20th: a1 30 min and a2 15 min, the open one not counted: 2,700 s over two
        // readers' 8-hour days = 0.046875.
        #expect(
            try psql(
                "SELECT day, bookings, readers_booked, double_bookings, double_booking_rate, calls, readers_on_calls, call_seconds, call_utilisation FROM metrics_daily_readers ORDER BY 1"
            )
                == """
                2026-11-19|0|0|0||0|0|0|
                2026-11-20|5|2|3|0.6|2|2|2700|0.046875
                2026-11-21|2|2|2|1|0|0|0|
                """)
        // Shorter bookings double fewer: at 15 minutes only the 20-minute gaps are clear of each
        // other, and the 10-minute one across the 21st/22nd still doubles. A 6-hour shift.
        let short = try CLI.run(
            ["metrics", "--date", "2026-11-21", "--timezone", "Asia/Beirut", "--force"], database: config,
            env: env.merging(["METRICS_BOOKING_MINUTES": "15", "METRICS_READER_SHIFT_HOURS": "6"]) { $1 })
        #expect(short.status == 0, "\(short.stderr)")
        #expect(
            try psql(
                "SELECT day, double_bookings, call_utilisation FROM metrics_daily_readers WHERE day > '2026-11-19' ORDER BY 1"
            )
                == "2026-11-20|0|0.0625\n2026-11-21|1|")
    }

    /// Cohorts by the local week of the first order, and their retention in later weeks. c1's
    /// first order is a booking of 1 October (week of 28 September); c4's first order is at
    /// 00:30 on Monday 16 November in Beirut (still Sunday in UTC); c2, c3 and c4 form the cohort
    /// of 16 November, and only c2 orders in the week after it.
    @Test func cohortsRetainByTheWeekOfTheFirstOrder() throws {
        _ = try psql(
            """
            INSERT INTO profiles (id, email) VALUES ('00000000-0000-0000-0000-0000000000c4', 'c4@example.com');
            INSERT INTO orders (user_id, service_id, status, created_at)
            SELECT o.who::uuid, (SELECT id FROM services WHERE code = 'tarot'), 'delivered', o.at::timestamptz
              FROM (VALUES ('00000000-0000-0000-0000-0000000000c4', '2026-11-15 22:30Z'),
                           ('00000000-0000-0000-0000-0000000000c2', '2026-11-24 08:00Z')) o(who, at);
            UPDATE orders SET updated_at = greatest(created_at, coalesce(scheduled_at, created_at));
            """)
        for day in ["2026-11-10", "2026-11-21", "2026-11-24"] {
            let r = try CLI.run(["metrics", "--date", day, "--timezone", "Asia/Beirut"], database: config, env: env)
            #expect(r.status == 0, "\(day): \(r.stderr)")
        }
        // Weeks of 9 Nov (c1, 6 weeks after its cohort), 16 Nov (c1 at 7 weeks; c2, c3, c4 at 0)
        // and 23 Nov (c2: 1 of 3).
        let retention = try psql(
            "SELECT cohort_week, weeks_since, cohort_customers, active_customers, round(retention_rate::numeric, 4) FROM metrics_weekly_retention ORDER BY 1, 2"
        )
        #expect(
            retention == """
                2026-09-28|6|1|1|1.0000
                2026-09-28|7|1|1|1.0000
                2026-11-16|0|3|3|1.0000
                2026-11-16|1|3|1|0.3333
                """, "\(retention)")
        // Every week a run touched is sized, and the cohort first met there (28 September) too.
        #expect(
            try psql("SELECT cohort_week, customers FROM metrics_weekly_cohorts ORDER BY 1")
                == "2026-09-28|1\n2026-11-02|0\n2026-11-09|0\n2026-11-16|3\n2026-11-23|0")
        // In UTC c4's first order is on Sunday the 15th: the cohort of 9 November.
        let utc = try CLI.run(
            ["metrics", "--backfill", "2026-11-15", "2026-11-24", "--timezone", "UTC", "--force"], database: config,
            env: env)
        #expect(utc.status == 0, "\(utc.stderr)")
        #expect(
            try psql(
                "SELECT cohort_week, weeks_since, active_customers FROM metrics_weekly_retention WHERE cohort_week >= '2026-11-09' ORDER BY 1, 2"
            ) == "2026-11-09|0|1\n2026-11-16|0|2\n2026-11-16|1|1")
    }

    /// Incidents from the run ledger: invoices fails twice on the 20th and recovers three hours
    /// after its first failure; reconcile fails at 23:00 on the 20th (Beirut) and recovers at
    /// 01:00 on the 22nd, 26 hours later. A failed dry run is no incident.
    @Test func incidentsAndTheirTimeToRecoverByDay() throws {
        _ = try psql(
            """
            INSERT INTO batch_runs (job, partition_key, status, dry_run, started_at, finished_at, host, version)
            SELECT r.job, '', r.status, r.dry, r.at::timestamptz - interval '1 minute', r.at::timestamptz, 'test', 'test'
              FROM (VALUES ('invoices', 'succeeded', false, '2026-11-20 06:00Z'), ('invoices', 'failed', false, '2026-11-20 08:00Z'),
                           ('invoices', 'failed', false, '2026-11-20 09:00Z'), ('invoices', 'succeeded', false, '2026-11-20 11:00Z'),
                           ('reconcile', 'aborted', false, '2026-11-20 21:00Z'), ('reconcile', 'succeeded', false, '2026-11-21 23:00Z'),
                           ('retention', 'failed', true, '2026-11-20 10:00Z')) r(job, status, dry, at)
            """)
        for day in ["2026-11-21", "2026-11-22"] {
            let r = try CLI.run(["metrics", "--date", day, "--timezone", "Asia/Beirut"], database: config, env: env)
            #expect(r.status == 0, "\(day): \(r.stderr)")
        }
        #expect(
            try psql(
                "SELECT day, incidents_opened, incidents_resolved, open_at_end, mttr_avg_s, mttr_max_s FROM metrics_daily_incidents ORDER BY 1"
            )
                == """
                2026-11-19|0|0|0||
                2026-11-20|2|1|1|10800|10800
                2026-11-21|0|0|1||
                2026-11-22|0|1|0|93600|93600
                """)
    }

    @Test func unusableSettingsAreRefused() throws {
        for (name, value) in [("METRICS_BOOKING_MINUTES", "0"), ("METRICS_READER_SHIFT_HOURS", "25")] {
            let r = try CLI.run(
                ["metrics", "--date", "2026-11-21"], database: config, env: env.merging([name: value]) { $1 })
            #expect(r.status == 78 && r.stderr.contains(name), "\(r.stderr)")
        }
        #expect(try psql("SELECT count(*) FROM metrics_daily_readers") == "0")
    }
}

extension MetricsCustomerTests {
    /// Issue 39, point 1: orders and calls were no late-data sources. An order recorded a week
    /// late for the 15th never reached the 15th's engagement; a booking of the 20th cancelled
    /// later, and a call of the 20th whose end was recorded later, never reached the 20th's
    /// readers' figures. Orders are a watermarked source now (by `updated_at`, on the day placed
    /// and the day booked), and calls, which have no change time, are compared day by day.
    @Test func lateOrdersBookingsAndCallsReachTheirDays() throws {
        let beirut = ["--timezone", "Asia/Beirut"]
        for day in ["2026-11-15", "2026-11-21"] {
            let first = try CLI.run(["metrics", "--date", day] + beirut, database: config, env: env)
            #expect(first.status == 0, "\(first.stderr)")
        }
        let engagement =
            "SELECT coalesce((SELECT active_customers || '/' || new_customers FROM metrics_daily_engagement WHERE day = '2026-11-15'), 'none')"
        let readers =
            "SELECT bookings || '/' || calls || '/' || round(call_seconds) FROM metrics_daily_readers WHERE day = '2026-11-20'"
        #expect(try psql(engagement) == "0/0")
        let before = try psql(readers)
        _ = try psql(
            """
            INSERT INTO orders (user_id, service_id, status, created_at, updated_at)
            VALUES ('00000000-0000-0000-0000-0000000000c3', (SELECT id FROM services WHERE code = 'tarot'), 'delivered',
                    '2026-11-15 10:00Z', now());
            UPDATE orders SET status = 'cancelled', updated_at = now() WHERE scheduled_at = '2026-11-20 10:20Z';
            UPDATE calls SET ended_at = started_at + interval '20 minutes' WHERE ended_at IS NULL;
            """)
        let night = try CLI.run(
            ["metrics", "--date", "2026-11-25", "--accept-drop"] + beirut, database: config, env: env)
        #expect(night.status == 0, "\(night.stderr)")
        #expect(night.stderr.contains("2026-11-15") && night.stderr.contains("2026-11-20"), "\(night.stderr)")
        #expect(try psql(engagement) == "1/1")
        let parts = before.split(separator: "/").compactMap { Int($0) }
        #expect(try psql(readers) == "\(parts[0] - 1)/\(parts[1] + 1)/\(parts[2] + 1200)", "before: \(before)")
    }
}
