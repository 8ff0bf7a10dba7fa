import Foundation
import Postgres
import TestSupport
import Testing

/// The metrics job as on-call runs it: the real binary against a real PostgreSQL, with a small
/// fixture whose every KPI is worked out by hand in the comments below.
@Suite("Metrics ETL", .serialized)
struct MetricsTests {
    let config: ConnectionConfiguration
    /// The fixture is dated November 2026; a long horizon keeps the tests independent of today.
    let env = ["METRICS_RAW_RETENTION_DAYS": "36500", "SAMIA_LOG_FORMAT": "json"]

    init() throws {
        config = try TestCluster.shared().freshDatabase()
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "Fixtures/metrics.sql"
        ).path
        let r = try Shell.run(
            "/usr/bin/psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", config.conninfo, "-f", fixture])
        #expect(r.status == 0, "\(r.stderr)")
    }

    func psql(_ sql: String) throws -> String { try SQL.psql(config.conninfo, sql) }

    func metrics(_ arguments: [String], extra: [String: String] = [:]) throws -> Shell.Result {
        try CLI.run(["metrics"] + arguments, database: config, env: env.merging(extra) { $1 })
    }

    /// A digest of every KPI table, to show that a run changed nothing.
    func digest() throws -> String {
        try [
            "metrics_daily_orders", "metrics_daily_payments", "metrics_daily_revenue", "metrics_daily_calls",
            "metrics_daily_content", "metrics_daily_notifications", "metrics_daily_platform",
            "metrics_daily_engagement", "metrics_daily_readers", "metrics_daily_incidents",
        ].map { try psql("SELECT md5(coalesce(string_agg(t::text, ';' ORDER BY t::text), '')) FROM public.\($0) t") }
            .joined(separator: ",")
    }

    @Test func beirutDayKPIsMatchTheHandComputedValues() throws {
        let r = try metrics(["--date", "2026-11-21", "--timezone", "Asia/Beirut"])
        #expect(r.status == 0, "\(r.stderr)")
        // Window 19–21 Nov. The 00:30-local order counts on the 20th; the 00:00-local one on the 21st.
        #expect(
            try psql(
                "SELECT day, service_code, orders_created, orders_delivered, regenerations, delivery_p50_s, delivery_p95_s FROM metrics_daily_orders ORDER BY 1, 2"
            )
                == """
                2026-11-19|coffee|0|0|0||
                2026-11-19|tarot|0|0|0||
                2026-11-20|coffee|0|0|1||
                2026-11-20|tarot|2|3|0|200|290
                2026-11-21|coffee|1|0|0||
                2026-11-21|tarot|0|0|0||
                """)
        // 20th: 4 attempts, 3 succeeded, 1 failed; first attempts are pi_m1 (failed), pi_m3 and pi_m4
        // (00:10 local) → 2/3; one refund against 3 successes → 1/3.
        #expect(
            try psql(
                "SELECT day, payments_attempted, payments_succeeded, payments_failed, first_attempts, first_attempts_succeeded, round(first_pass_success_rate::numeric, 4), refunds_succeeded, round(refund_rate::numeric, 4) FROM metrics_daily_payments ORDER BY 1"
            )
                == """
                2026-11-19|0|0|0|0|0||0|
                2026-11-20|4|3|1|3|2|0.6667|1|0.3333
                2026-11-21|0|0|0|0|0||0|
                """)
        // Revenue on the success day, in minor units: KWD 3750 fils with a 1250 fils refund and SAR
        // 11500 halalas on the 20th; pi_m4's 2000 on the 21st, when it succeeded.
        #expect(
            try psql(
                "SELECT day, currency, payments_succeeded, gross_minor, refunds_succeeded, refunded_minor FROM metrics_daily_revenue ORDER BY 1, 2"
            )
                == "2026-11-20|KWD|1|3750|1|1250\n2026-11-20|SAR|1|11500|0|0\n2026-11-21|SAR|1|2000|0|0")
        // Calls: durations 60 and 30 → average 45, p95 = 30 + 0.95 × 30 = 58.5.
        #expect(
            try psql(
                "SELECT calls_started, calls_ended, ended_completed, dropped_by_monitor, duration_avg_s, duration_p95_s FROM metrics_daily_calls WHERE day = '2026-11-20'"
            ) == "2|2|1|1|45|58.5")
        // Platform: 2 rate-limit hits, SQL latency (10 + 20) / 2, clients h-c1 and h-c2.
        #expect(
            try psql(
                "SELECT rate_limit_hits, sql_latency_samples, avg_sql_latency_ms, daily_active_clients FROM metrics_daily_platform WHERE day = '2026-11-20'"
            ) == "2|2|15|2")
        #expect(
            try psql(
                "SELECT approvals, rejections, approval_latency_avg_s, approval_latency_p95_s FROM metrics_daily_content WHERE day = '2026-11-20'"
            ) == "1|1|21600|21600")
        #expect(
            try psql(
                "SELECT channel, queued, sent, failed FROM metrics_daily_notifications WHERE day = '2026-11-20' ORDER BY 1"
            )
                == "email|0|2|0\nsms|0|0|1\nwhatsapp|1|0|0")
        // The empty 19th has explicit zero rows in every day table.
        #expect(
            try psql(
                "SELECT (SELECT count(*) FROM metrics_daily_calls WHERE day = '2026-11-19' AND calls_started = 0), (SELECT count(*) FROM metrics_daily_platform WHERE day = '2026-11-19' AND rate_limit_hits = 0 AND daily_active_clients = 0), (SELECT count(*) FROM metrics_daily_content WHERE day = '2026-11-19'), (SELECT count(*) FROM metrics_daily_notifications WHERE day = '2026-11-19' AND queued + sent + failed = 0)"
            ) == "1|1|1|3")

        // A re-run (forced) leaves every table byte-identical.
        let before = try digest()
        let again = try metrics(["--date", "2026-11-21", "--timezone", "Asia/Beirut", "--force"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try digest() == before)
        // Without --force the day is already done and nothing runs.
        let skipped = try metrics(["--date", "2026-11-21", "--timezone", "Asia/Beirut"])
        #expect(skipped.status == 0 && skipped.stdout.contains("skipped"), "\(skipped.stdout)")
    }

    /// The content statement finds most approved orders among those created shortly before its
    /// window; an approval of an older order, or of one that no longer exists, must not lose
    /// or change its latency for that.
    @Test func anApprovalOfAnOldOrderKeepsItsLatency() throws {
        _ = try psql(
            """
            INSERT INTO public.orders (id, user_id, service_id, status, created_at) VALUES
              (4, '00000000-0000-0000-0000-0000000000c2', (SELECT id FROM public.services WHERE code = 'tarot'),
               'approved', '2026-10-01 06:00Z');
            INSERT INTO public.moderation_actions (actor_id, target_kind, target_id, action, created_at) VALUES
              ('00000000-0000-0000-0000-0000000000c1', 'order', '4', 'approve', '2026-11-20 13:00Z'),
              ('00000000-0000-0000-0000-0000000000c1', 'order', '999', 'approve', '2026-11-20 13:30Z');
            """)
        let r = try metrics(["--date", "2026-11-21", "--timezone", "Asia/Beirut"])
        #expect(r.status == 0, "\(r.stderr)")
        // On the 20th: order 1 approved after 21,600 s; order 4 after 50 days and 7 hours,
        // 4,345,200 s; order 999 counts as an approval with no latency. Mean 2,183,400;
        // p95 = 21,600 + 0.95 × (4,345,200 − 21,600) = 4,129,020.
        #expect(
            try psql(
                "SELECT approvals, rejections, approval_latency_avg_s, approval_latency_p95_s FROM metrics_daily_content WHERE day = '2026-11-20'"
            ) == "3|1|2183400|4129020")
    }

    /// `events_raw` may be partitioned by day (issue 7): the same events give the same figures,
    /// and a day's scan reads only the partitions of its window.
    @Test func aDayPartitionedEventsTableGivesTheSameFigures() throws {
        // A backfill over the fixture's days and the fall-back day, on the plain table first.
        let window = ["--backfill", "2026-10-20", "2026-11-22", "--timezone", "Asia/Beirut", "--force"]
        let plain = try metrics(window)
        #expect(plain.status == 0, "\(plain.stderr)")
        let expected = try digest()
        #expect(try psql("SELECT sum(orders_created) FROM metrics_daily_orders") != "0")
        let events = try psql("SELECT count(*) FROM public.events_raw")
        try SQL.partitionEventsRaw(config.conninfo, first: "2026-10-01", last: "2026-12-01")
        _ = try psql(
            """
            DELETE FROM public.metrics_daily_orders;
            DELETE FROM public.metrics_daily_calls;
            DELETE FROM public.metrics_daily_platform;
            """)
        #expect(try psql("SELECT count(*) FROM public.events_raw") == events)
        // Reads of a partition by day (the count above read them all), before and after the run:
        // scans of the partition itself or of its time index. The search for duplicates looks
        // into each partition's arrivals indexes (received_at, event_uuid) once, whatever the
        // window: arrivals may belong to any day.
        let reads = { (partition: String) throws -> Int in
            Int(
                try psql(
                    """
                    SELECT pg_stat_force_next_flush();
                    SELECT t.seq_scan + coalesce(sum(i.idx_scan), 0) FROM pg_stat_user_tables t
                      LEFT JOIN pg_stat_user_indexes i ON i.relid = t.relid AND i.indexrelname LIKE '%occurred_at%'
                     WHERE t.relname = '\(partition)' GROUP BY t.seq_scan
                    """
                ).split(separator: "\n").last!)!
        }
        let (outside, inside) = (try reads("events_raw_20261005"), try reads("events_raw_20261121"))
        let partitioned = try metrics(window)
        #expect(partitioned.status == 0, "\(partitioned.stderr)")
        #expect(try digest() == expected)
        // Days before the window (Beirut's 20 October starts at 21:00Z on the 19th) are never read.
        #expect(try reads("events_raw_20261005") == outside)
        #expect(try reads("events_raw_20261121") > inside)
    }

    @Test func utcCutsTheSameEventsDifferently() throws {
        let r = try metrics(["--date", "2026-11-20", "--timezone", "UTC"])
        #expect(r.status == 0, "\(r.stderr)")
        // In UTC the 22:30Z order and the 22:10Z payment fall on the 19th, the 22:00Z order on the 20th.
        #expect(
            try psql(
                "SELECT day, service_code, orders_created FROM metrics_daily_orders WHERE orders_created > 0 ORDER BY 1, 2"
            )
                == "2026-11-19|tarot|1\n2026-11-20|coffee|1\n2026-11-20|tarot|1")
        #expect(
            try psql(
                "SELECT day, payments_attempted, first_attempts FROM metrics_daily_payments WHERE payments_attempted > 0 ORDER BY 1"
            )
                == "2026-11-19|1|1\n2026-11-20|3|2")
    }

    @Test func theFallBackDayHas25HoursOfEvents() throws {
        let r = try metrics(["--backfill", "2026-10-24", "2026-10-25", "--timezone", "Asia/Beirut"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("[1/1] metrics 2026-10-24..2026-10-25: ok"), "\(r.stdout)")
        // 21:30Z on the 23rd (00:30, UTC+3) and 21:30Z on the 24th (23:30 after clocks went back)
        // are both the 24th; 22:30Z on the 24th is 00:30 on the 25th.
        #expect(
            try psql("SELECT day, orders_created FROM metrics_daily_orders WHERE service_code = 'tarot' ORDER BY 1")
                == "2026-10-24|2\n2026-10-25|1")
    }

    /// Days are found among the window's local midnights (`width_bucket`), and a window is cut
    /// into slices run on several sessions; both must give exactly the days PostgreSQL's own
    /// `AT TIME ZONE` gives, across Beirut's spring-forward (no midnight on 29 March 2026: the
    /// clocks jump from 00:00 to 01:00) and fall-back days, whatever the number of sessions.
    @Test func slicedWindowsCutDaysLikePostgresAcrossBothDSTChanges() throws {
        // An order event every 7 minutes (not a divisor of an hour, so every minute of the
        // hour is hit) from two days before to two days after each change.
        _ = try psql(
            """
            INSERT INTO events_raw (occurred_at, event, actor_hash, actor_role, service_code)
            SELECT ts, 'order_created', md5(ts::text), 'client', 'tarot'
              FROM (SELECT generate_series(timestamptz '2026-03-26 00:00Z', '2026-04-02 00:00Z', interval '7 minutes')
                    UNION ALL
                    SELECT generate_series(timestamptz '2026-10-22 00:00Z', '2026-10-29 00:00Z', interval '7 minutes')) g(ts)
            """)
        let postgres = """
            SELECT day, count(*) FILTER (WHERE event = 'order_created' AND service_code = 'tarot'),
                   count(DISTINCT actor_hash) FILTER (WHERE actor_role = 'client')
              FROM (SELECT (occurred_at AT TIME ZONE 'Asia/Beirut')::date AS day, * FROM events_raw) e
             WHERE day BETWEEN '2026-03-27' AND '2026-04-01' OR day BETWEEN '2026-10-23' AND '2026-10-28'
             GROUP BY 1 ORDER BY 1
            """
        let ours = """
            SELECT o.day, o.orders_created, p.daily_active_clients
              FROM metrics_daily_orders o JOIN metrics_daily_platform p USING (day)
             WHERE o.service_code = 'tarot'
               AND (o.day BETWEEN '2026-03-27' AND '2026-04-01' OR o.day BETWEEN '2026-10-23' AND '2026-10-28')
             ORDER BY 1
            """
        let expected = try psql(postgres)
        // 29 March has 23 hours (22:00Z to 21:00Z: 198 events from 22:00Z on); 24 October has 25
        // (21:00Z on the 23rd to 22:00Z, when 00:00 on the 25th becomes 23:00 again: 214 events,
        // and the fixture's two).
        #expect(expected.contains("2026-03-29|198|") && expected.contains("2026-10-24|216|"), "\(expected)")
        var digests: [String] = []
        for sessions in ["1", "2", "3", "8"] {
            for range in [["2026-03-27", "2026-04-01"], ["2026-10-23", "2026-10-28"]] {
                let r = try metrics(
                    ["--backfill"] + range + ["--timezone", "Asia/Beirut", "--force"],
                    extra: ["METRICS_SESSIONS": sessions])
                #expect(r.status == 0, "\(sessions) session(s): \(r.stderr)")
            }
            let got = try psql(ours)
            #expect(got == expected, "\(sessions) session(s)\n\(got)\n---\n\(expected)")
            digests.append(try digest())
        }
        #expect(Set(digests).count == 1, "the tables depend on the number of sessions")
        #expect(
            try psql("SELECT stats->>'sessions' FROM batch_runs WHERE job = 'metrics' ORDER BY id DESC LIMIT 1") == "8",
            "a 6-day window has 30 units of work (five statements over six one-day slices) for 8 sessions")
        // One day is five units: never more sessions than units.
        let one = try metrics(
            ["--date", "2026-10-24", "--timezone", "Asia/Beirut", "--force"],
            extra: ["METRICS_SESSIONS": "8", "METRICS_LOOKBACK_DAYS": "1"])
        #expect(one.status == 0, "\(one.stderr)")
        #expect(
            try psql("SELECT stats->>'sessions' FROM batch_runs WHERE job = 'metrics' ORDER BY id DESC LIMIT 1") == "5")
        #expect(try psql(ours) == expected)
    }

    /// Rows the day's single read must sort into the right figures: end reasons outside the
    /// list or missing, events without a service (counted, with their percentiles, under
    /// 'unknown' together with any event of a service literally named so), and client events
    /// without an actor (not a client).
    @Test func unlistedReasonsMissingServicesAndActorsLandWhereDefined() throws {
        _ = try psql(
            """
            INSERT INTO events_raw (occurred_at, event, actor_hash, actor_role, service_code, props) VALUES
              ('2026-11-10 08:00Z', 'call_ended', 'h-x', 'client', 'direct_call', '{"duration_s": 10}'),
              ('2026-11-10 08:10Z', 'call_ended', 'h-x', 'client', 'direct_call', '{"end_reason": "timeout", "duration_s": 20}'),
              ('2026-11-10 08:20Z', 'call_ended', 'h-y', 'client', NULL, '{"end_reason": "failed", "duration_s": 30}'),
              ('2026-11-10 08:30Z', 'call_ended', 'h-y', 'client', 'direct_call', '{"end_reason": "dropped_by_client", "duration_s": 40}'),
              ('2026-11-10 09:00Z', 'order_delivered', 'h-r1', 'reader', NULL, '{"order_age_s": 100}'),
              ('2026-11-10 09:10Z', 'order_delivered', 'h-r1', 'reader', 'unknown', '{"order_age_s": 300}'),
              ('2026-11-10 09:20Z', 'order_created', NULL, 'client', NULL, '{}'),
              ('2026-11-10 09:30Z', 'page_view', NULL, 'client', 'tarot', '{}')
            """)
        let r = try metrics(["--date", "2026-11-10", "--timezone", "UTC"], extra: ["METRICS_LOOKBACK_DAYS": "1"])
        #expect(r.status == 0, "\(r.stderr)")
        // No reason and "timeout" are other; durations 10, 20, 30, 40: average 25, p95 = 30 + 0.85 × 10.
        #expect(
            try psql(
                "SELECT calls_ended, ended_completed, dropped_by_client, ended_failed, ended_other, duration_avg_s, duration_p95_s FROM metrics_daily_calls WHERE day = '2026-11-10'"
            ) == "4|0|1|1|2|25|38.5")
        // Both deliveries are 'unknown': ages 100 and 300, p50 200, p95 = 100 + 0.95 × 200.
        #expect(
            try psql(
                "SELECT service_code, orders_created, orders_delivered, delivery_p50_s, delivery_p95_s FROM metrics_daily_orders WHERE day = '2026-11-10' AND orders_created + orders_delivered > 0"
            ) == "unknown|1|2|200|290")
        // Clients are h-x and h-y; the two events without an actor count no one.
        #expect(try psql("SELECT daily_active_clients FROM metrics_daily_platform WHERE day = '2026-11-10'") == "2")
    }

    @Test func aLateEventIsCountedByTheNextNight() throws {
        #expect(try metrics(["--date", "2026-11-20", "--timezone", "Asia/Beirut"]).status == 0)
        let day = "SELECT orders_created FROM metrics_daily_orders WHERE day = '2026-11-20' AND service_code = 'tarot'"
        #expect(try psql(day) == "2")
        // An event of the 20th arrives after the 20th was computed.
        _ = try psql(
            "INSERT INTO events_raw (occurred_at, received_at, event, actor_hash, actor_role, service_code) VALUES ('2026-11-20 08:00Z', '2026-11-21 23:00Z', 'order_created', 'h-c2', 'client', 'tarot')"
        )
        let next = try metrics(["--date", "2026-11-21", "--timezone", "Asia/Beirut"])
        #expect(next.status == 0, "\(next.stderr)")
        #expect(try psql(day) == "3")
    }

    @Test func aFailedQualityCheckLeavesThePreviousDaysAndABackfillResumes() throws {
        let first = try metrics(["--backfill", "2026-11-19", "2026-11-21", "--timezone", "Asia/Beirut"])
        #expect(first.status == 0, "\(first.stderr)")
        let before = try digest()
        // A negative latency sample makes the 20th's average negative: the check must refuse it.
        _ = try psql(
            "INSERT INTO events_raw (occurred_at, event, actor_role, props) VALUES ('2026-11-20 17:00Z', 'sql_latency', 'system', '{\"ms\": -90}')"
        )
        let bad = try metrics(["--date", "2026-11-21", "--timezone", "Asia/Beirut", "--force"])
        #expect(bad.status == 1, "\(bad.status) \(bad.stderr)")
        #expect(
            bad.stderr.contains("metrics_daily_platform") && bad.stderr.contains("2026-11-20")
                && bad.stderr.contains("avg_sql_latency_ms"), "\(bad.stderr)")
        #expect(try digest() == before, "a failed check changed the tables")
        // The same with the bad day's events a unit of their own on a second session, and on one.
        for (sessions, failing) in [("3", "events 2026-11-20…2026-11-20"), ("1", "events 2026-11-19…2026-11-21")] {
            let sliced = try metrics(
                ["--date", "2026-11-21", "--timezone", "Asia/Beirut", "--force"], extra: ["METRICS_SESSIONS": sessions])
            #expect(sliced.status == 1 && sliced.stderr.contains("failed for \(failing);"), "\(sliced.stderr)")
            #expect(try digest() == before, "a failed check on \(sessions) session(s) changed the tables")
        }

        // A backfill in two-day chunks stops at the chunk with the bad day, the earlier chunk
        // committed, and a rerun after the fix resumes there.
        let args = ["--backfill", "2026-11-17", "2026-11-21", "--chunk-days", "2", "--timezone", "Asia/Beirut"]
        let backfill = try metrics(args + ["--force"])
        #expect(backfill.status == 1)
        #expect(backfill.stdout.contains("[1/3] metrics 2026-11-17..2026-11-18: ok"), "\(backfill.stdout)")
        #expect(backfill.stdout.contains("backfill stopped at 2026-11-19"), "\(backfill.stdout)")
        _ = try psql("DELETE FROM events_raw WHERE (props->>'ms')::numeric < 0")
        let resumed = try metrics(args)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("[1/3] metrics 2026-11-17..2026-11-18: skipped"), "\(resumed.stdout)")
        #expect(resumed.stdout.contains("[2/3] metrics 2026-11-19..2026-11-20: ok"), "\(resumed.stdout)")
        #expect(resumed.stdout.contains("[3/3] metrics 2026-11-21..2026-11-21: ok"), "\(resumed.stdout)")
        #expect(
            try psql("SELECT count(*) FROM metrics_daily_platform WHERE day BETWEEN '2026-11-17' AND '2026-11-21'")
                == "5")
    }

    @Test func daysPastTheRawHorizonAndBadSettingsAreRefused() throws {
        let old = try CLI.run(["metrics", "--date", "2020-01-10"], database: config)
        #expect(old.status == 78, "\(old.status) \(old.stderr)")
        #expect(old.stderr.contains("horizon"), "\(old.stderr)")
        let zone = try metrics(["--date", "2026-11-20", "--timezone", "Mars/Olympus"])
        #expect(zone.status == 78 && zone.stderr.contains("Mars/Olympus"), "\(zone.stderr)")
        let lookback = try metrics(["--date", "2026-11-20"], extra: ["METRICS_LOOKBACK_DAYS": "zero"])
        #expect(lookback.status == 78 && lookback.stderr.contains("METRICS_LOOKBACK_DAYS"), "\(lookback.stderr)")
        let sessions = try metrics(["--date", "2026-11-20"], extra: ["METRICS_SESSIONS": "9"])
        #expect(sessions.status == 78 && sessions.stderr.contains("METRICS_SESSIONS=9"), "\(sessions.stderr)")
        #expect(try psql("SELECT count(*) FROM metrics_daily_orders") == "0")
        let dry = try metrics(["--date", "2026-11-20", "--dry-run"])
        #expect(dry.status == 0 && dry.stdout.contains("would recompute 3 day(s)"), "\(dry.stdout)")
        #expect(try psql("SELECT count(*) FROM metrics_daily_orders") == "0")
    }
}

