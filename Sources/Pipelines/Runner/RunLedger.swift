import Foundation
import Postgres

/// One row of `batch_runs`, for `samia-batch runs` and freshness checks.
public struct RunRecord: Sendable {
    public let id: Int64
    public let job: String
    public let partitionKey: String
    public let status: String
    public let dryRun: Bool
    public let attempts: Int
    public let startedAt: Date
    public let finishedAt: Date?
    public let host: String
    public let version: String
    public let stats: String
    public let error: String?
}

/// The run ledger in `batch_runs`: what ran, where, with what parameters and outcome.
public struct RunLedger {
    let connection: Connection

    public init(connection: Connection) { self.connection = connection }

    /// The partition's latest real (non-dry-run) finished run, when that run succeeded. A later
    /// failed or aborted run (a forced re-run that broke, say) makes the partition due again, so
    /// an interrupted backfill resumes at the first day whose last attempt did not succeed.
    /// With `matching`, only runs recorded with those parameters count: a day computed in UTC
    /// is not the same partition as that day in Asia/Beirut.
    public func lastSuccess(job: String, partition: Partition, matching: [String: String] = [:]) throws -> Int64? {
        try connection.scalar(
            """
            SELECT id FROM (
              SELECT id, status FROM batch_runs
               WHERE job = $1 AND partition_key = $2 AND NOT dry_run AND status <> 'running' AND parameters @> $3::jsonb
               ORDER BY id DESC LIMIT 1) latest
             WHERE status = 'succeeded'
            """, [job, partition.key, try JSONText(encoding: matching)])
    }

    /// Per job: when it last succeeded (a real run), and when it last ran at all.
    public struct Freshness: Sendable, Equatable {
        public let job: String
        public let lastSuccess: Date?
        public let lastRun: Date?
    }

    /// Freshness of every job in the ledger plus `expected` ones that may never have run.
    public func freshness(expected: [String]) throws -> [Freshness] {
        let result = try connection.query(
            """
            SELECT j.job, max(r.finished_at) FILTER (WHERE r.status = 'succeeded' AND NOT r.dry_run) AS last_success,
                   max(r.started_at) AS last_run
              FROM (SELECT DISTINCT job FROM public.batch_runs UNION SELECT unnest($1::text[])) j
              LEFT JOIN public.batch_runs r ON r.job = j.job
             GROUP BY j.job ORDER BY j.job
            """, [PostgresArray(expected)])
        return try result.map { row in
            Freshness(
                job: try row.decode("job"), lastSuccess: try row.decodeOptional("last_success"),
                lastRun: try row.decodeOptional("last_run"))
        }
    }

    /// What happened to each partition of `job` in `partitions`, judged by the latest real
    /// finished run covering it (a day is covered by its own run and by a range run over it):
    /// `succeeded`, `failed` (also partial or aborted), or absent when nothing ever ran.
    public func partitionStates(job: String, partitions: [Partition], matching: [String: String] = [:]) throws
        -> [Partition: String]
    {
        let rows = try connection.query(
            """
            SELECT id, partition_key, status FROM public.batch_runs
             WHERE job = $1 AND NOT dry_run AND status <> 'running' AND parameters @> $2::jsonb ORDER BY id
            """, [job, try JSONText(encoding: matching)])
        var latest: [Partition: (id: Int64, status: String)] = [:]
        let wanted = Set(partitions)
        for row in rows {
            let id: Int64 = try row.decode(0)
            let key: String = try row.decode(1)
            let status: String = try row.decode(2)
            var covered: [Partition] = []
            if key.contains(".."), let days = Partition(kind: .range, key: key).dayRange {
                var day = days.lowerBound
                while day <= days.upperBound {
                    covered.append(.day(day))
                    day = day.adding(days: 1)
                }
            } else {
                covered = partitions.filter { $0.key == key }
            }
            for p in covered where wanted.contains(p) {
                if let seen = latest[p], seen.id > id { continue }
                latest[p] = (id, status == "succeeded" ? "succeeded" : "failed")
            }
        }
        return latest.mapValues(\.status)
    }

    /// Marks runs left `running` by a process that vanished as aborted. Only call while
    /// holding the job's lock: then nobody else can be running them.
    @discardableResult
    public func abortStale(job: String) throws -> Int {
        try connection.query(
            """
            UPDATE batch_runs SET status = 'aborted', finished_at = now(),
                   error = coalesce(error, 'process ended without recording an outcome')
             WHERE job = $1 AND status = 'running'
            """, [job]
        ).affectedRows
    }

    /// The `application_name` of the session that holds run `runID` of `job` open.
    public static func sessionName(job: String, runID: Int64) -> String {
        String("samia-batch/\(job)/run-\(runID)".filter { $0 != "'" }.prefix(63))
    }

