/// A key in PostgreSQL's advisory-lock space, derived from a name so every process agrees.
///
/// The first half is fixed to samia-batch's namespace so our locks never collide with the
/// platform's own advisory locks; the second is a stable 32-bit FNV-1a hash of the name.
public struct AdvisoryLockKey: Sendable, Hashable, CustomStringConvertible {
    public static let namespace: Int32 = 0x5A_4D_42  // "ZMB"
    public let name: String
    public let objectID: Int32

    public init(_ name: String) {
        self.name = name
        var hash: UInt32 = 2_166_136_261
        for byte in name.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        self.objectID = Int32(bitPattern: hash)
    }

    public var description: String { "advisory lock \(name) (\(AdvisoryLockKey.namespace), \(objectID))" }
}

extension Connection {
    /// Takes a session-level advisory lock if it is free; never waits.
    ///
    /// Session locks last until `advisoryUnlock` or the connection ends, so a crashed process
    /// releases its lock automatically. They only mean something on a direct (or session-pooled)
    /// connection: a transaction-mode pooler would hand the session to someone else.
    public func tryAdvisoryLock(_ key: AdvisoryLockKey) throws(PostgresError) -> Bool {
        try scalar("SELECT pg_try_advisory_lock($1::int4, $2::int4)", [AdvisoryLockKey.namespace, key.objectID])
            ?? false
    }

    /// Releases a lock taken by `tryAdvisoryLock`; false if this session did not hold it.
    @discardableResult
    public func advisoryUnlock(_ key: AdvisoryLockKey) throws(PostgresError) -> Bool {
        try scalar("SELECT pg_advisory_unlock($1::int4, $2::int4)", [AdvisoryLockKey.namespace, key.objectID]) ?? false
    }

    /// True if this session still holds the lock (checked in `pg_locks`, not remembered).
    public func holdsAdvisoryLock(_ key: AdvisoryLockKey) throws(PostgresError) -> Bool {
        try scalar(
            """
            SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()
              AND classid = $1::int4::oid AND objid = $2::int4::oid AND objsubid = 2 AND granted)
            """, [AdvisoryLockKey.namespace, key.objectID]) ?? false
    }

    /// The backend pid and application name of whoever holds the lock, for the "already running" message.
    public func advisoryLockHolder(_ key: AdvisoryLockKey) throws(PostgresError) -> (pid: Int32, application: String)? {
        let result = try query(
            """
            SELECT l.pid, coalesce(a.application_name, '') AS app FROM pg_locks l
              LEFT JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE l.locktype = 'advisory' AND l.classid = $1::int4::oid AND l.objid = $2::int4::oid
               AND l.objsubid = 2 AND l.granted LIMIT 1
            """, [AdvisoryLockKey.namespace, key.objectID])
        guard result.count == 1 else { return nil }
        return (try result[0].decode("pid"), try result[0].decode("app"))
    }
}
