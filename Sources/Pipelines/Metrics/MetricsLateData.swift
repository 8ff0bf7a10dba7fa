import Foundation
import Postgres
import Runner

/// Late data by design: how far the job has seen each source (`metrics_watermarks`), and which
/// days before the night's window had source rows change since. A payment that succeeds six days
/// after it was created, or an event delivered a week late, changes a day the look-back window no
/// longer covers; the night finds that day here and recomputes it, however old, up to the late-data
/// horizon (`METRICS_LATE_HORIZON_DAYS`). Beyond it the change is reported and needs `--force`.
struct MetricsLateData {
    /// A source, the column that says when one of its rows last changed, and the columns whose
    /// local day a change touches.
    struct Source {
        let name: String
        let table: String
        let changedAt: String
        /// The times that put a row on its days (an event's occurrence; an intent's creation,
        /// where its attempt counts, and its success, where its revenue does).
        let dayColumns: [String]
    }

    static let sources = [
        Source(
            name: "events_raw", table: "public.events_raw", changedAt: "received_at",
            dayColumns: ["occurred_at"]),
        // A status change touches the attempt's creation day and the day of the change itself,
        // which is the success day when it succeeded.
        Source(
            name: "payment_intents", table: "public.payment_intents", changedAt: "updated_at",
            dayColumns: ["created_at", "updated_at"]),
        // An order recorded late (with an earlier creation time) touches the day it was placed,
        // where engagement counts it. Bookings are compared instead (`readerDays`): their day is
        // often in the future, and a change there would hold the watermark back for days.
        Source(name: "orders", table: "public.orders", changedAt: "updated_at", dayColumns: ["created_at"]),
    ]

    /// The newest change time of each source in the caller's snapshot, as PostgreSQL's text.
    static func highWater(_ db: Connection) throws -> [String: String] {
        var out: [String: String] = [:]
        for source in sources {
            if let mark = try db.scalar("SELECT max(\(source.changedAt))::text FROM \(source.table)", as: String.self) {
                out[source.name] = mark
            }
        }
        return out
    }

    /// The watermarks the last committed run left for `zone`; a source without one is new to
    /// the job (its first run recomputes only its window).
    static func watermarks(_ db: Connection, zone: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for row in try db.query(
            "SELECT source, seen_until::text AS seen FROM public.metrics_watermarks WHERE time_zone = $1", [zone])
        {
            out[try row.decode("source")] = try row.decode("seen")
        }
        return out
    }

    /// The days before `before` that the job has computed and that hold a source row changed
    /// after its watermark (and up to the snapshot's high water), oldest first.
    static func changedDays(
        _ db: Connection, zone: String, watermarks: [String: String], highWater: [String: String], before: LocalDate
    ) throws -> [LocalDate] {
        var days: Set<LocalDate> = []
        for source in sources {
            guard let since = watermarks[source.name], let until = highWater[source.name] else { continue }
            let select = source.dayColumns.map { column in
                """
                SELECT DISTINCT (s.\(column) AT TIME ZONE $1)::date AS day FROM \(source.table) s
                 WHERE s.\(source.changedAt) > $2::timestamptz AND s.\(source.changedAt) <= $3::timestamptz
                """
            }.joined(separator: " UNION ")
            // Only days the job has computed (each has its payments row): a day never computed
            // is missing, not late, and is a backfill's to fill.
            let rows = try db.query(
                """
                SELECT day::text AS day FROM (\(select)) d
                 WHERE day < $4::date AND EXISTS (SELECT 1 FROM public.metrics_daily_payments p WHERE p.day = d.day)
                """, [zone, since, until, before])
            for row in rows {
                if let day = LocalDate(try row.decode("day", as: String.self)) { days.insert(day) }
            }
        }
        return days.sorted()
    }

    /// Refunds carry no change time, so no watermark finds a refund that succeeded days after it
    /// was filed: instead the days in `from..<before` the job has computed are compared with
    /// their sources (succeeded refunds per local day and currency, count and minor units) and
    /// those that differ are late. Refunds are few, so this reads them directly.
    static func refundDays(_ db: Connection, zone: String, from: LocalDate, before: LocalDate) throws -> [LocalDate] {
        guard from < before else { return [] }
        let rows = try db.query(
            """
            WITH src AS (
              SELECT (r.created_at AT TIME ZONE $1)::date AS day, r.currency::text AS currency, count(*) AS n,
                     sum(r.amount_cents)::bigint AS amount
                FROM public.refunds r
               WHERE r.status = 'succeeded' AND r.created_at >= ($2::date::timestamp AT TIME ZONE $1)
                 AND r.created_at < ($3::date::timestamp AT TIME ZONE $1)
               GROUP BY 1, 2),
            kept AS (
              SELECT day, currency::text AS currency, refunds_succeeded::bigint AS n, refunded_minor AS amount
                FROM public.metrics_daily_revenue WHERE day >= $2::date AND day < $3::date)
            SELECT DISTINCT coalesce(s.day, k.day)::text AS day
              FROM src s FULL JOIN kept k ON k.day = s.day AND k.currency = s.currency
             WHERE (coalesce(s.n, 0), coalesce(s.amount, 0)) IS DISTINCT FROM (coalesce(k.n, 0), coalesce(k.amount, 0))
               AND EXISTS (SELECT 1 FROM public.metrics_daily_payments p WHERE p.day = coalesce(s.day, k.day))
            """, [zone, from, before])
        return try rows.compactMap { LocalDate(try $0.decode("day", as: String.self)) }.sorted()
    }

