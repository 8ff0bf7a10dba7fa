@testable import Metrics
import Foundation
import Postgres
import TestSupport
import Testing

/// The totals check compares what the job wrote with what its statements read. The job's own
/// runs (MetricsTests) show that the statements' read totals pass it; this shows that it fails,
/// and names the right total, when any one of them differs.
@Suite("Metrics quality checks", .serialized)
struct MetricsQualityCheckTests {
    @Test func theTotalsCheckNamesEveryTotalThatDiffersFromWhatWasRead() throws {
        let config = try TestCluster.shared().freshDatabase()
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../CLITests/Fixtures/metrics.sql").standardized.path
        let load = try Shell.run(
            "/usr/bin/psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", config.conninfo, "-f", fixture])
        #expect(load.status == 0, "\(load.stderr)")
        let run = try CLI.run(
            ["metrics", "--date", "2026-11-21", "--timezone", "Asia/Beirut"], database: config,
            env: ["METRICS_RAW_RETENTION_DAYS": "36500", "SAMIA_LOG_FORMAT": "json"])
        #expect(run.status == 0, "\(run.stderr)")

        // The sources of the window 19–21 November (Beirut days), counted here, apart from the job.
        let db = try Connection(config)
        func window(_ column: String) -> String {
            "\(column) >= ('2026-11-19'::timestamp AT TIME ZONE 'Asia/Beirut') AND \(column) < ('2026-11-22'::timestamp AT TIME ZONE 'Asia/Beirut')"
        }
        let truth = try db.query(
            """
            SELECT (SELECT count(*) FROM events_raw WHERE \(window("occurred_at")) AND event IN \(MetricsSQL.orderEvents)),
                   (SELECT count(*) FROM events_raw WHERE \(window("occurred_at")) AND event IN ('call_started', 'call_ended')),
                   (SELECT count(*) FROM events_raw WHERE \(window("occurred_at")) AND event IN ('rate_limit_hit', 'sql_latency')),
                   (SELECT count(*) FROM payment_intents WHERE \(window("created_at"))),
                   (SELECT coalesce(sum(amount_cents), 0) FROM payment_intents WHERE status = 'succeeded' AND \(window("updated_at")))::bigint,
                   (SELECT coalesce(sum(amount_cents), 0) FROM refunds WHERE status = 'succeeded' AND \(window("created_at")))::bigint,
                   (SELECT count(*) FROM moderation_actions WHERE action IN ('approve', 'reject') AND \(window("created_at"))),
                   (SELECT count(*) FROM notif_log WHERE \(window("created_at"))),
                   (SELECT count(DISTINCT (user_id, (created_at AT TIME ZONE 'Asia/Beirut')::date)) FROM orders WHERE \(window("created_at"))),
                   (SELECT count(*) FROM orders WHERE assigned_reader IS NOT NULL AND status NOT IN ('cancelled', 'rejected') AND \(window("scheduled_at")))
            """)[0]
        let read = try (0..<MetricsQualityCheck.readTotalNames.count).map { try truth.decode($0, as: Int64.self) }
        #expect(read.allSatisfy { $0 > 0 }, "the fixture has every kind of source row: \(read)")
        let parameters: [any PostgresEncodable] = ["2026-11-19", "2026-11-21", "Asia/Beirut"]
        #expect(try db.query(MetricsQualityCheck.readTotals.sql, parameters + read).count == 0)

        let named = [
            "metrics_daily_orders: order events", "metrics_daily_calls: call events",
            "metrics_daily_platform: rate-limit and latency events", "metrics_daily_payments: payment attempts",
            "metrics_daily_revenue: gross minor units", "metrics_daily_revenue: refunded minor units",
            "metrics_daily_content: moderation actions", "metrics_daily_notifications: notifications",
            "metrics_daily_engagement: customers active per day", "metrics_daily_readers: bookings",
        ]
        for index in read.indices {
            var off = read
            off[index] += 1
            let violations = try db.query(MetricsQualityCheck.readTotals.sql, parameters + off).map {
                try $0.decode(0, as: String.self)
            }
            #expect(
                violations == ["\(named[index]): window total \(read[index]) but \(read[index] + 1) were read"],
                "\(violations)")
            // A unit that wrote only some tables passes NULL for the others' totals: not checked.
            var skipped: [any PostgresEncodable] = off
            skipped[index] = PostgresNull()
            #expect(try db.query(MetricsQualityCheck.readTotals.sql, parameters + skipped).count == 0)
        }
    }
}