    /// For jobs run by several workers at once: marks aborted the running rows whose
    /// session (named by `sessionName`) is gone from the server, i.e. whose process died.
    /// Rows younger than a minute are left alone: their session may not be named yet.
    @discardableResult
    public func abortVanished(job: String) throws -> Int {
        try connection.query(
            """
            UPDATE batch_runs r SET status = 'aborted', finished_at = now(),
                   error = coalesce(error, 'process ended without recording an outcome')
             WHERE r.job = $1 AND r.status = 'running' AND r.started_at < now() - interval '1 minute'
               AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a
                                WHERE a.datname = current_database()
                                  AND a.application_name = left('samia-batch/' || r.job || '/run-' || r.id, 63))
            """, [job]
        ).affectedRows
    }

    /// Records a run as started and names the ledger session after it (`sessionName`) in the
    /// same statement, with the session's pid in `session_pid`: from the moment the row is
    /// visible, `reapDead` can tell whether the process behind it is alive.
    public func start(
        job: String, partition: Partition, dryRun: Bool, host: String, pid: Int32, version: String,
        parameters: [String: String]
    ) throws -> Int64 {
        try connection.scalar(
            """
            WITH run AS (
              INSERT INTO batch_runs (job, partition_key, status, dry_run, host, pid, version, parameters, session_pid)
              VALUES ($1, $2, 'running', $3, $4, $5, $6, $7::jsonb, pg_backend_pid()) RETURNING id)
            SELECT id FROM run
             WHERE set_config('application_name', left('samia-batch/' || $1 || '/run-' || id, 63), false) IS NOT NULL
            """, [job, partition.key, dryRun, host, pid, version, try JSONText(encoding: parameters)])!
    }

    /// Marks aborted every `running` row, of any job, whose process is gone: no server session
    /// with its ledger session's pid (or name) is left, and nobody holds its job's lock. A
    /// process killed with -9, a host that died and a PostgreSQL restart all leave such rows;
    /// any start of any job and `samia-batch runs` clear them, so no phantom run lingers in
    /// the ledger or the metrics until the same job happens to start again.
    @discardableResult
    public func reapDead(lockKey: (String) -> AdvisoryLockKey) throws -> Int {
        let jobs: [String] = try connection.query("SELECT DISTINCT job FROM public.batch_runs WHERE status = 'running'")
            .map { try $0.decode(0) }
        guard !jobs.isEmpty else { return 0 }
        return try connection.query(
            """
            UPDATE public.batch_runs r SET status = 'aborted', finished_at = now(),
                   error = coalesce(error, 'process ended without recording an outcome (its database session is gone)')
             WHERE r.status = 'running'
               AND (r.session_pid IS NOT NULL OR r.started_at < now() - interval '1 minute')
               -- Sessions of this database only: run ids restart in every database on the server.
               AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a
                                WHERE a.datname = current_database()
                                  AND (a.pid = r.session_pid
                                       OR a.application_name = left('samia-batch/' || r.job || '/run-' || r.id, 63)))
               AND NOT EXISTS (SELECT 1 FROM unnest($1::text[], $2::int4[]) k(job, objid)
                                 JOIN pg_locks l ON l.locktype = 'advisory' AND l.classid = $3::int4::oid
                                  AND l.objid = k.objid::oid AND l.objsubid = 2 AND l.granted
                                  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                                WHERE k.job = r.job)
            """,
            [PostgresArray(jobs), PostgresArray(jobs.map { lockKey($0).objectID }), AdvisoryLockKey.namespace]
        ).affectedRows
    }

    public func attempt(runID: Int64, attempts: Int) throws {
        try connection.query("UPDATE batch_runs SET attempts = $2 WHERE id = $1", [runID, attempts])
    }

    /// Records a running job's progress so far (`samia-batch runs` shows it, and a crash
    /// leaves it behind): call it inside the transaction that commits the work it counts.
    public func progress(runID: Int64, stats: [String: Int64]) throws {
        try connection.query(
            "UPDATE batch_runs SET stats = $2::jsonb WHERE id = $1", [runID, try JSONText(encoding: stats)])
    }

    /// Ends the run's row. Without an outcome (the job threw) the figures its transactions
    /// recorded with `progress` stay: a failed run still says what it committed.
    public func finish(runID: Int64, status: String, outcome: JobOutcome?, error: String?) throws {
        let stats: any PostgresEncodable = try outcome.map { try JSONText(encoding: $0.stats) } ?? PostgresNull()
        try connection.query(
            """
            UPDATE batch_runs SET status = $2, finished_at = now(), stats = coalesce($3::jsonb, stats),
                   artifacts = $4::jsonb, error = $5
             WHERE id = $1
            """,
            [runID, status, stats, try JSONText(encoding: outcome?.artifacts ?? []), error])
    }

    /// What an operator does to a run: `kill` ends a live one, `clear` records a dead one.
    public enum OperatorAction: String, Sendable {
        case kill
        case clear
    }

