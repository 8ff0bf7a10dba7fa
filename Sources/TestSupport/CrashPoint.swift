import Foundation
import Postgres

/// Kills a running samia-batch at a chosen point of its work, from outside, the way a crash or
/// an OOM kill would: the shipped binary carries no test hooks.
///
/// The point is reached through the database. A trigger the test installs parks the session
/// that fires it on an advisory lock the test holds; once a samia-batch session waits there,
/// the process is killed with SIGKILL. Because the parked transaction never commits, the kill
/// lands exactly "after this statement, before the commit". For "after the commit, before the
/// objects are deleted", the test also queues an `EXCLUSIVE` lock on `storage_outbox` behind the
/// parked transaction: when it commits, the drain that would delete its objects waits behind
/// that lock, and the process is killed there.
public final class CrashPoint {
    private let db: Connection
    private let conninfo: String
    private let key: Int64
    private let name: String
    private let table: String
    private var tableLock: RunningProcess?

    /// Installs the trigger: `timing` is e.g. `BEFORE INSERT`, `AFTER INSERT`; `condition` is a
    /// PL/pgSQL boolean over `NEW`/`OLD` (`true` for every row).
    public init(
        _ configuration: ConnectionConfiguration, table: String, timing: String, condition: String = "true"
    ) throws {
        db = try Connection(configuration)
        conninfo = configuration.conninfo
        key = Int64.random(in: 1...Int64(Int32.max))
        name = "samia_test_crash_\(UInt32.random(in: 0...UInt32.max))"
        self.table = table
        _ = try db.query("SELECT pg_advisory_lock($1)", [key])
        try db.execute(
            """
            CREATE FUNCTION public.\(name)() RETURNS trigger LANGUAGE plpgsql AS $f$
            BEGIN
              IF \(condition) THEN PERFORM pg_advisory_xact_lock(\(key)); END IF;
              RETURN COALESCE(NEW, OLD);
            END $f$;
            CREATE TRIGGER \(name) \(timing) ON public.\(table) FOR EACH ROW EXECUTE FUNCTION public.\(name)();
            """)
    }

    /// Runs `samia-batch ARGS`, kills it once one of its sessions is parked at the point (after
    /// the parked transaction commits and a storage drain waits, with `afterCommit`), and cleans
    /// up. Fails if the process ends without reaching the point.
    public func crash(
        _ arguments: [String], database: ConnectionConfiguration, env: [String: String] = [:],
        afterCommit: Bool = false,
        timeout: Double = 60
    ) throws -> Shell.Result {
        let process = try CLI.start(arguments, database: database, env: env)
        defer { cleanUp() }
        do {
            try waitForSession(db, process, "a session parked at the crash point", timeout: timeout) {
                "wait_event_type = 'Lock' AND wait_event = 'advisory'"
            }
            if afterCommit {
                tableLock = try Shell.start(
                    "/usr/bin/psql",
                    [
                        "-X", "-q", "-d", conninfo, "-c",
                        "BEGIN; LOCK TABLE public.storage_outbox IN EXCLUSIVE MODE; SELECT pg_sleep(\(Int(timeout)));",
                    ])
                try waitForSession(db, process, "the outbox lock queued", timeout: timeout) {
                    "query LIKE 'BEGIN; LOCK TABLE public.storage_outbox%' AND wait_event_type = 'Lock'"
                }
                _ = try db.query("SELECT pg_advisory_unlock($1)", [key])
                try waitForSession(db, process, "a drain waiting for the outbox", timeout: timeout) {
                    "application_name LIKE 'samia-batch%' AND wait_event_type = 'Lock' AND wait_event = 'relation'"
                }
            }
        } catch {
            process.signal(SIGKILL)
            _ = process.wait()
            throw error
        }
        process.signal(SIGKILL)
        return process.wait()
    }

    /// Ends the sessions the killed process left (a parked one would otherwise go on once the
    /// lock is free) and the outbox lock, then removes the trigger.
    private func cleanUp() {
        _ = try? db.query(
            """
            SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()
               AND (application_name LIKE 'samia-batch%' OR query LIKE 'BEGIN; LOCK TABLE public.storage_outbox%')
            """)
        tableLock?.signal(SIGTERM)
        _ = tableLock?.wait()
        _ = try? db.query("SELECT pg_advisory_unlock_all()")
        try? db.execute("DROP TRIGGER IF EXISTS \(name) ON public.\(table); DROP FUNCTION IF EXISTS public.\(name)()")
        db.close()
    }
}

/// Waits until a session of this database other than `db`'s matches `condition`; fails when
/// `process` ends first or the time runs out.
func waitForSession(
    _ db: Connection, _ process: RunningProcess, _ what: String, timeout: Double, where condition: () -> String
) throws {
    let start = Date()
    while Date().timeIntervalSince(start) < timeout {
        let found = try db.scalar(
            """
            SELECT count(*) FROM pg_stat_activity
             WHERE pid <> pg_backend_pid() AND datname = current_database() AND \(condition())
            """,
            as: Int64.self)
        if (found ?? 0) > 0 { return }
        if process.hasExited { throw TestSupportError.toolFailed("samia-batch ended before \(what)") }
        Thread.sleep(forTimeInterval: 0.02)
    }
    throw TestSupportError.toolFailed("no \(what) within \(Int(timeout)) s")
}

/// Makes one statement of a running samia-batch fail from outside, as a cancelled or lost query
/// would: its read of `table` is held up by a lock the test takes, and the session whose
/// `application_name` ends in `sessionSuffix` is cancelled while it waits (SQLSTATE 57014).
public enum CancelledRead {
    public static func run(
        _ arguments: [String], database: ConnectionConfiguration, env: [String: String] = [:], table: String,
        sessionSuffix: String, timeout: Double = 60
    ) throws -> Shell.Result {
        let db = try Connection(database)
        defer { db.close() }
        let lock = try Shell.start(
            "/usr/bin/psql",
            [
                "-X", "-q", "-d", database.conninfo, "-c",
                "BEGIN; LOCK TABLE public.\(table) IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(\(Int(timeout)));",
            ])
        defer {
            _ = try? db.query(
                """
                SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = current_database() AND query LIKE 'BEGIN; LOCK TABLE public.%'
                """)
            _ = lock.wait()
        }
        let process = try CLI.start(arguments, database: database, env: env)
        do {
            try waitForSession(db, process, "the lock held", timeout: timeout) {
                "query LIKE 'BEGIN; LOCK TABLE public.%' AND state = 'active' AND wait_event = 'PgSleep'"
            }
            let waiting = "application_name LIKE '%\(sessionSuffix)' AND wait_event_type = 'Lock'"
            try waitForSession(db, process, "a \(sessionSuffix) session waiting for \(table)", timeout: timeout) {
                waiting
            }
            _ = try db.query(
                """
                SELECT pg_cancel_backend(pid) FROM pg_stat_activity
                 WHERE datname = current_database() AND \(waiting)
                """)
        } catch {
            process.signal(SIGKILL)
            _ = process.wait()
            throw error
        }
        _ = try db.query(
            """
            SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND query LIKE 'BEGIN; LOCK TABLE public.%'
            """)
        return process.wait()
    }
}
