import Foundation
import Postgres
import TestSupport
import Testing

/// `samia-batch doctor` as on-call runs it after an install or an incident: every check on one
/// line, and 78 when any precondition a job would refuse on fails (issue 38).
@Suite("Doctor", .serialized)
struct DoctorTests {
    let config: ConnectionConfiguration
    let dir = NSTemporaryDirectory() + "samia-doctor-\(UUID().uuidString)"

    init() throws {
        config = try TestCluster.shared().freshDatabase()
        try FileManager.default.createDirectory(atPath: dir + "/storage", withIntermediateDirectories: true)
        let key = try CLI.run(["keygen", "--out", dir + "/signing.key"])
        #expect(key.status == 0, "\(key.stderr)")
    }

    var env: [String: String] {
        [
            "DATABASE_URL": config.conninfo, "SAMIA_STORAGE_DIR": dir + "/storage",
            "SAMIA_SIGNING_KEY_FILE": dir + "/signing.key", "SAMIA_TIMEZONE": "Asia/Beirut",
            "SAMIA_STORAGE_MIN_FREE_MB": "1",
        ].merging(SellerEnvironment.all) { a, _ in a }
    }

    func psql(_ sql: String) throws -> String { try SQL.psql(config.conninfo, sql) }

    /// The line of `check` in doctor's output.
    func line(_ output: String, _ check: String) -> String {
        output.split(separator: "\n").map(String.init).first { $0.dropFirst(5).hasPrefix(check + " ") } ?? ""
    }

    static let checks = [
        "connection", "role rights", "pooler", "migrations", "clock", "time zone", "storage", "fonts", "signing key",
        "seller", "data map", "reconciliation", "vat rates", "access matrix",
    ]

    @Test func aHealthyInstallationPassesEveryCheckAndChangesNothing() throws {
        let result = try CLI.run(["doctor"], env: env)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        for check in Self.checks {
            #expect(line(result.stdout, check).hasPrefix("ok   "), "\(check): \(result.stdout)")
        }
        #expect(
            line(result.stdout, "time zone").contains("Asia/Beirut (UTC+02:00)")
                || line(result.stdout, "time zone").contains("(UTC+03:00)"))
        #expect(line(result.stdout, "storage").contains("MiB free"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/storage").isEmpty, "the probe stays")
        #expect(try psql("SELECT count(*) FROM batch_runs") == "0")
    }

    /// A typo in a policy file, a missing key, a hidden-rows role, a pending migration, an
    /// unknown zone and an unwritable store each fail their own line, and the exit is 78.
    @Test func eachBrokenPreconditionFailsItsOwnLineWithWhatToDo() throws {
        let policy = dir + "/policy"
        try FileManager.default.copyItem(atPath: TestCluster.repositoryRoot.path + "/policy", toPath: policy)
        let map = try String(contentsOfFile: policy + "/data-map.yaml", encoding: .utf8)
        try map.replacingOccurrences(of: "email: contact.email", with: "email: contact.emial")
            .write(toFile: policy + "/data-map.yaml", atomically: true, encoding: .utf8)
        let role = "doctor_\(UInt32.random(in: 0...UInt32.max))"
        _ = try psql(
            """
            CREATE ROLE \(role) LOGIN NOSUPERUSER NOBYPASSRLS;
            GRANT USAGE ON SCHEMA public TO \(role); GRANT SELECT ON ALL TABLES IN SCHEMA public TO \(role);
            DELETE FROM _migrations WHERE name = (SELECT max(name) FROM _migrations)
            """)
        var broken = env
        broken["DATABASE_URL"] = config.conninfo.replacingOccurrences(of: "user=postgres", with: "user=\(role)")
        broken["SAMIA_POLICY_DIR"] = policy
        broken["SAMIA_SIGNING_KEY_FILE"] = dir + "/no-such.key"
        broken["SAMIA_TIMEZONE"] = "Asia/Beyrouth"
        broken["SAMIA_STORAGE_MIN_FREE_MB"] = "100000000"
        let result = try CLI.run(["doctor"], env: broken)
        #expect(result.status == 78, "\(result.stdout)\(result.stderr)")
        let expected: [(String, String)] = [
            ("role rights", "ALTER ROLE \(role) BYPASSRLS"), ("migrations", "samia-batch migrate"),
            ("data map", "contact.emial"), ("signing key", "no-such.key"), ("time zone", "Asia/Beyrouth"),
            ("storage", "free space"),
        ]
        for (check, text) in expected {
            #expect(line(result.stdout, check).hasPrefix("FAIL "), "\(check): \(result.stdout)")
            #expect(line(result.stdout, check).contains(text), "\(check): \(result.stdout)")
        }
        for check in ["connection", "pooler", "fonts", "seller", "vat rates", "access matrix"] {
            #expect(line(result.stdout, check).hasPrefix("ok   "), "\(check): \(result.stdout)")
        }
        #expect(result.stdout.contains("6 of 14 checks failed"), "\(result.stdout)")
    }

    /// No database: its checks are failures, not passes, and the others still run.
    @Test func anUnreachableDatabaseFailsItsChecksRatherThanSkippingThem() throws {
        var away = env
        away["DATABASE_URL"] = "host=127.0.0.1 port=1 user=postgres dbname=postgres connect_timeout=2"
        let result = try CLI.run(["doctor", "--connect-attempts", "1"], env: away)
        #expect(result.status == 78, "\(result.stdout)\(result.stderr)")
        for check in ["connection", "role rights", "pooler", "migrations", "clock"] {
            #expect(line(result.stdout, check).hasPrefix("FAIL "), "\(check): \(result.stdout)")
        }
        #expect(line(result.stdout, "fonts").hasPrefix("ok   "), "\(result.stdout)")
    }
}