extension MetricsTests {
    /// A day that has not begun in the business zone is refused with 65 (issue 39), through
    /// `metrics --date`, a backfill and `nightly --date`, and no table changes: its zeros would
    /// otherwise be committed as that day's figures.
    @Test func futureDaysAreRefused() throws {
        let zone = TimeZone(identifier: "Asia/Beirut")!
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let format = { (d: Date) -> String in
            let c = calendar.dateComponents([.year, .month, .day], from: d)
            return String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!)
        }
        let tomorrow = format(Date().addingTimeInterval(86_400))
        let yesterday = format(Date().addingTimeInterval(-86_400))
        let before = try digest()
        let beirut = ["SAMIA_TIMEZONE": "Asia/Beirut"]
        for arguments in [["--date", tomorrow], ["--backfill", yesterday, tomorrow]] {
            let r = try metrics(arguments, extra: beirut)
            #expect(r.status == 65, "\(arguments): \(r.stderr)")
            #expect(r.stderr.contains("\(tomorrow) is in the future in Asia/Beirut"), "\(r.stderr)")
        }
        let night = try CLI.run(["nightly", "--date", tomorrow], database: config, env: env.merging(beirut) { $1 })
        #expect(night.status != 0, "\(night.stdout)")
        #expect(try digest() == before)
    }
}

