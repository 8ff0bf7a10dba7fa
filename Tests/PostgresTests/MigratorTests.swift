import Foundation
import Postgres
import TestSupport
import Testing

@Suite("Migrations", .tags(.database))
struct MigratorTests {
    let connection: Connection

    init() throws {
        connection = try Connection(try TestCluster.shared().freshDatabase(migrated: false))
    }

    let first = Migration(name: "x/0001_a", sql: "CREATE TABLE a (id int)")
    let second = Migration(name: "x/0002_b", sql: "CREATE TABLE b (id int); INSERT INTO b VALUES (1)")

    @Test func appliesOnceAndIsIdempotent() throws {
        let migrator = Migrator(connection: connection, migrations: [first, second])
        #expect(try migrator.status().map(\.state) == [.pending, .pending])
        #expect(try migrator.migrate() == ["x/0001_a", "x/0002_b"])
        #expect(try migrator.migrate() == [])
        #expect(try migrator.status().map(\.state) == [.applied, .applied])
        #expect(
            try connection.scalar("SELECT checksum FROM _migrations WHERE name = 'x/0001_a'", as: String.self)
                == first.checksum)
    }

    @Test func checksumDriftIsAnErrorNamingTheMigration() throws {
        try Migrator(connection: connection, migrations: [first]).migrate()
        let edited = Migration(name: first.name, sql: first.sql + " -- edited")
        let migrator = Migrator(connection: connection, migrations: [edited, second])
        #expect(throws: MigrationError.self) { try migrator.migrate() }
        do { try migrator.migrate() } catch { #expect("\(error)".contains("x/0001_a")) }
        #expect(try connection.scalar("SELECT to_regclass('b') IS NULL", as: Bool.self) == true)
        #expect(try migrator.status().first?.state == .changed)
    }

    @Test func aFailingMigrationLeavesNothingBehind() throws {
        let broken = Migration(
            name: "x/0003_broken", sql: "CREATE TABLE c (id int); INSERT INTO c VALUES ('not a number')")
        let migrator = Migrator(connection: connection, migrations: [first, broken])
        do {
            try migrator.migrate()
            Issue.record("expected failure")
        } catch let MigrationError.failed(name, underlying) {
            #expect(name == "x/0003_broken")
            #expect(underlying.sqlState == "22P02")
        }
        #expect(try connection.scalar("SELECT to_regclass('c') IS NULL", as: Bool.self) == true)
        #expect(try connection.scalar("SELECT count(*) FROM _migrations", as: Int64.self) == 1)
    }
}