    /// Calls carry no change time, and bookings are often for days ahead: the days in
    /// `from..<before` the job has computed are compared with their bookings (orders with a
    /// reader, not cancelled or rejected, by the local day booked) and calls (count and seconds
    /// by the day they started), as `metrics_daily_readers` counts them; those that differ are
    /// late: a booking cancelled, a call whose end was recorded, after the day was computed.
    static func readerDays(_ db: Connection, zone: String, from: LocalDate, before: LocalDate) throws -> [LocalDate] {
        guard from < before else { return [] }
        let (low, high) = ("($2::date::timestamp AT TIME ZONE $1)", "($3::date::timestamp AT TIME ZONE $1)")
        let rows = try db.query(
            """
            WITH talk AS (
              SELECT (c.started_at AT TIME ZONE $1)::date AS day, count(*) AS n,
                     coalesce(sum(extract(epoch FROM c.ended_at - c.started_at)), 0)::double precision AS seconds
                FROM public.calls c JOIN public.orders o ON o.id = c.order_id
               WHERE c.started_at >= \(low) AND c.started_at < \(high)
                 AND c.ended_at >= c.started_at AND o.assigned_reader IS NOT NULL
               GROUP BY 1),
            booked AS (
              SELECT (o.scheduled_at AT TIME ZONE $1)::date AS day, count(*) AS n FROM public.orders o
               WHERE o.scheduled_at >= \(low) AND o.scheduled_at < \(high)
                 AND o.assigned_reader IS NOT NULL AND o.status NOT IN ('cancelled', 'rejected')
               GROUP BY 1),
            kept AS (SELECT day, bookings::bigint AS bookings, calls::bigint AS n, call_seconds AS seconds
                       FROM public.metrics_daily_readers WHERE day >= $2::date AND day < $3::date)
            SELECT k.day::text AS day
              FROM kept k LEFT JOIN talk t ON t.day = k.day LEFT JOIN booked b ON b.day = k.day
             WHERE (coalesce(b.n, 0), coalesce(t.n, 0), round(coalesce(t.seconds, 0)))
                   IS DISTINCT FROM (k.bookings, k.n, round(k.seconds))
            """, [zone, from, before])
        return try rows.compactMap { LocalDate(try $0.decode("day", as: String.self)) }.sorted()
    }

    /// Exchange rates loaded after the day they serve (finance loads last week's rates on
    /// Monday): the days in `from..<before` whose revenue holds another rate (or none) than the
    /// rate `fx_rates` now gives them, for the reporting currency in force. Nothing without one.
    static func fxDays(
        _ db: Connection, reportingCurrency: String?, maxAgeDays: Int, from: LocalDate, before: LocalDate
    ) throws -> [LocalDate] {
        guard let reportingCurrency, from < before else { return [] }
        let rows = try db.query(
            """
            SELECT DISTINCT k.day::text AS day
              FROM public.metrics_daily_revenue k
              LEFT JOIN LATERAL (
                SELECT 1::numeric AS rate, k.day AS rate_date WHERE k.currency::text = $1::text
                UNION ALL
                (SELECT f.rate, f.rate_date FROM public.fx_rates f
                  WHERE f.reporting_currency = $1::text AND f.currency = k.currency
                    AND f.rate_date <= k.day AND f.rate_date > k.day - $2::int
                  ORDER BY f.rate_date DESC LIMIT 1)
                LIMIT 1) cur ON true
             WHERE k.day >= $3::date AND k.day < $4::date
               AND (k.reporting_currency IS DISTINCT FROM $1::text
                    OR (k.fx_rate, k.fx_rate_date) IS DISTINCT FROM (cur.rate, cur.rate_date))
            """, [reportingCurrency, maxAgeDays, from, before])
        return try rows.compactMap { LocalDate(try $0.decode("day", as: String.self)) }.sorted()
    }