extension MetricsTests {
    /// Issue 39: one malformed event value (`ms: "fast"`) failed the whole night with
    /// PostgreSQL's 22P02. It is set aside in metrics_quarantine with its id and reason, left
    /// out of the figures, counted in the log, and the night goes on.
    @Test func aMalformedEventIsQuarantinedAndTheNightGoesOn() throws {
        let good = try metrics(["--date", "2026-11-21", "--timezone", "Asia/Beirut"])
        #expect(good.status == 0, "\(good.stderr)")
        let samples = try psql(
            "SELECT sum(sql_latency_samples), round(sum(avg_sql_latency_ms)::numeric, 3) FROM metrics_daily_platform")
        _ = try psql(
            """
            INSERT INTO public.events_raw (occurred_at, event, props)
            VALUES ('2026-11-20 12:00+02', 'sql_latency', '{"ms": "fast"}')
            """)
        let id = try psql("SELECT max(id) FROM public.events_raw")
        let r = try metrics(["--date", "2026-11-21", "--timezone", "Asia/Beirut", "--force"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(
            try psql("SELECT event_id, event, reason FROM metrics_quarantine")
                == "\(id)|sql_latency|props.ms is not a number")
        #expect(r.stderr.contains("metrics_events_quarantined") && r.stderr.contains("\"count\":1"), "\(r.stderr)")
        #expect(
            try psql(
                "SELECT sum(sql_latency_samples), round(sum(avg_sql_latency_ms)::numeric, 3) FROM metrics_daily_platform"
            ) == samples)
        // Again: the same event is not quarantined twice.
        #expect(try metrics(["--date", "2026-11-21", "--timezone", "Asia/Beirut", "--force"]).status == 0)
        #expect(try psql("SELECT count(*) FROM metrics_quarantine") == "1")
    }

    /// Issue 39: a day recomputed to nothing (its source rows lost or not loaded yet) was
    /// committed with exit 0. A drop of more than half against the median of the seven days
    /// before is refused, naming day, table and figures, and every day keeps its figures;
    /// --accept-drop commits it.
    @Test func aDayThatDropsAgainstItsTrailingMedianIsNotCommitted() throws {
        // 30 orders a day for ten days, then the last day's events vanish.
        _ = try psql(
            """
            INSERT INTO public.events_raw (occurred_at, event, service_code)
            SELECT d + (i || ' minutes')::interval, 'order_created', 'tarot'
              FROM generate_series(timestamptz '2026-10-01 10:00+00', '2026-10-10 10:00+00', interval '1 day') d,
                   generate_series(1, 30) i
            """)
        let backfill = try metrics(["--backfill", "2026-10-01", "2026-10-10", "--timezone", "UTC"])
        #expect(backfill.status == 0, "\(backfill.stderr)")
        let before = try digest()
        _ = try psql("DELETE FROM public.events_raw WHERE occurred_at >= '2026-10-10' AND occurred_at < '2026-10-11'")
        let refused = try metrics(["--date", "2026-10-10", "--timezone", "UTC", "--force"])
        #expect(refused.status == 1, "\(refused.stdout) \(refused.stderr)")
        #expect(
            refused.stderr.contains(
                "metrics_daily_orders: orders created on 2026-10-10: 0 against a median of 30.0 over the 7 day(s) before, a drop of 100%"
            ), "\(refused.stderr)")
        #expect(refused.stderr.contains("--accept-drop"))
        #expect(try digest() == before)
        // `backfill metrics` gates the same way, and takes --accept-drop too.
        let backfillDay = ["backfill", "metrics", "--from", "2026-10-10", "--to", "2026-10-10", "--only", "all"]
        let utc = env.merging(["SAMIA_TIMEZONE": "UTC"]) { $1 }
        let gated = try CLI.run(backfillDay, database: config, env: utc)
        #expect(gated.status == 1 && gated.stderr.contains("--accept-drop"), "\(gated.stdout) \(gated.stderr)")
        #expect(try digest() == before)
        let taken = try CLI.run(backfillDay + ["--accept-drop"], database: config, env: utc)
        #expect(taken.status == 0 && taken.stderr.contains("metrics_drop_accepted"), "\(taken.stdout) \(taken.stderr)")
        let accepted = try metrics(["--date", "2026-10-10", "--timezone", "UTC", "--force", "--accept-drop"])
        #expect(accepted.status == 0, "\(accepted.stderr)")
        #expect(accepted.stderr.contains("metrics_drop_accepted"))
        #expect(try psql("SELECT sum(orders_created) FROM metrics_daily_orders WHERE day = '2026-10-10'") == "0")
        #expect(try psql("SELECT sum(orders_created) FROM metrics_daily_orders WHERE day = '2026-10-09'") == "30")
    }
}

