import Foundation
import Postgres
import TestSupport
import Testing

@Suite("Connections, errors, transactions, COPY, locks", .tags(.database))
struct ConnectionTests {
    let config: ConnectionConfiguration
    let connection: Connection

    init() throws {
        config = try TestCluster.shared().freshDatabase()
        connection = try Connection(config)
    }

    @Test func serverErrorsCarrySQLStateAndKeepValuesOutOfDescription() throws {
        try connection.execute("CREATE TABLE u (email text UNIQUE)")
        try connection.query("INSERT INTO u VALUES ($1)", ["someone@example.com"])
        let error = #expect(throws: PostgresError.self) {
            try connection.query("INSERT INTO u VALUES ($1)", ["someone@example.com"])
        }
        #expect(error?.sqlState == "23505")
        #expect(error?.isTransient == false)
        #expect(error?.detail?.contains("someone@example.com") == true)
        #expect(!(error.map { "\($0)" } ?? "").contains("someone@example.com"))
        let syntax = #expect(throws: PostgresError.self) { try connection.execute("SELEC 1") }
        #expect(syntax?.sqlState == "42601")
    }

    @Test func aSharedSnapshotHidesWhatWasCommittedAfterIt() throws {
        try connection.execute("CREATE TABLE s (n int); INSERT INTO s VALUES (1)")
        let other = try Connection(config)
        let writer = try Connection(config)
        try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        try other.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        try connection.shareSnapshot(with: [other])
        // Committed after the snapshot: the other session, which has not queried yet, must not
        // see it, as it would with a snapshot of its own taken at its first query.
        try writer.execute("INSERT INTO s VALUES (2)")
        #expect(try other.scalar("SELECT count(*) FROM s", as: Int64.self) == 1)
        #expect(try connection.scalar("SELECT count(*) FROM s", as: Int64.self) == 1)
        #expect(try writer.scalar("SELECT count(*) FROM s", as: Int64.self) == 2)
        try other.execute("COMMIT")
        try connection.execute("COMMIT")
    }

    @Test func malformedURLIsAConfigurationErrorWithoutThePassword() {
        let error = #expect(throws: PostgresError.self) {
            _ = try ConnectionConfiguration(conninfo: "postgresql://u:secret@%zz/db", environment: [:])
        }
        #expect(error?.code == .configuration)
        #expect(!(error.map { "\($0)" } ?? "").contains("secret"))
        let ok = try? ConnectionConfiguration(
            conninfo: "postgresql://u:secret@db.example:6543/app?sslmode=require", environment: [:])
        #expect(ok?.target == "db.example:6543/app as u")
    }

    @Test func unreachableServerIsATransientConnectionError() throws {
        let bad = try ConnectionConfiguration(
            conninfo: "host=127.0.0.1 port=1 dbname=x password=secret", environment: [:])
        let error = #expect(throws: PostgresError.self) { _ = try Connection(bad) }
        #expect(error?.code == .connection)
        #expect(error?.isTransient == true)
        #expect(error?.context?.contains("127.0.0.1:1") == true)
        #expect(!(error.map { String(reflecting: $0) } ?? "").contains("secret"))
    }

    @Test func terminatedBackendIsTransient() throws {
        let other = try Connection(config)
        try other.query("SELECT pg_terminate_backend($1)", [connection.backendPID])
        let error = #expect(throws: PostgresError.self) { try connection.query("SELECT 1") }
        #expect(error?.isTransient == true)
    }

    @Test func transactionRollsBackOnErrorAndSavepointKeepsOuterWork() throws {
        try connection.execute("CREATE TABLE t (v int)")
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try connection.transaction { c in
                try c.query("INSERT INTO t VALUES (1)")
                throw Boom()
            }
        }
        #expect(try connection.scalar("SELECT count(*) FROM t", as: Int64.self) == 0)
        try connection.transaction { c in
            try c.query("INSERT INTO t VALUES (2)")
            _ = try? c.savepoint { s in
                try s.query("INSERT INTO t VALUES (3)")
                try s.query("SELECT 1/0")
            }
        }
        #expect(try connection.scalar("SELECT string_agg(v::text, ',') FROM t", as: String.self) == "2")
    }

    @Test func copyOutStreamsInChunksAndMatchesTheServer() throws {
        var chunks = 0
        var bytes = [UInt8]()
        let rows = try connection.copyOut(
            "COPY (SELECT g, 'row ' || g || ' نص' FROM generate_series(1, 50000) g) TO STDOUT WITH (FORMAT csv)",
            chunkSize: 1 << 14
        ) { chunk in
            chunks += 1
            bytes.append(contentsOf: chunk)
        }
        #expect(rows == 50000)
        #expect(chunks > 10)
        let expected: String? = try connection.scalar(
            "SELECT md5(string_agg(g || ',row ' || g || ' نص' || E'\\n', '' ORDER BY g)) FROM generate_series(1, 50000) g"
        )
        let text = String(decoding: bytes, as: UTF8.self)
        let actual: String? = try connection.scalar("SELECT md5($1)", [text])
        #expect(actual == expected)
    }

    @Test func copyInLoadsRowsAndAbortsCleanlyOnSourceError() throws {
        try connection.execute("CREATE TABLE s (id int, name text)")
        var parts: [[UInt8]] = [Array("1,أحمد\n2,Emma\n".utf8), Array("3,\"with, comma\"\n".utf8)]
        let n = try connection.copyIn("COPY s FROM STDIN WITH (FORMAT csv)") {
            parts.isEmpty ? nil : parts.removeFirst()
        }
        #expect(n == 3)
        #expect(try connection.scalar("SELECT name FROM s WHERE id = 3", as: String.self) == "with, comma")
        struct BadFile: Error {}
        var calls = 0
        #expect(throws: BadFile.self) {
            try connection.copyIn("COPY s FROM STDIN WITH (FORMAT csv)") {
                calls += 1
                if calls == 1 { return Array("4,x\n".utf8) }
                throw BadFile()
            }
        }
        #expect(try connection.scalar("SELECT count(*) FROM s", as: Int64.self) == 3)
        #expect(try connection.scalar("SELECT 1", as: Int64.self) == 1)
    }

    @Test func advisoryLocksExcludeOtherSessionsAndDieWithTheConnection() throws {
        let key = AdvisoryLockKey("test-lock")
        let other = try Connection(config)
        #expect(try connection.tryAdvisoryLock(key))
        #expect(try connection.holdsAdvisoryLock(key))
        #expect(try other.tryAdvisoryLock(key) == false)
        #expect(try other.advisoryLockHolder(key)?.pid == connection.backendPID)
        connection.close()
        Thread.sleep(forTimeInterval: 0.2)
        #expect(try other.tryAdvisoryLock(key))
        #expect(AdvisoryLockKey("a").objectID != AdvisoryLockKey("b").objectID)
    }
}
