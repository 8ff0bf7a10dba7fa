import Foundation
import Runner
import Yams

/// Where personal data lives: one declaration (`policy/data-map.yaml`) read by DSR export,
/// erasure and retention alike. See docs/privacy.md for the format.
public struct DataMap: Sendable, Equatable {
    public struct Table: Sendable, Equatable {
        public var name: String
        /// Ways to reach one subject's rows: a column holding the subject id, a path of
        /// foreign keys (`order_id -> orders.user_id`), or the rows another mapped table's
        /// subject rows point at (`<- orders.output_media_id`: the answer recorded on their
        /// order, owned by the reader). A row matching any of them belongs to the subject.
        public var reach: [String]
        /// Columns that hold subject ids without a foreign key (e.g. `audit_log.actor`).
        public var idsWithoutForeignKey: [String]
        /// Personal columns and their category.
        public var personal: [String: String]
        /// Columns holding object-storage keys.
        public var storage: [String]
        /// Columns never exported, each with the reason the README gives (e.g. a payment
        /// secret: Art. 15(4), it would harm the security of the subject's own payments).
        public var withheld: [String: String]
        public var erasure: Erasure
        /// The Art. 15 facts shown to the subject.
        public var facts: [String: String]
        /// The same facts in Arabic for the bilingual README; missing ones fall back to English.
        public var factsArabic: [String: String] = [:]
        /// The withheld reasons in Arabic.
        public var withheldArabic: [String: String] = [:]
    }

    public enum Strategy: String, Sendable, Equatable, CaseIterable {
        /// Set to NULL.
        case null
        /// Replace with a fixed redaction text.
        case redact
        /// Salted SHA-256 keyed per request, so joins within one export survive.
        case hash
    }

    public struct Erasure: Sendable, Equatable {
        public enum Action: String, Sendable, Equatable, CaseIterable { case delete, anonymize, retain }
        public var action: Action
        /// Columns rewritten on erasure (anonymize, and the redaction allowed on retained rows).
        public var columns: [String: Strategy]
        public var legalBasis: String?
        public var period: String?
        /// The reach entries that make a row the subject's own; the action applies only to
        /// those. Rows reached otherwise (the orders a reader was assigned) are other people's
        /// records that name the subject, and erasure leaves them alone. Default: every entry.
        public var owner: [String] = []
        /// For `delete`: what to clear in a row that cannot be deleted because a record that
        /// stays references it (an order a retained tax invoice points at).
        public var ifReferenced: [String: Strategy] = [:]
    }

    /// The subject's table and identity column, e.g. `profiles.id`.
    public var subjectTable: String
    public var subjectColumn: String
    public var tables: [String: Table]
    /// Tables that reference a person but hold nothing to export or erase, with the reason.
    public var excluded: [String: String]

    /// The categories a personal column may have.
    public static let categories: Set<String> = [
        "identifier", "contact.email", "contact.phone", "name", "birth_data", "location", "payment_reference",
        "free_text", "audio_voice", "image", "document", "network", "preferences", "account",
    ]

    // MARK: - Loading

    private struct File: Decodable {
        struct TableEntry: Decodable {
            var reach: [String]
            var ids_without_foreign_key: [String]?
            var personal: [String: String]?
            var storage: [String]?
            var withheld: [String: String]?
            var erasure: ErasureEntry
            var facts: [String: String]?
            var facts_ar: [String: String]?
            var withheld_ar: [String: String]?
        }
        struct ErasureEntry: Decodable {
            var action: String
            var columns: [String: String]?
            var legal_basis: String?
            var period: String?
            var owner: [String]?
            var if_referenced: [String: String]?
        }
        var subject: String
        var tables: [String: TableEntry]
        var excluded: [String: String]?
    }