extension MetricsTests {
    /// Issue 39: a day computed in UTC was skipped as "already succeeded" when asked for in
    /// Asia/Beirut, leaving UTC figures under a Beirut day. A success counts only in its zone;
    /// the same zone again is still skipped, and says so.
    @Test func aDayDoneInAnotherZoneIsNotSkipped() throws {
        let utc = try metrics(["--date", "2026-11-21", "--timezone", "UTC"])
        #expect(utc.status == 0, "\(utc.stderr)")
        let utcFigures = try psql(
            "SELECT orders_created FROM metrics_daily_orders WHERE day = '2026-11-21' ORDER BY service_code")
        let beirut = try metrics(["--date", "2026-11-21", "--timezone", "Asia/Beirut"])
        #expect(beirut.status == 0 && !beirut.stdout.contains("skipped"), "\(beirut.stdout) \(beirut.stderr)")
        #expect(try psql("SELECT count(*) FROM batch_runs WHERE job = 'metrics' AND status = 'succeeded'") == "2")
        // The fixture's 00:00-local order of the 21st is the 20th in UTC: the figures differ.
        #expect(
            try psql("SELECT orders_created FROM metrics_daily_orders WHERE day = '2026-11-21' ORDER BY service_code")
                != utcFigures)
        let again = try metrics(["--date", "2026-11-21", "--timezone", "Asia/Beirut"])
        #expect(again.status == 0 && again.stdout.contains("skipped (already succeeded; up to date"), "\(again.stdout)")
    }

    /// A payment created on the 15th that succeeds on the 21st: its revenue lands on the 21st,
    /// its success day, and its attempt's outcome changes the 15th, which no look-back window
    /// covers by then: the night finds that day through the watermark and recomputes it; past the
    /// late-data horizon the night fails naming the day until --force.
    @Test func aPaymentThatSucceedsSixDaysLaterReachesItsDay() throws {
        let beirut = ["--timezone", "Asia/Beirut"]
        _ = try psql(
            """
            INSERT INTO payment_intents (order_id, provider, provider_intent_id, amount_cents, currency, status, created_at, updated_at)
            SELECT min(id), 'stripe', 'pi_late_six_days', 5000, 'USD', 'processing', '2026-11-15 10:00Z', '2026-11-15 10:00Z' FROM orders
            """)
        #expect(try metrics(["--date", "2026-11-15"] + beirut).status == 0)
        func gross(_ day: String) throws -> Int {
            Int(
                try psql(
                    "SELECT coalesce(sum(gross_minor), 0) FROM metrics_daily_revenue WHERE day = '\(day)' AND currency = 'USD'"
                ))!
        }
        let succeeded = "SELECT payments_succeeded FROM metrics_daily_payments WHERE day = '2026-11-15'"
        let succeededBefore = Int(try psql(succeeded))!
        #expect(try metrics(["--date", "2026-11-20"] + beirut).status == 0)
        // Six days later, at 10:00 in Beirut, the provider confirms it.
        _ = try psql(
            "UPDATE payment_intents SET status = 'succeeded', updated_at = '2026-11-21 08:00Z' WHERE provider_intent_id = 'pi_late_six_days'"
        )

        // Past a 5-day horizon (the 15th is 6 days before the 21st) the night fails, naming the
        // day; its own window is committed, with the payment on its success day.
        let refused = try metrics(["--date", "2026-11-21"] + beirut, extra: ["METRICS_LATE_HORIZON_DAYS": "5"])
        #expect(refused.status == 1, "\(refused.stdout) \(refused.stderr)")
        #expect(refused.stderr.contains("metrics_late_beyond_horizon") && refused.stderr.contains("2026-11-15"))
        #expect(Int(try psql(succeeded)) == succeededBefore, "not recomputed past the horizon")
        #expect(try gross("2026-11-21") == 5000)

        let night = try metrics(["--date", "2026-11-22"] + beirut)
        #expect(night.status == 0, "\(night.stdout) \(night.stderr)")
        #expect(night.stderr.contains("2026-11-15"), "the log names the late day: \(night.stderr)")
        #expect(Int(try psql(succeeded)) == succeededBefore + 1)
        #expect(try gross("2026-11-15") == 0 && gross("2026-11-21") == 5000, "revenue on the success day only")
        #expect(try psql("SELECT count(*) FROM metrics_watermarks WHERE time_zone = 'Asia/Beirut'") == "3")
        // Nothing changed since: the next night recomputes its window only.
        let quiet = try metrics(["--date", "2026-11-23"] + beirut)
        #expect(quiet.status == 0 && quiet.stderr.contains("\"late_days\":\"none\""), "\(quiet.stderr)")
    }

    /// Refunds have no change time: a refund filed on the 14th that the provider confirms a week
    /// later changes the 14th's refunds, and the night finds that day by comparing the days it
    /// computed with their refunds.
    @Test func aRefundThatSucceedsAWeekLaterReachesItsDay() throws {
        let beirut = ["--timezone", "Asia/Beirut"]
        _ = try psql(
            """
            INSERT INTO refunds (order_id, payment_intent_id, provider_refund_id, amount_cents, currency, reason, status, created_at)
            SELECT order_id, id, 're_late_week', 1000, 'KWD', 'late', 'requested', '2026-11-14 10:00Z'
              FROM payment_intents WHERE provider_intent_id = 'pi_m3'
            """)
        #expect(try metrics(["--date", "2026-11-14"] + beirut).status == 0)
        let refunded =
            "SELECT coalesce(sum(refunded_minor), 0) || '/' || (SELECT refunds_succeeded FROM metrics_daily_payments WHERE day = '2026-11-14') FROM metrics_daily_revenue WHERE day = '2026-11-14'"
        #expect(try psql(refunded) == "0/0")
        #expect(try metrics(["--date", "2026-11-20"] + beirut).status == 0)
        _ = try psql("UPDATE refunds SET status = 'succeeded' WHERE provider_refund_id = 're_late_week'")
        let night = try metrics(["--date", "2026-11-21"] + beirut)
        #expect(night.status == 0, "\(night.stderr)")
        #expect(night.stderr.contains("2026-11-14"), "the log names the late day: \(night.stderr)")
        #expect(try psql(refunded) == "1000/1")
        // A re-run of the 14th itself says why it is not skipped.
        _ = try psql("UPDATE refunds SET status = 'failed' WHERE provider_refund_id = 're_late_week'")
        let again = try metrics(["--date", "2026-11-14"] + beirut)
        #expect(again.status == 0 && again.stderr.contains("refunds differ"), "\(again.stdout) \(again.stderr)")
        #expect(try psql(refunded) == "0/0")
    }

    /// Revenue in one reporting currency, from dated rates, with the rate used beside each
    /// figure; a currency without a rate recent enough fails the run and keeps the old figures.
    @Test func revenueIsGivenInTheReportingCurrencyWithTheRateUsed() throws {
        let args = ["--date", "2026-11-21", "--timezone", "Asia/Beirut", "--force"]
        let sar = ["METRICS_REPORTING_CURRENCY": "SAR"]
        _ = try psql(
            "INSERT INTO fx_rates (reporting_currency, currency, rate_date, rate) VALUES ('SAR', 'KWD', '2026-11-18', 12.19), ('SAR', 'KWD', '2026-11-23', 12.5)"
        )
        let r = try metrics(args, extra: sar)
        #expect(r.status == 0, "\(r.stderr)")
        // KWD on the 20th takes the 18th's rate (the newest on or before it): 3750 fils × 12.19
        // = 45.7125 SAR → 4571 halalas, the 1250 fils refund → 1523.75 → 1524 (half up). SAR
        // itself at 1.
        let reporting =
            "SELECT day, currency, reporting_currency, fx_rate, fx_rate_date, gross_reporting_minor, refunded_reporting_minor FROM metrics_daily_revenue ORDER BY 1, 2"
        #expect(
            try psql(reporting)
                == """
                2026-11-20|KWD|SAR|12.19|2026-11-18|4571|1524
                2026-11-20|SAR|SAR|1|2026-11-20|11500|0
                2026-11-21|SAR|SAR|1|2026-11-21|2000|0
                """)
        // With rates at most a day old, the 18th's is no rate for the 20th: the run fails naming
        // the day and currency, and nothing changes.
        let before = try digest()
        let stale = try metrics(args, extra: sar.merging(["METRICS_FX_MAX_AGE_DAYS": "1"]) { $1 })
        #expect(stale.status == 1 && stale.stderr.contains("2026-11-20: KWD has no rate to SAR"), "\(stale.stderr)")
        #expect(try digest() == before)
        // An unknown reporting currency is a configuration error; without one nothing is converted.
        let unknown = try metrics(args, extra: ["METRICS_REPORTING_CURRENCY": "XYZ"])
        #expect(unknown.status == 78 && unknown.stderr.contains("METRICS_REPORTING_CURRENCY"), "\(unknown.stderr)")
        #expect(try metrics(args).status == 0)
        #expect(
            try psql(
                "SELECT count(*) FROM metrics_daily_revenue WHERE reporting_currency IS NOT NULL OR fx_rate IS NOT NULL"
            ) == "0")
    }

    /// A sender that retries writes the same event twice (same `event_uuid`): it counts once,
    /// in the night that first sees it and in every later one, however late the copy arrives.
    @Test func aDuplicatedEventIsCountedOnce() throws {
        let beirut = ["--timezone", "Asia/Beirut"]
        let tarot =
            "SELECT orders_created FROM metrics_daily_orders WHERE day = '2026-11-20' AND service_code = 'tarot'"
        #expect(try metrics(["--date", "2026-11-20"] + beirut).status == 0)
        let before = Int(try psql(tarot))!
        func send(_ uuid: String) throws {
            _ = try psql(
                "INSERT INTO events_raw (occurred_at, event, actor_hash, actor_role, service_code, event_uuid) VALUES ('2026-11-20 09:00Z', 'order_created', 'h-c9', 'client', 'tarot', '\(uuid)')"
            )
        }
        let (first, second) = ("6f1c2a4e-8b0d-4c1e-9a57-1d2e3f405162", "0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d")
        try send(first)
        try send(first)
        try send(second)
        let night = try metrics(["--date", "2026-11-21"] + beirut)
        #expect(night.status == 0, "\(night.stderr)")
        #expect(night.stderr.contains("metrics_events_duplicated"), "\(night.stderr)")
        #expect(Int(try psql(tarot)) == before + 2, "two events, one of them sent twice")
        #expect(
            try psql(
                "SELECT count(*), min(original_id) < min(id) FROM metrics_event_duplicates WHERE event_uuid = '\(first)'"
            )
                == "1|t")
        // A third copy a week later: the 20th is a late day of the 27th and still counts it once.
        try send(first)
        let late = try metrics(["--date", "2026-11-27"] + beirut)
        #expect(late.status == 0 && late.stderr.contains("2026-11-20"), "\(late.stderr)")
        #expect(Int(try psql(tarot)) == before + 2)
        #expect(try psql("SELECT count(*) FROM metrics_event_duplicates") == "2")
        // A backfill leaves the same copies out.
        #expect(try metrics(["--backfill", "2026-11-20", "2026-11-20", "--force"] + beirut).status == 0)
        #expect(Int(try psql(tarot)) == before + 2)
    }

    /// A day that already succeeded is not skipped when its sources changed since: the re-run
    /// recomputes it; with nothing changed it is skipped and says it is up to date.
    @Test func aRerunRecomputesWhenItsSourcesChangedAndOtherwiseSaysItIsUpToDate() throws {
        let args = ["--date", "2026-11-20", "--timezone", "Asia/Beirut"]
        #expect(try metrics(args).status == 0)
        let same = try metrics(args)
        #expect(same.status == 0 && same.stdout.contains("up to date"), "\(same.stdout)")
        let day = "SELECT orders_created FROM metrics_daily_orders WHERE day = '2026-11-20' AND service_code = 'tarot'"
        let before = Int(try psql(day))!
        _ = try psql(
            "INSERT INTO events_raw (occurred_at, received_at, event, actor_hash, actor_role, service_code) VALUES ('2026-11-20 08:00Z', now(), 'order_created', 'h-c2', 'client', 'tarot')"
        )
        let again = try metrics(args)
        #expect(again.status == 0 && !again.stdout.contains("skipped"), "\(again.stdout)")
        #expect(again.stderr.contains("run_sources_changed") && again.stderr.contains("events_raw"), "\(again.stderr)")
        #expect(Int(try psql(day)) == before + 1)
        let quiet = try metrics(args)
        #expect(quiet.stdout.contains("skipped (already succeeded; up to date"), "\(quiet.stdout)")
    }

    /// A run for an old day (by hand) must not move the watermark past a change it did not
    /// handle: an event of the 21st received after the 21st was computed is still found by the
    /// next run whose late days cover it.
    @Test func aRunForAnOldDayLeavesLaterChangesToTheNextNight() throws {
        let beirut = ["--timezone", "Asia/Beirut"]
        #expect(try metrics(["--date", "2026-11-21"] + beirut).status == 0)
        let day = "SELECT orders_created FROM metrics_daily_orders WHERE day = '2026-11-21' AND service_code = 'tarot'"
        let before = Int(try psql(day))!
        _ = try psql(
            "INSERT INTO events_raw (occurred_at, received_at, event, actor_hash, actor_role, service_code) VALUES ('2026-11-21 09:00Z', now(), 'order_created', 'h-c2', 'client', 'tarot')"
        )
        #expect(try metrics(["--date", "2026-11-10"] + beirut).status == 0)
        #expect(Int(try psql(day)) == before, "the old day's run does not touch the 21st")
        let night = try metrics(["--date", "2026-11-24"] + beirut)
        #expect(night.status == 0, "\(night.stderr)")
        #expect(Int(try psql(day)) == before + 1, "the 21st is a late day of the 24th's run: \(night.stderr)")
    }
}

