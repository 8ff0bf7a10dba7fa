import ArgumentParser
import Foundation
import Postgres
import Schema

struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending schema migrations (each in one transaction), or list their status.",
        discussion: "Creates the platform schema where absent and leaves an existing one as it is.")

    @OptionGroup var database: DatabaseOptions
    @Flag(help: "List applied, pending and changed migrations; change nothing.")
    var status = false

    func run() throws {
        try execute {
            let logger = cliLogger()
            let connection = try database.connect(logger, applicationName: "samia-batch/migrate")
            defer { connection.close() }
            let migrator = Migrator(connection: connection, migrations: try SchemaMigrations.all())
            if status {
                for s in try migrator.status() {
                    let when = s.appliedAt.map { ISO8601DateFormatter().string(from: $0) } ?? ""
                    print("\(s.state.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) \(s.name) \(when)")
                }
                return
            }
            let applied = try migrator.migrate()
            for name in applied { print("applied \(name)") }
            print(applied.isEmpty ? "schema up to date" : "\(applied.count) migration(s) applied")
            logger.info("migrate finished", metadata: ["event": "migrate", "applied": "\(applied.count)"])
        }
    }
}
