import Postgres

/// Duplicate events counted once. A sender that retries writes the same event (the same
/// `event_uuid`) twice; the copies after the first written (lowest id) are recorded in
/// `metrics_event_duplicates` and the events statement leaves them out. Copies are looked for
/// among the events received since the last search, whatever day they belong to, so a night
/// probes one day's arrivals through the `event_uuid` index instead of grouping every event of
/// its window; the first search of a database reads every event that has a uuid.
enum MetricsDuplicates {
    /// The mark in `metrics_watermarks`: the newest `received_at` searched, for every zone.
    static let mark = (source: "events_raw duplicates", zone: "*")

    /// Records the copies among the events received since the mark and moves the mark, in one
    /// statement committed on its own before the sessions take their snapshot, so that every
    /// session leaves the same copies out. Safe to repeat: a copy is recorded once. Returns the
    /// copies newly found.
    static func record(_ db: Connection, runID: Int64) throws -> Int64 {
        try db.scalar(
            """
            WITH top AS (SELECT max(received_at) AS until FROM public.events_raw),
            arrived AS (
              SELECT e.id, e.event_uuid, e.occurred_at FROM public.events_raw e
               WHERE e.event_uuid IS NOT NULL AND e.received_at <= (SELECT until FROM top)
                 AND e.received_at > coalesce((SELECT seen_until FROM public.metrics_watermarks
                                                WHERE source = $1 AND time_zone = $2), '-infinity')
            ),
            copies AS (
              SELECT a.*, (SELECT min(x.id) FROM public.events_raw x WHERE x.event_uuid = a.event_uuid) AS original_id
                FROM arrived a
            ),
            added AS (
              INSERT INTO public.metrics_event_duplicates (id, original_id, event_uuid, occurred_at, run_id)
              SELECT id, original_id, event_uuid, occurred_at, $3 FROM copies WHERE id <> original_id
              ON CONFLICT (id) DO NOTHING RETURNING 1
            ),
            moved AS (
              INSERT INTO public.metrics_watermarks (source, time_zone, seen_until, run_id)
              SELECT $1, $2, until, $3 FROM top WHERE until IS NOT NULL
              ON CONFLICT (source, time_zone) DO UPDATE
                SET seen_until = greatest(metrics_watermarks.seen_until, excluded.seen_until),
                    run_id = excluded.run_id, updated_at = now()
            )
            SELECT count(*) FROM added
            """, [mark.source, mark.zone, runID], as: Int64.self) ?? 0
    }
}