    /// Per source, the mark this run may record: its high water, or just below the first change
    /// it did not handle (a row of a day after its window: `metrics --date` for an old day, or
    /// today's rows on a night), so that such a change is found again by the run whose window
    /// or late days cover it, never skipped by a watermark that moved past it.
    static func handledUpTo(
        _ db: Connection, zone: String, watermarks: [String: String], highWater: [String: String], after: LocalDate
    ) throws -> [String: String] {
        var out: [String: String] = [:]
        for source in sources {
            guard let until = highWater[source.name] else { continue }
            let since = watermarks[source.name]
            let parameters: [any PostgresEncodable] = [after, zone, until] + (since.map { [$0] } ?? [])
            let firsts = source.dayColumns.map { firstChange(source, dayAfterWindow: $0, sinceWatermark: since != nil) }
            let first = try db.scalar(
                "SELECT (least(\(firsts.joined(separator: ", "))) - interval '1 microsecond')::text", parameters,
                as: String.self)
            out[source.name] = first ?? until
        }
        return out
    }

    /// The first change of `source` after its watermark (`$4`) and up to its high water (`$3`)
    /// whose `column` falls on a local day (zone `$2`) after `$1`, as a scalar subquery.
    private static func firstChange(_ source: Source, dayAfterWindow column: String, sinceWatermark: Bool) -> String {
        let since = sinceWatermark ? " AND s.\(source.changedAt) > $4::timestamptz" : ""
        // OFFSET 0 keeps the planner from answering min() by walking the change-time index from
        // its start and filtering by day: 1.8 s over 10M events, against 9 ms through the day
        // index on the benchmark's data.
        return """
            (SELECT min(f.changed) FROM (
              SELECT s.\(source.changedAt) AS changed FROM \(source.table) s
               WHERE s.\(column) >= (($1::date + 1)::timestamp AT TIME ZONE $2)
                 AND s.\(source.changedAt) <= $3::timestamptz\(since) OFFSET 0) f)
            """
    }

    /// Records what this run has handled, in the transaction that commits last: should the
    /// process die before, the next night finds the same changes again.
    static func advance(_ db: Connection, zone: String, highWater: [String: String], runID: Int64) throws {
        for (source, mark) in highWater {
            try db.query(
                """
                INSERT INTO public.metrics_watermarks (source, time_zone, seen_until, run_id)
                VALUES ($1, $2, $3::timestamptz, $4)
                ON CONFLICT (source, time_zone) DO UPDATE
                  SET seen_until = greatest(metrics_watermarks.seen_until, excluded.seen_until),
                      run_id = excluded.run_id, updated_at = now()
                """, [source, zone, mark, runID])
        }
    }

    /// Contiguous runs of `days`, each a range the job can cut into units.
    static func ranges(_ days: [LocalDate]) -> [ClosedRange<LocalDate>] {
        var out: [ClosedRange<LocalDate>] = []
        for day in days.sorted() {
            if let last = out.last, last.upperBound.adding(days: 1) == day {
                out[out.count - 1] = last.lowerBound...day
            } else {
                out.append(day...day)
            }
        }
        return out
    }

    /// What changed in the sources of `from…to` (local days) since run `runID` started, for
    /// the runner's "already succeeded" decision; nil when nothing did.
    static func changedSince(
        _ db: Connection, runID: Int64, from: LocalDate, to: LocalDate, zone: String
    ) throws -> String? {
        let (low, high) = ("($2::date::timestamp AT TIME ZONE $4)", "(($3::date + 1)::timestamp AT TIME ZONE $4)")
        let parts = sources.map { source in
            let onDays = source.dayColumns.map { "(s.\($0) >= \(low) AND s.\($0) < \(high))" }
            return """
                (SELECT count(*) || ' row(s) of \(source.name) changed' FROM \(source.table) s
                  WHERE s.\(source.changedAt) > r.started_at AND (\(onDays.joined(separator: " OR ")))
                 HAVING count(*) > 0)
                """
        }
        let text = try db.scalar(
            "SELECT concat_ws('; ', \(parts.joined(separator: ", "))) FROM public.batch_runs r WHERE r.id = $1",
            [runID, from, to, zone], as: String.self)
        let refunds = try refundDays(db, zone: zone, from: from, before: to.adding(days: 1))
        let calls = try readerDays(db, zone: zone, from: from, before: to.adding(days: 1))
        let all = [
            text ?? "", refunds.isEmpty ? "" : "refunds differ on \(refunds.count) day(s)",
            calls.isEmpty ? "" : "bookings or calls differ on \(calls.count) day(s)",
        ].filter { !$0.isEmpty }
        return all.isEmpty ? nil : all.joined(separator: "; ")
    }
}