    /// Ends run `runID` as an operator asked, in one transaction with its audit row. `kill`
    /// terminates the run's ledger session (its lock goes with it) and, for a job that runs one
    /// at a time, the job's working session; `clear` refuses a run whose session is alive.
    /// Either way the row becomes `aborted` with who and why. Returns what was done.
    public func stop(
        runID: Int64, action: OperatorAction, by who: String, reason: String, lockKey: (String) -> AdvisoryLockKey
    ) throws -> String {
        try connection.transaction { _ in
            let rows = try connection.query(
                "SELECT job, status, session_pid FROM public.batch_runs WHERE id = $1 FOR UPDATE", [runID])
            guard let row = rows.first else {
                throw BatchError.badInput(file: "batch_runs", line: nil, field: "id", message: "no run \(runID)")
            }
            let (job, status): (String, String) = (try row.decode("job"), try row.decode("status"))
            guard status == "running" else {
                throw BatchError.badInput(
                    file: "batch_runs", line: nil, field: "id", message: "run \(runID) is \(status), not running")
            }
            let sessions = try liveSessions(runID: runID, job: job, lockKey: lockKey(job))
            if action == .clear && !sessions.isEmpty {
                throw BatchError.refused(
                    "run \(runID) is alive (session pid \(sessions.map(String.init).joined(separator: ", "))); "
                        + "stop it with `samia-batch runs kill \(runID) --reason …`")
            }
            for pid in sessions { try connection.query("SELECT pg_terminate_backend($1)", [pid]) }
            let verb = action == .kill ? "killed" : "cleared"
            try connection.query(
                """
                UPDATE public.batch_runs SET status = 'aborted', finished_at = now(),
                       error = format('%s by operator %s: %s', $2::text, $3::text, $4::text)
                 WHERE id = $1
                """, [runID, verb, who, reason])
            try connection.query(
                """
                INSERT INTO public.audit_log (actor_role, event, entity, entity_id, meta)
                VALUES ('operator', $1, 'batch_runs', $2,
                        jsonb_build_object('by', $3::text, 'reason', $4::text, 'job', $5::text,
                                           'sessions_terminated', $6::int4[]))
                """, ["batch_run_\(verb)", String(runID), who, reason, job, PostgresArray(sessions)])
            return "run \(runID) (\(job)) \(verb) by \(who); \(sessions.count) session(s) ended"
        }
    }

    /// The server sessions of a running run: its ledger session (by pid or name) and, when that
    /// session holds the job's lock (a one-at-a-time job), the job's working session too.
    /// Another, newer run of the same job is never among them.
    func liveSessions(runID: Int64, job: String, lockKey: AdvisoryLockKey) throws -> [Int32] {
        try connection.query(
            """
            WITH run AS (SELECT * FROM public.batch_runs WHERE id = $1),
            ledger AS (
              SELECT a.pid FROM pg_stat_activity a, run r
               WHERE a.pid <> pg_backend_pid() AND a.datname = current_database()
                 AND (a.pid = r.session_pid OR a.application_name = left('samia-batch/' || r.job || '/run-' || r.id, 63)))
            SELECT pid FROM ledger
            UNION
            SELECT a.pid FROM pg_stat_activity a, run r
             WHERE a.application_name = 'samia-batch/' || r.job AND a.pid <> pg_backend_pid()
               AND a.datname = current_database()
               AND EXISTS (SELECT 1 FROM pg_locks l
                            WHERE l.locktype = 'advisory' AND l.classid = $2::int4::oid AND l.objid = $3::int4::oid
                              AND l.objsubid = 2 AND l.granted AND l.pid IN (SELECT pid FROM ledger))
            ORDER BY 1
            """, [runID, AdvisoryLockKey.namespace, lockKey.objectID]
        ).map { try $0.decode("pid") }
    }

    /// Recent runs, newest first.
    public func recent(job: String?, limit: Int) throws -> [RunRecord] {
        let rows = try connection.query(
            """
            SELECT id, job, partition_key, status, dry_run, attempts, started_at, finished_at, host, version,
                   stats::text AS stats, error
              FROM batch_runs WHERE ($1::text IS NULL OR job = $1) ORDER BY id DESC LIMIT $2
            """, [job, limit])
        return try rows.map { r in
            RunRecord(
                id: try r.decode("id"), job: try r.decode("job"), partitionKey: try r.decode("partition_key"),
                status: try r.decode("status"), dryRun: try r.decode("dry_run"), attempts: try r.decode("attempts"),
                startedAt: try r.decode("started_at"), finishedAt: try r.decodeOptional("finished_at"),
                host: try r.decode("host"), version: try r.decode("version"), stats: try r.decode("stats"),
                error: try r.decodeOptional("error"))
        }
    }
}
