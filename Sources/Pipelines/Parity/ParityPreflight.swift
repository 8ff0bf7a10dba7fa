import Foundation
import Postgres
import Runner
import Schema

/// What is checked before a single probe runs, so that a report is never made that could not
/// be written, never probes a production database with writes, and never mistakes "this role
/// does not exist" or "we cannot become this role" for "this role is refused".
extension ParityJob {
    func preflight(_ db: Connection) throws {
        try checkOutputWritable()
        if probeWrites { try checkWriteProbesAllowed(db) }
        try checkRoles(db)
    }

    /// The output directory's parent can take a new directory (73 before any probe, rather than
    /// exit 1 after the whole run).
    func checkOutputWritable() throws {
        let fm = FileManager.default
        let parent = (outDirectory as NSString).deletingLastPathComponent
        let probe = outDirectory + ".tmp-check-\(getpid())"
        do {
            if !parent.isEmpty { try fm.createDirectory(atPath: parent, withIntermediateDirectories: true) }
            try fm.createDirectory(atPath: probe, withIntermediateDirectories: false)
            try fm.removeItem(atPath: probe)
        } catch {
            throw ParityError.output(path: outDirectory, reason: error.localizedDescription)
        }
    }

    /// Write probes only on a dev database or one whose own settings say it is a clone or a
    /// staging copy. The database-level setting is read from the catalog, not from
    /// `current_setting`: a session can set any `samia.*` value itself (`PGOPTIONS`, conninfo
    /// `options`), so the session's value proves nothing.
    func checkWriteProbesAllowed(_ db: Connection) throws {
        if try DevMarker.isPresent(db) { return }
        let marked =
            try db.scalar(
                """
                SELECT EXISTS (
                  SELECT 1 FROM pg_db_role_setting s, unnest(s.setconfig) c
                   WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
                     AND s.setrole = 0 AND c IN ('samia.environment=clone', 'samia.environment=staging'))
                """, as: Bool.self) ?? false
        if !marked { throw ParityError.writeProbesRefused(database: try db.scalar("SELECT current_database()") ?? "?") }
    }

    /// Every declared `db_role` exists (else 65: the matrix is wrong) and the connected role can
    /// become it (else 78: grant the membership), as the probes do with `SET LOCAL ROLE`.
    func checkRoles(_ db: Connection) throws {
        let declared = matrix.roles.map(\.databaseRole)
        let missing: [String] = try db.query(
            "SELECT r FROM unnest($1::text[]) r WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) ORDER BY 1",
            [PostgresArray(declared)]
        ).map { try $0.decode("r") }
        if !missing.isEmpty {
            let owners = matrix.roles.filter { missing.contains($0.databaseRole) }.map {
                "\($0.name) → \($0.databaseRole)"
            }
            throw ParityError.schema(
                reason:
                    "db_role(s) that do not exist in the database: \(owners.joined(separator: ", ")) (\(matrix.file))")
        }
        let foreign: [String] = try db.query(
            "SELECT r FROM unnest($1::text[]) r WHERE NOT pg_has_role(current_user, r, 'MEMBER') ORDER BY 1",
            [PostgresArray(declared)]
        ).map { try $0.decode("r") }
        if !foreign.isEmpty {
            let me = try db.scalar("SELECT current_user", as: String.self) ?? "?"
            throw BatchError.missingRights(
                role: me,
                missing: "the probes act as each declared role with SET ROLE, and \(me) cannot become "
                    + foreign.joined(separator: ", ") + "; GRANT \(foreign.joined(separator: ", ")) TO \(me)")
        }
    }
}
