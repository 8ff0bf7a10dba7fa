import ArgumentParser
import Foundation
import Privacy

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "The tamper-evident audit trail (audit_log).", subcommands: [Verify.self])

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Walk audit_log's hash chain; exit 1 naming the first broken row.",
            discussion: """
                Every row's hash is recomputed from its content and the previous row's hash, in one snapshot: a row
                changed, deleted or inserted around the chain (by anyone with direct database access) is named with its
                id and place in the chain. Exit 0 when every row and the chain head agree. Read-only.
                """)

        @OptionGroup var database: DatabaseOptions

        func run() throws {
            try execute {
                let connection = try database.connect(cliLogger(), applicationName: "samia-batch/audit")
                defer { connection.close() }
                let report = try AuditChain(connection: connection).verify()
                guard let broken = report.firstBreak else {
                    print(
                        "audit_log: \(report.rows) row(s), chain intact to position \(report.headPosition) (head \(report.headHash.prefix(16))…)"
                    )
                    return
                }
                let row = broken.id.map { "row id \($0)" } ?? "the chain's end"
                let place = broken.position.map { " (position \($0))" } ?? ""
                FileHandle.standardError.write(
                    Data("samia-batch: audit_log chain broken at \(row)\(place): \(broken.problem)\n".utf8))
                throw ExitCode.failure
            }
        }
    }
}
