import ArgumentParser
import Foundation
import Postgres
import Runner

struct LegalHoldCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "legal-hold",
        abstract: "Place, list and release legal holds: rows that neither erasure nor retention may delete.",
        discussion: """
            A hold names a subject (all their rows, or with --table one table's), or one row: --table and --key (its
            primary key). Placing and releasing write audit_log; released holds stay as history.
            """,
        subcommands: [Place.self, List.self, Release.self])

    struct Place: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "place", abstract: "Place a hold.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The subject's profiles.id.") var subject: String?
        @Option(help: "Only this table's rows (with --subject), or the table of --key.") var table: String?
        @Option(help: "One row's primary key (with --table).") var key: String?
        @Option(help: "Why (the case, the authority's order).") var reason: String
        @Option(help: "Who places it (default: $USER).") var by: String?

        func validate() throws {
            if let subject, UUID(uuidString: subject) == nil { throw ValidationError("--subject must be a UUID") }
            guard subject != nil || (table != nil && key != nil) else {
                throw ValidationError("name a --subject, or a row with --table and --key")
            }
            if key != nil && table == nil { throw ValidationError("--key needs --table") }
            if reason.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--reason is empty") }
        }

        func run() throws {
            try execute {
                let db = try database.connect(cliLogger(), applicationName: "samia-batch/legal-hold")
                defer { db.close() }
                if let table {
                    let exists =
                        try db.scalar(
                            "SELECT to_regclass('public.' || quote_ident($1)) IS NOT NULL", [table], as: Bool.self)
                        ?? false
                    guard exists else {
                        throw BatchError.badInput(
                            file: "legal-hold", line: nil, field: "--table", message: "no table public.\(table)")
                    }
                }
                let staff = by ?? ProcessInfo.processInfo.environment["USER"] ?? "operator"
                let id = try db.transaction { tx -> Int64 in
                    let id = try tx.scalar(
                        """
                        INSERT INTO public.legal_holds (subject, table_name, row_key, reason, placed_by)
                        VALUES ($1::uuid, $2, $3, $4, $5) RETURNING id
                        """, [subject?.lowercased(), table, key, reason, staff], as: Int64.self)!
                    try tx.query(
                        """
                        INSERT INTO public.audit_log (actor_role, event, entity, entity_id, meta)
                        VALUES ('staff', 'legal_hold_placed', 'legal_holds', $1::text,
                                jsonb_build_object('table', $2::text, 'placed_by', $3::text))
                        """, [String(id), table, staff])
                    return id
                }
                print("legal hold #\(id) placed")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "Active holds (--all: with released).")
        @OptionGroup var database: DatabaseOptions
        @Flag(help: "Include released holds.") var all = false

        func run() throws {
            try execute {
                let db = try database.connect(cliLogger(), applicationName: "samia-batch/legal-hold")
                defer { db.close() }
                let rows = try db.query(
                    """
                    SELECT id, coalesce(subject::text, '-'), coalesce(table_name, '(all tables)'), coalesce(row_key, '-'),
                           placed_by, to_char(placed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
                           coalesce(to_char(released_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), ''), reason
                      FROM public.legal_holds WHERE $1 OR released_at IS NULL ORDER BY id
                    """, [all])
                print("id\tsubject\ttable\trow\tplaced by\tplaced\treleased\treason")
                for row in rows {
                    print((0..<8).map { (try? row.decode($0, as: String.self)) ?? "" }.joined(separator: "\t"))
                }
            }
        }
    }

    struct Release: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "release", abstract: "Release a hold.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The hold's id.") var id: Int64
        @Option(help: "Who releases it (default: $USER).") var by: String?

        func run() throws {
            try execute {
                let db = try database.connect(cliLogger(), applicationName: "samia-batch/legal-hold")
                defer { db.close() }
                let staff = by ?? ProcessInfo.processInfo.environment["USER"] ?? "operator"
                let released = try db.transaction { tx -> Bool in
                    let n = try tx.query(
                        "UPDATE public.legal_holds SET released_at = now() WHERE id = $1 AND released_at IS NULL RETURNING id",
                        [id]
                    ).count
                    guard n == 1 else { return false }
                    try tx.query(
                        """
                        INSERT INTO public.audit_log (actor_role, event, entity, entity_id, meta)
                        VALUES ('staff', 'legal_hold_released', 'legal_holds', $1::text, jsonb_build_object('released_by', $2::text))
                        """, [String(id), staff])
                    return true
                }
                guard released else {
                    throw BatchError.badInput(
                        file: "legal_holds", line: nil, field: "id", message: "no active legal hold #\(id)")
                }
                print("legal hold #\(id) released")
            }
        }
    }
}