    /// Parses the map; every error names the file and the table or field.
    public static func parse(_ text: String, file: String) throws -> DataMap {
        let raw: File
        do {
            raw = try YAMLDecoder().decode(File.self, from: text)
        } catch {
            throw DataMapError.unreadable(file: file, reason: "\(error)")
        }
        let subject = raw.subject.split(separator: ".").map(String.init)
        guard subject.count == 2 else {
            throw DataMapError.invalid(
                file: file, table: nil, reason: "subject must be TABLE.COLUMN, not \(raw.subject)")
        }
        var tables: [String: Table] = [:]
        for (name, entry) in raw.tables {
            guard !entry.reach.isEmpty else {
                throw DataMapError.invalid(file: file, table: name, reason: "reach is empty")
            }
            for (column, category) in entry.personal ?? [:] where !categories.contains(category) {
                throw DataMapError.invalid(
                    file: file, table: name,
                    reason:
                        "\(column): unknown category \"\(category)\" (one of \(categories.sorted().joined(separator: ", ")))"
                )
            }
            guard let action = Erasure.Action(rawValue: entry.erasure.action) else {
                throw DataMapError.invalid(
                    file: file, table: name,
                    reason: "erasure action \"\(entry.erasure.action)\" is not delete, anonymize or retain")
            }
            func strategies(_ raw: [String: String]?) throws -> [String: Strategy] {
                var out: [String: Strategy] = [:]
                for (column, strategy) in raw ?? [:] {
                    guard let s = Strategy(rawValue: strategy) else {
                        throw DataMapError.invalid(
                            file: file, table: name,
                            reason: "\(column): strategy \"\(strategy)\" is not null, redact or hash")
                    }
                    out[column] = s
                }
                return out
            }
            let columns = try strategies(entry.erasure.columns)
            let ifReferenced = try strategies(entry.erasure.if_referenced)
            for owner in entry.erasure.owner ?? [] where !entry.reach.contains(owner) {
                throw DataMapError.invalid(
                    file: file, table: name, reason: "erasure owner \"\(owner)\" is not one of the reach entries")
            }
            if !ifReferenced.isEmpty && action != .delete {
                throw DataMapError.invalid(file: file, table: name, reason: "if_referenced applies to delete only")
            }
            for (column, reason) in entry.withheld ?? [:] where reason.trimmingCharacters(in: .whitespaces).isEmpty {
                throw DataMapError.invalid(file: file, table: name, reason: "withheld column \(column) has no reason")
            }
            if action == .anonymize && columns.isEmpty {
                throw DataMapError.invalid(file: file, table: name, reason: "anonymize names no columns")
            }
            if action == .retain && (entry.erasure.legal_basis ?? "").isEmpty
                || action == .retain && (entry.erasure.period ?? "").isEmpty
            {
                throw DataMapError.invalid(file: file, table: name, reason: "retain needs legal_basis and period")
            }
            tables[name] = Table(
                name: name, reach: entry.reach, idsWithoutForeignKey: entry.ids_without_foreign_key ?? [],
                personal: entry.personal ?? [:], storage: entry.storage ?? [], withheld: entry.withheld ?? [:],
                erasure: Erasure(
                    action: action, columns: columns, legalBasis: entry.erasure.legal_basis,
                    period: entry.erasure.period, owner: entry.erasure.owner ?? [], ifReferenced: ifReferenced),
                facts: entry.facts ?? [:], factsArabic: entry.facts_ar ?? [:], withheldArabic: entry.withheld_ar ?? [:])
        }
        for (name, reason) in raw.excluded ?? [:] where reason.trimmingCharacters(in: .whitespaces).isEmpty {
            throw DataMapError.invalid(file: file, table: name, reason: "excluded without a reason")
        }
        return DataMap(
            subjectTable: subject[0], subjectColumn: subject[1], tables: tables, excluded: raw.excluded ?? [:])
    }

    /// Reads `policy/data-map.yaml` (or `SAMIA_DATA_MAP`, or the policy directory's copy).
    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> (
        DataMap, String
    ) {
        let path = try environment["SAMIA_DATA_MAP"] ?? PolicyFiles.locate("data-map.yaml", environment)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataMapError.unreadable(file: path, reason: "cannot read the file")
        }
        return (try parse(String(decoding: data, as: UTF8.self), file: path), path)
    }
}
