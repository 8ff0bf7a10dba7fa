import Foundation
import Invoicing
import Logging
import Parity
import Postgres
import Privacy
import Reconciliation
import Reports
import Runner
import Schema
import Storage

/// Every precondition a job checks before its work, run at once for an operator: after an
/// install, a password rotation, a move of the storage volume, before enabling the timers.
///
/// Each check ends in one `Finding`: ok, a warning (works, but probably not as meant) or a
/// failure with what to do. A check that cannot be made (no connection) is a failure, never a
/// pass: `doctor` exits 0 only when every job could start.
struct Doctor {
    enum Verdict: String {
        case ok = "ok"
        case warning = "WARN"
        case failure = "FAIL"
    }

    struct Finding {
        let check: String
        let verdict: Verdict
        let detail: String
        /// What to do about it; nil when there is nothing to do.
        let action: String?

        var line: String {
            let head =
                verdict.rawValue.padding(toLength: 5, withPad: " ", startingAt: 0)
                + check.padding(toLength: 16, withPad: " ", startingAt: 0)
            // One line, whatever the server's message holds (libpq's have newlines and tabs).
            let flat = detail.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            return head + flat.joined(separator: " ") + (action.map { " → \($0)" } ?? "")
        }
    }

    let configuration: ConnectionConfiguration
    let retry: RetryPolicy
    let env: [String: String]
    let logger: Logger

    /// The findings, in the order an operator would fix them: the database first.
    func run() -> [Finding] {
        var findings: [Finding] = []
        let runner = Runner(configuration: configuration, logger: logger, version: SamiaVersion.version)
        do {
            let connection = try runner.connect(applicationName: "samia-batch/doctor", retry: retry)
            defer { connection.close() }
            findings.append(connected(connection))
            findings.append(check("role rights") { try roleRights(connection) })
            findings.append(check("pooler") { try pooler(runner) })
            findings.append(check("migrations") { try migrations(connection) })
            findings.append(check("clock") { try clock(connection) })
        } catch {
            findings.append(
                Finding(
                    check: "connection", verdict: .failure, detail: "\(error)", action: Self.connectionAdvice(error)))
            for name in ["role rights", "pooler", "migrations", "clock"] {
                findings.append(
                    Finding(check: name, verdict: .failure, detail: "not checked: no connection", action: nil))
            }
        }
        findings.append(check("time zone") { try timeZone() })
        findings.append(check("storage") { try storage() })
        findings.append(check("fonts") { try fonts() })
        findings.append(check("signing key") { try signingKey() })
        findings.append(check("seller") { try seller() })
        findings.append(contentsOf: policies())
        return findings
    }

    /// Runs `body`; a thrown error is a failure whose action is the error's own advice.
    private func check(_ name: String, _ body: () throws -> Finding) -> Finding {
        do { return try body() } catch {
            return Finding(check: name, verdict: .failure, detail: "\(error)", action: Self.advice(for: error))
        }
    }

    static func connectionAdvice(_ error: any Error) -> String {
        switch BatchError.exitStatus(for: error) {
        case .temporaryFailure: return "is the server up, and are host and port right? (jobs would exit 75)"
        case .permissionDenied: return "fix the password or the role, or pg_hba.conf (jobs would exit 77)"
        default: return "fix DATABASE_URL: host, port, database name (jobs would exit 78)"
        }
    }

    static func advice(for error: any Error) -> String? {
        switch BatchError.exitStatus(for: error) {
        case .configuration: return "fix the setting named (docs/operations.md)"
        case .permissionDenied: return "grant what is named, or use the batch role"
        case .ioError: return "free space on the storage volume"
        default: return nil
        }
    }

    private func connected(_ connection: Connection) -> Finding {
        let version = (try? connection.scalar("SHOW server_version", as: String.self)) ?? "?"
        let role = (try? connection.scalar("SELECT current_user", as: String.self)) ?? "?"
        return Finding(
            check: "connection", verdict: .ok,
            detail: "\(configuration.displayTarget) as \(role), PostgreSQL \(version)", action: nil)
    }

