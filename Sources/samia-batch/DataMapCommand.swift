import ArgumentParser
import Foundation
import Postgres
import Privacy
import Retention

struct DataMapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "datamap", abstract: "The personal-data map (policy/data-map.yaml).", subcommands: [Check.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Validate the data map against the database; exit 78 naming the table or column to fix.",
            discussion: """
                Every table and column named must exist, every reach path must follow real foreign keys to the subject,
                every table of the public schema must be mapped, excluded or listed as not_personal with a reason, and
                every column of a mapped table must be classified (personal with a category, or not_personal). An
                unclassified column or table exits 65 naming it; other faults in the map exit 78. Export, erasure and
                retention run the same check before they touch anything. The map is SAMIA_DATA_MAP, else data-map.yaml in the policy
                directory.
                """)

        @OptionGroup var database: DatabaseOptions
        @Option(help: "The map to check (default: SAMIA_DATA_MAP or policy/data-map.yaml).") var map: String?

        func run() throws {
            try execute {
                var env = ProcessInfo.processInfo.environment
                if let map { env["SAMIA_DATA_MAP"] = map }
                let (dataMap, path) = try DataMap.load(environment: env)
                let connection = try database.connect(cliLogger(), applicationName: "samia-batch/datamap")
                defer { connection.close() }
                let report = try DataMapValidator(connection: connection).validate(
                    dataMap, file: path, sampleDeclared: true)
                print(
                    "\(path): ok: \(report.mapped) table(s) mapped, \(report.excluded) excluded, "
                        + "\(dataMap.notPersonal.count) holding no personal data; every column classified; "
                        + "\(report.reaching.count) table(s) reference \(dataMap.subjectTable) through foreign keys, all covered"
                )
                for column in report.unindexed {
                    let parts = column.split(separator: ".")
                    print(
                        "warning: reach column \(column) leads no index: every export, erasure and hold check "
                            + "reads its table whole (CREATE INDEX ON public.\(parts[0]) (\(parts[1])))")
                }
                for column in report.suspicious {
                    print("warning: \(column), but the map calls it not personal: check its classification")
                }
                let (policy, _, _) = try RetentionPolicy.load(environment: env)
                for line in try policy.check(map: dataMap, connection: connection) { print(line) }
            }
        }
    }
}
