import ArgumentParser
import Foundation
import Privacy

extension DSRCommand {
    struct Complete: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "complete",
            abstract: "Record what was done for an approved rectify, restrict or object request, with its evidence.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Request id.") var id: Int64
        @Option(help: "What was done (shown to auditors).") var outcome: String
        @Option(help: "Where the evidence is: a ticket, change or commit reference.") var evidence: String
        @Option(help: "Who did it (default: $USER).") var by: String?

        func validate() throws {
            try DSRCommand.requireText(["--outcome": outcome, "--evidence": evidence])
        }

        func run() throws {
            try DSRCommand.withQueue(database) { queue, _ in
                print(
                    DSRCommand.describe(
                        try queue.complete(id, outcome: outcome, evidence: evidence, by: by ?? DSRCommand.staff())))
            }
        }
    }

    struct Notify: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "notify",
            abstract:
                "Record that a processor or recipient was told of a finished erasure, rectification or restriction (Art. 19)."
        )
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Request id.") var id: Int64
        @Option(help: "The recipient's key in the data map's `recipients`.") var recipient: String
        @Option(help: "Where the evidence is: the message or ticket reference.") var evidence: String
        @Option(help: "Who told them (default: $USER).") var by: String?

        func validate() throws {
            try DSRCommand.requireText(["--evidence": evidence])
        }

        func run() throws {
            try DSRCommand.withQueue(database) { queue, db in
                let (map, _) = try DataMap.load()
                _ = try queue.notify(
                    id, recipient: recipient, evidence: evidence, by: by ?? DSRCommand.staff(), map: map)
                try Notices.printNotices(id, queue: queue, scope: try SubjectScope(map: map, connection: db))
            }
        }
    }

    struct Notices: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "notices",
            abstract:
                "The Art. 19 notices a finished erasure, rectification or restriction owes; exit 1 while any is not recorded."
        )
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Request id.") var id: Int64

        func run() throws {
            var pending = 0
            try DSRCommand.withQueue(database) { queue, db in
                let (map, _) = try DataMap.load()
                pending = try Self.printNotices(id, queue: queue, scope: try SubjectScope(map: map, connection: db))
            }
            if pending > 0 { throw ExitCode(1) }
        }

        /// Prints one line per recipient; returns how many are not told yet.
        @discardableResult
        static func printNotices(_ id: Int64, queue: DSRQueue, scope: SubjectScope) throws -> Int {
            let (notices, notOwed) = try queue.notices(id, scope: scope)
            let f = ISO8601DateFormatter()
            print("recipient\tkind\tstatus\trole")
            for n in notices {
                let status =
                    n.told.map { "told \(f.string(from: $0.at)) by \($0.by), evidence \($0.evidence)" } ?? "NOT TOLD"
                print("\(n.key)\t\(n.recipient.kind.rawValue)\t\(status)\t\(n.recipient.role)")
            }
            for key in notOwed {
                print(
                    "\(key)\t\(scope.map.recipients[key]!.kind.rawValue)\tnone owed: none of its tables held the subject's data"
                )
            }
            let pending = notices.filter { $0.told == nil }.count
            print("request #\(id): \(notices.count - pending) of \(notices.count) recipient(s) told")
            return pending
        }
    }
}
