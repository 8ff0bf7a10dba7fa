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
        /// Columns the DPO classified as holding no personal data (keys, amounts, states,
        /// times). With the columns named elsewhere in the entry they must cover the table:
        /// a column the map does not classify stops every privacy job (`DataMapValidator`).
        public var notPersonal: [String] = []
        /// Rows about the subject that others wrote (an audit entry on their refund, a moderation
        /// decision on their profile): exported, never erased as the subject's own.
        public var about: About?
        /// Rows keyed by a salted hash of the subject id (analytics events' `actor_hash`).
        public var pseudonym: Pseudonym?
        /// Rows that name a subject's record inside a JSON document (a webhook payload naming
        /// their payment intent).
        public var jsonReach: [JSONReach] = []
        /// JSON columns → keys holding personal data at any depth: `strip` removes them and an
        /// export masks their values in others' rows.
        public var jsonPersonalKeys: [String: [String]] = [:]
        /// JSON columns → keys holding none. A JSON column whose treatment depends on its keys
        /// (one declared not personal, or erased by `strip`) must declare every key its data
        /// holds in one of the two lists: a new key stops every privacy job (65).
        public var jsonNotPersonalKeys: [String: [String]] = [:]

        /// The JSON columns whose keys decide what happens to their values: those declared
        /// not personal and those erased by `strip`. `types`: column → type name.
        public func keyedJSONColumns(types: [String: String]) -> [String] {
            let stripped = erasure.columns.merging(erasure.ifReferenced) { a, _ in a }.filter { $0.value == .strip }
                .keys
            let candidates = Set(notPersonal).union(stripped).union(jsonPersonalKeys.keys).union(
                jsonNotPersonalKeys.keys)
            return candidates.filter { types[$0] == "jsonb" || types[$0] == "json" }.sorted()
        }

        /// Every column this entry classifies: personal, storage keys, withheld, subject ids,
        /// the columns erasure rewrites, the first column of each reach path, and the
        /// columns declared not personal.
        public var classifiedColumns: Set<String> {
            var columns = Set(personal.keys).union(storage).union(withheld.keys).union(idsWithoutForeignKey)
            columns.formUnion(erasure.columns.keys)
            columns.formUnion(erasure.ifReferenced.keys)
            columns.formUnion(notPersonal)
            if let about { columns.formUnion([about.column, about.kindColumn]) }
            if let pseudonym { columns.insert(pseudonym.column) }
            columns.formUnion(jsonReach.map(\.column))
            for path in reach where !path.hasPrefix("<-") {
                let first = path.components(separatedBy: "->")[0].trimmingCharacters(in: .whitespaces)
                columns.insert(String(first.split(separator: ".").last ?? Substring(first)))
            }
            return columns
        }
    }

    /// `kindColumn` names the kind of record `column` identifies (`entity` = `refund`, `entity_id`
    /// = a refund's id as text); `kinds` maps each kind to its mapped table.
    public struct About: Sendable, Equatable {
        public var column: String
        public var kindColumn: String
        public var kinds: [String: String]
    }

    /// `column` = hex SHA-256 of `SALT:SUBJECT_ID`, the salt read from the file named by the
    /// environment variable `saltFileEnv` (a secret of the platform, never in the repository).
    public struct Pseudonym: Sendable, Equatable {
        public var column: String
        public var saltFileEnv: String
    }

    /// `column #>> path` equals `table.matches` of one of the subject's rows there.
    public struct JSONReach: Sendable, Equatable {
        public var column: String
        public var path: [String]
        public var table: String
        public var matches: String
    }

    public enum Strategy: String, Sendable, Equatable, CaseIterable {
        /// Set to NULL.
        case null
        /// Replace with a fixed redaction text.
        case redact
        /// Salted SHA-256 keyed per request, so joins within one export survive.
        case hash
        /// For a JSON column: remove the table's `json_personal_keys` wherever they occur.
        case strip
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
    /// Tables that hold no personal data at all (service catalogue, KPI tables, the batch's
    /// own bookkeeping), each with the reason. Every table of the governed schema is mapped,
    /// excluded or listed here; one that is not stops every privacy job.
    public var notPersonal: [String: String] = [:]

    /// Processors and recipients the subjects' data is disclosed to, by key: Art. 19 has each
    /// told of an erasure, rectification or restriction (`dsr notify`).
    public var recipients: [String: Recipient] = [:]

    public struct Recipient: Sendable, Equatable {
        public enum Kind: String, Sendable, CaseIterable { case processor, recipient }
        public var kind: Kind
        /// Who they are and what they receive, as the DPO's register says.
        public var role: String
        /// The mapped tables whose data they receive.
        public var tables: [String]
    }

    /// The categories a personal column may have.
    public static let categories: Set<String> = [
        "identifier", "contact.email", "contact.phone", "name", "birth_data", "location", "payment_reference",
        "free_text", "audio_voice", "image", "document", "network", "preferences", "account",
    ]

    // MARK: - Loading

    private struct File: Decodable {
        struct TableEntry: Decodable {
            var reach: [String]?
            var ids_without_foreign_key: [String]?
            var personal: [String: String]?
            var storage: [String]?
            var withheld: [String: String]?
            var erasure: ErasureEntry
            var facts: [String: String]?
            var facts_ar: [String: String]?
            var withheld_ar: [String: String]?
            var not_personal: [String]?
            var about: AboutEntry?
            var pseudonym: PseudonymEntry?
            var reach_json: [JSONReachEntry]?
            var json_personal_keys: [String: [String]]?
            var json_not_personal_keys: [String: [String]]?
        }
        struct AboutEntry: Decodable {
            var column: String
            var kind: String
            var kinds: [String: String]
        }
        struct PseudonymEntry: Decodable {
            var column: String
            var salt_file_env: String
        }
        struct JSONReachEntry: Decodable {
            var column: String
            var path: String
            var matches: String
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
        var not_personal: [String: String]?
        var recipients: [String: RecipientEntry]?
        struct RecipientEntry: Decodable {
            var kind: String
            var role: String
            var tables: [String]
        }
    }

    /// Parses the map; every error names the file and the table or field.
    public static func parse(_ text: String, file: String) throws -> DataMap {
        try DataMapKeys.file.check(yaml: text) { DataMapError.invalid(file: file, table: nil, reason: "\($0): \($1)") }
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
        for (name, entry) in raw.tables { tables[name] = try parseTable(name, entry, file: file) }
        for (name, reason) in raw.excluded ?? [:] where reason.trimmingCharacters(in: .whitespaces).isEmpty {
            throw DataMapError.invalid(file: file, table: name, reason: "excluded without a reason")
        }
        for (name, reason) in raw.not_personal ?? [:] {
            guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw DataMapError.invalid(file: file, table: name, reason: "not_personal without a reason")
            }
            guard tables[name] == nil && raw.excluded?[name] == nil else {
                throw DataMapError.invalid(
                    file: file, table: name, reason: "listed as not_personal and also mapped or excluded")
            }
        }
        return DataMap(
            subjectTable: subject[0], subjectColumn: subject[1], tables: tables, excluded: raw.excluded ?? [:],
            notPersonal: raw.not_personal ?? [:],
            recipients: try parseRecipients(raw.recipients ?? [:], tables: tables, file: file))
    }

    /// The `recipients` section: a known kind, a role, and mapped tables only.
    private static func parseRecipients(
        _ raw: [String: File.RecipientEntry], tables: [String: Table], file: String
    ) throws -> [String: Recipient] {
        var out: [String: Recipient] = [:]
        for (key, entry) in raw {
            guard let kind = Recipient.Kind(rawValue: entry.kind) else {
                throw DataMapError.invalid(
                    file: file, table: nil,
                    reason: "recipients.\(key): kind \"\(entry.kind)\" is not processor or recipient")
            }
            guard !entry.role.trimmingCharacters(in: .whitespaces).isEmpty, !entry.tables.isEmpty else {
                throw DataMapError.invalid(
                    file: file, table: nil, reason: "recipients.\(key): needs a role and its tables")
            }
            if let unmapped = entry.tables.first(where: { tables[$0] == nil }) {
                throw DataMapError.invalid(
                    file: file, table: nil, reason: "recipients.\(key): \(unmapped) is not a mapped table")
            }
            out[key] = Recipient(kind: kind, role: entry.role, tables: entry.tables)
        }
        return out
    }

    /// One table's entry, checked; errors name the file and the table.
    private static func parseTable(_ name: String, _ entry: File.TableEntry, file: String) throws -> Table {
        let reach = entry.reach ?? []
        guard !reach.isEmpty || entry.pseudonym != nil || !(entry.reach_json ?? []).isEmpty else {
            throw DataMapError.invalid(
                file: file, table: name, reason: "reach is empty (and no pseudonym or reach_json)")
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
                        reason: "\(column): strategy \"\(strategy)\" is not null, redact, hash or strip")
                }
                out[column] = s
            }
            return out
        }
        let columns = try strategies(entry.erasure.columns)
        let ifReferenced = try strategies(entry.erasure.if_referenced)
        for owner in entry.erasure.owner ?? [] where !reach.contains(owner) {
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
        var table = Table(
            name: name, reach: reach, idsWithoutForeignKey: entry.ids_without_foreign_key ?? [],
            personal: entry.personal ?? [:], storage: entry.storage ?? [], withheld: entry.withheld ?? [:],
            erasure: Erasure(
                action: action, columns: columns, legalBasis: entry.erasure.legal_basis,
                period: entry.erasure.period, owner: entry.erasure.owner ?? [], ifReferenced: ifReferenced),
            facts: entry.facts ?? [:], factsArabic: entry.facts_ar ?? [:], withheldArabic: entry.withheld_ar ?? [:],
            notPersonal: entry.not_personal ?? [])
        try addReaches(&table, entry, file: file)
        let owned = table.erasure.owner.isEmpty || Set(table.erasure.owner) == Set(reach)
        if let column = table.personal.first(where: { $0.value == "document" })?.key, !owned || table.about != nil {
            throw DataMapError.invalid(
                file: file, table: name,
                reason:
                    "\(column): a document is exported as issued (unmasked), so every row reached must be the subject's own (erasure owner: every reach entry, no about)"
            )
        }
        for column in entry.not_personal ?? [] where entry.personal?[column] != nil {
            throw DataMapError.invalid(
                file: file, table: name, reason: "\(column) is both personal and not_personal")
        }
        return table
    }

    /// The `about`, `pseudonym`, `reach_json` and JSON keys of an entry, checked.
    private static func addReaches(_ table: inout Table, _ entry: File.TableEntry, file: String) throws {
        let name = table.name
        table.about = entry.about.map { About(column: $0.column, kindColumn: $0.kind, kinds: $0.kinds) }
        table.pseudonym = entry.pseudonym.map { Pseudonym(column: $0.column, saltFileEnv: $0.salt_file_env) }
        table.jsonReach = try (entry.reach_json ?? []).map { item in
            let target = item.matches.split(separator: ".").map(String.init)
            let path = item.path.split(separator: ".").map(String.init)
            let simple = { (key: String) in
                !key.isEmpty && key.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
            }
            guard target.count == 2, !path.isEmpty, path.allSatisfy(simple) else {
                throw DataMapError.invalid(
                    file: file, table: name,
                    reason:
                        "reach_json: path \"\(item.path)\" must be KEY[.KEY…] (letters, digits, _) and matches TABLE.COLUMN"
                )
            }
            return JSONReach(column: item.column, path: path, table: target[0], matches: target[1])
        }
        table.jsonPersonalKeys = entry.json_personal_keys ?? [:]
        table.jsonNotPersonalKeys = entry.json_not_personal_keys ?? [:]
        for column in table.jsonPersonalKeys.keys where table.notPersonal.contains(column) {
            throw DataMapError.invalid(
                file: file, table: name,
                reason: "\(column) is not_personal but declares json_personal_keys; classify it personal")
        }
        for (column, keys) in table.jsonNotPersonalKeys {
            if let both = keys.first(where: { (table.jsonPersonalKeys[column] ?? []).contains($0) }) {
                throw DataMapError.invalid(
                    file: file, table: name, reason: "\(column): key \(both) is both personal and not personal")
            }
        }
        let strategies = table.erasure.columns.merging(table.erasure.ifReferenced, uniquingKeysWith: { a, _ in a })
        for (column, strategy) in strategies where strategy == .strip && (table.jsonPersonalKeys[column] ?? []).isEmpty
        {
            throw DataMapError.invalid(
                file: file, table: name, reason: "\(column): strip needs json_personal_keys.\(column)")
        }
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