extension MetricsTests {
    /// Issue 39, point 1: finance loads rates after the days they serve. A rate for the 20th
    /// loaded after the 20th was computed (with the 18th's rate) left the 20th's figures in the
    /// reporting currency on the old rate for good. Each night now compares the days it computed
    /// with the rate `fx_rates` gives them today, and recomputes those that differ.
    @Test func aRateLoadedLateReachesTheDaysItServes() throws {
        let beirut = ["--timezone", "Asia/Beirut"]
        let sar = ["METRICS_REPORTING_CURRENCY": "SAR"]
        _ = try psql(
            "INSERT INTO fx_rates (reporting_currency, currency, rate_date, rate) VALUES ('SAR', 'KWD', '2026-11-18', 12.19)"
        )
        #expect(try metrics(["--date", "2026-11-21"] + beirut, extra: sar).status == 0)
        let kwd =
            "SELECT fx_rate || '|' || fx_rate_date || '|' || gross_reporting_minor || '|' || refunded_reporting_minor FROM metrics_daily_revenue WHERE day = '2026-11-20' AND currency = 'KWD'"
        #expect(try psql(kwd) == "12.19|2026-11-18|4571|1524")
        _ = try psql(
            "INSERT INTO fx_rates (reporting_currency, currency, rate_date, rate) VALUES ('SAR', 'KWD', '2026-11-20', 12.30)"
        )
        let night = try metrics(["--date", "2026-11-25", "--accept-drop"] + beirut, extra: sar)
        #expect(night.status == 0 && night.stderr.contains("2026-11-20"), "\(night.stderr)")
        // 3750 fils × 12.30 = 46.125 SAR → 4613 halalas; 1250 × 12.30 = 15.375 → 1538 (half up).
        #expect(try psql(kwd) == "12.30|2026-11-20|4613|1538")
        let quiet = try metrics(["--date", "2026-11-26", "--accept-drop"] + beirut, extra: sar)
        #expect(quiet.status == 0 && quiet.stderr.contains("\"late_days\":\"none\""), "\(quiet.stderr)")
    }
}
