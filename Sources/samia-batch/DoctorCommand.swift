import ArgumentParser
import Foundation
import Postgres
import Runner

struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check every precondition the jobs check before work, one line each with what to do.",
        discussion: """
            Checks the connection, the role's rights (row-level security), the pooler mode, migrations, the clock
            against the database's, the business time zone, storage (writable, free space against
            SAMIA_STORAGE_MIN_FREE_MB), fonts, the signing key, the seller settings and every policy file. Run it
            after an install, a password rotation or a storage move, and before enabling the timers. Changes
            nothing (a probe object is written to storage and deleted). Exit 0 when every check passes (warnings
            included), 78 when any fails.
            """)

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let configuration: ConnectionConfiguration
        do { configuration = try database.configuration() } catch {
            print(Doctor.Finding(check: "connection", verdict: .failure, detail: "\(error)", action: nil).line)
            throw ExitCode(ExitStatus.configuration.rawValue)
        }
        let doctor = Doctor(
            configuration: configuration, retry: database.retry, env: ProcessInfo.processInfo.environment,
            logger: cliLogger())
        let findings = doctor.run()
        for finding in findings { print(finding.line) }
        let failed = findings.filter { $0.verdict == .failure }.count
        guard failed == 0 else {
            print("\(failed) of \(findings.count) checks failed")
            throw ExitCode(ExitStatus.configuration.rawValue)
        }
        print("all \(findings.count) checks passed")
    }
}
