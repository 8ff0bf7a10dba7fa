import ArgumentParser
import Foundation
import Postgres
import Reconciliation
import Runner

/// `reconcile breaks`: the break register finance works (docs/reconciliation.md, "Working breaks").
struct ReconcileBreaksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "breaks",
        abstract: "List, show and resolve reconciliation breaks (the register every close writes).",
        discussion: """
            Every break has a stable id (BR-…) that stays the same from close to close. An open break is carried
            until someone resolves it with a reason; a resolved break is not raised again by later closes. Resolving
            writes audit_log.
            """,
        subcommands: [List.self, Show.self, Resolve.self])

    /// `reconcile`'s own options (`--month`, `--dry-run`, `--out`, …) given after `breaks` are
    /// taken by `reconcile` and would be ignored without a word: `resolve … --dry-run` would
    /// resolve for real. Any option after `breaks` that the subcommand does not have is refused.
    static func refuseOtherOptions(_ allowed: [String], arguments: [String] = CommandLine.arguments) throws {
        guard let start = arguments.firstIndex(of: "breaks") else { return }
        let known = Set(allowed + ["--database-url", "--connect-attempts", "--help"])
        for argument in arguments[start...] where argument.hasPrefix("--") {
            let name = String(argument.split(separator: "=", maxSplits: 1)[0])
            guard known.contains(name) else {
                throw ValidationError(
                    "\(name) is not an option of `reconcile breaks` here"
                        + (name == "--month" ? "; to filter by month use --period" : ""))
            }
        }
    }

    static func connect(_ database: DatabaseOptions) throws -> Connection {
        try database.connect(cliLogger(), applicationName: "samia-batch/reconcile-breaks")
    }

    static func line(_ e: BreakRegister.Entry) -> String {
        [
            e.id, e.type, e.status, e.firstMonth == e.lastMonth ? e.firstMonth : "\(e.firstMonth)…\(e.lastMonth)",
            "\(e.ageDays)d", Self.summary(e.item),
        ].joined(separator: "\t")
    }

    /// The ids and amounts that name a break's items, from its stored row.
    static func summary(_ item: String) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(item.utf8)) as? [String: Any] else { return "" }
        let keys = [
            "provider", "payment_intent", "refund", "invoice_number", "credit_note_number", "balance_transaction",
            "payout_id", "dispute_id",
        ].compactMap { key in (object[key] as? String).map { "\(key)=\($0)" } }
        return keys.count > (object["provider"] == nil ? 0 : 1)
            ? keys.joined(separator: " ") : (object["detail"] as? String ?? "")
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "Breaks, oldest first (default: the open ones).")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "open, resolved, cleared or all.") var status = "open"
        // Not `--month`: `reconcile` itself takes that option and would consume it.
        @Option(help: "Only breaks raised in this month (YYYY-MM) or raised before it and still open.")
        var period: String?
        @Option(help: "Only this break type.") var type: String?

        func validate() throws {
            try ReconcileBreaksCommand.refuseOtherOptions(["--status", "--period", "--type"])
            guard ["open", "resolved", "cleared", "all"].contains(status) else {
                throw ValidationError("--status must be open, resolved, cleared or all")
            }
            if let period, period.range(of: #"^[0-9]{4}-(0[1-9]|1[0-2])$"#, options: .regularExpression) == nil {
                throw ValidationError("--period must be YYYY-MM")
            }
            if let type, !ReconciliationJob.breakTypes.contains(type) {
                throw ValidationError("--type must be one of: \(ReconciliationJob.breakTypes.joined(separator: ", "))")
            }
        }

        func run() throws {
            try execute {
                let db = try ReconcileBreaksCommand.connect(database)
                defer { db.close() }
                let entries = try BreakRegister(connection: db).list(
                    status: status == "all" ? nil : status, month: period, type: type)
                print("id\ttype\tstatus\tmonths\tage\titems")
                for entry in entries { print(ReconcileBreaksCommand.line(entry)) }
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "One break, whole.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The break's id (BR-…).") var id: String

        func validate() throws { try ReconcileBreaksCommand.refuseOtherOptions([]) }

        func run() throws {
            try execute {
                let db = try ReconcileBreaksCommand.connect(database)
                defer { db.close() }
                let e = try BreakRegister(connection: db).show(id)
                print("\(e.id)  \(e.type)  \(e.status)")
                print(
                    "raised in \(e.firstMonth), last seen in \(e.lastMonth); occurred \(e.occurredAt) (\(e.ageDays) days ago)"
                )
                print("items: \(e.item)")
                if let at = e.resolvedAt { print("resolved \(at) by \(e.resolvedBy ?? "?"): \(e.resolution ?? "")") }
                if let at = e.clearedAt { print("cleared \(at): a later run of its month no longer found it") }
            }
        }
    }

    struct Resolve: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "resolve", abstract: "Resolve an open break, saying why; later closes do not raise it again.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The break's id (BR-…).") var id: String
        @Option(help: "Why it is resolved (the journal entry, the provider's answer, the write-off approval).")
        var reason: String
        @Option(help: "Who resolves it (default: $USER).") var by: String?

        func validate() throws {
            try ReconcileBreaksCommand.refuseOtherOptions(["--reason", "--by"])
            if reason.trimmingCharacters(in: .whitespacesAndNewlines).count < 3 {
                throw ValidationError("--reason must say why (at least a few characters)")
            }
        }

        func run() throws {
            try execute {
                let db = try ReconcileBreaksCommand.connect(database)
                defer { db.close() }
                let staff = by ?? ProcessInfo.processInfo.environment["USER"] ?? "operator"
                let e = try BreakRegister(connection: db).resolve(id, reason: reason, by: staff)
                print("break \(e.id) (\(e.type)) resolved by \(staff)")
            }
        }
    }
}