    private func roleRights(_ connection: Connection) throws -> Finding {
        let role = try connection.scalar("SELECT current_user", as: String.self) ?? "?"
        let hidden = try RoleRights.hiddenRows(on: connection)
        guard hidden.isEmpty else {
            return Finding(
                check: "role rights", verdict: .failure,
                detail: "row-level security hides rows of \(hidden.count) table(s) from \(role): "
                    + hidden.prefix(5).joined(separator: ", ") + (hidden.count > 5 ? ", …" : ""),
                action: "ALTER ROLE \(role) BYPASSRLS, or run as the tables' owner")
        }
        return Finding(check: "role rights", verdict: .ok, detail: "\(role) sees every row", action: nil)
    }

    private func pooler(_ runner: Runner) throws -> Finding {
        let session = try runner.sessionConnection(job: "doctor", purpose: "pooler-probe", retry: retry)
        session.close()
        let trusted = env["SAMIA_TRUST_POOLER"] == "session"
        return Finding(
            check: "pooler", verdict: .ok,
            detail: trusted
                ? "not probed: SAMIA_TRUST_POOLER=session" : "a session of our own (direct, or a session-mode pooler)",
            action: nil)
    }

    private func migrations(_ connection: Connection) throws -> Finding {
        let status = try Migrator(connection: connection, migrations: try SchemaMigrations.all()).status()
        if let changed = status.first(where: { $0.state == .changed }) {
            return Finding(
                check: "migrations", verdict: .failure,
                detail: "\(changed.name) was applied with other contents than this release's",
                action: "find out who changed it; this binary and the schema disagree")
        }
        let pending = status.filter { $0.state == .pending }
        guard pending.isEmpty else {
            return Finding(
                check: "migrations", verdict: .failure,
                detail: "\(pending.count) pending (first: \(pending[0].name))", action: "samia-batch migrate")
        }
        return Finding(check: "migrations", verdict: .ok, detail: "\(status.count) applied", action: nil)
    }

    /// The host's clock against the database's: the ledger, retention cut-offs and documents'
    /// dates mix both, so they must agree to the second or so.
    private func clock(_ connection: Connection) throws -> Finding {
        let before = Date()
        let server = try connection.scalar("SELECT extract(epoch FROM clock_timestamp())::float8", as: Double.self) ?? 0
        let after = Date()
        let local = (before.timeIntervalSince1970 + after.timeIntervalSince1970) / 2
        let skew = server - local
        let text = String(format: "%+.1f s against the database", skew)
        guard abs(skew) <= 5 + after.timeIntervalSince(before) / 2 else {
            return Finding(
                check: "clock", verdict: .failure, detail: text,
                action: "synchronise this host's clock (systemd-timesyncd, chrony)")
        }
        return Finding(check: "clock", verdict: .ok, detail: text, action: nil)
    }

    private func timeZone() throws -> Finding {
        guard let name = env["SAMIA_TIMEZONE"] else {
            return Finding(
                check: "time zone", verdict: .warning, detail: "SAMIA_TIMEZONE unset: business days are cut in UTC",
                action: "set SAMIA_TIMEZONE to the service's zone (Asia/Beirut)")
        }
        guard let zone = TimeZone(identifier: name) else {
            return Finding(
                check: "time zone", verdict: .failure, detail: "SAMIA_TIMEZONE=\(name) is not a known time zone",
                action: "use an IANA name such as Asia/Beirut")
        }
        let offset = zone.secondsFromGMT() / 60
        return Finding(
            check: "time zone", verdict: .ok,
            detail:
                "\(name) (UTC\(offset < 0 ? "-" : "+")\(String(format: "%02d:%02d", abs(offset) / 60, abs(offset) % 60)))",
            action: nil)
    }
}
