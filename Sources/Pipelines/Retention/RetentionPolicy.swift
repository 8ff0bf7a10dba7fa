import Foundation
import Postgres
import Privacy
import Yams

/// The `retention:` section of `policy/data-map.yaml`: what the nightly purge deletes for good,
/// and the limits it must stay within. It lives beside the data map so that one file says
/// both where personal data is and how long it stays (docs/retention.md).
public struct RetentionPolicy: Sendable, Equatable {
    public struct Rule: Sendable, Equatable {
        public var name: String
        public var table: String
        /// A `date` or `timestamptz` column; with `expiry`, the moment the row may go.
        public var age: String
        public var keepDays: Int
        /// The platform's keep period: a `keep_days` below it is a configuration error.
        public var floorDays: Int
        public var expiry: Bool
        /// An extra SQL condition on the row (alias `t`), reviewed like code.
        public var condition: String?
        /// Foreign-key columns to rows that hold storage keys (`horoscopes.audio_media_id`).
        public var media: [String]
        /// The row's own storage-key columns (`batch_artifacts.storage_key`).
        public var storage: [String]
        /// Storage prefixes the orphan sweep checks against the database.
        public var orphans: [String]
        public var maxFraction: Double
        /// The table is partitioned by range on `age`; partitions wholly past the keep period
        /// are dropped instead of their rows deleted (`PartitionDrop`).
        public var dropPartitions: Bool = false
    }

    public var rules: [Rule]
    /// The business time zone that cuts days for `date` age columns.
    public var timeZone: String
    public var batchSize: Int
    public var pauseMilliseconds: Int
    /// Sessions one run purges a rule on at once, each with its own thread and storage drain:
    /// the foreign-key checks of every deleted media row are the cost of a purge, and one
    /// session runs them on one core (docs/retention.md, docs/performance.md).
    public var workers: Int
    public var maxClockSkewSeconds: Double
    public var orphanGraceHours: Double
    /// Tables no rule may purge, with the reason (besides the data map's `retain` tables).
    public var legalRecords: [String: String]

    private struct File: Decodable {
        struct Section: Decodable {
            var time_zone: String?
            var batch_size: Int?
            var pause_ms: Int?
            var workers: Int?
            var max_fraction: Double?
            var max_clock_skew_seconds: Double?
            var orphan_grace_hours: Double?
            var legal_records: [String: String]?
            var rules: [String: RuleEntry]
        }
        struct RuleEntry: Decodable {
            var table: String
            var age: String
            var keep_days: Int?
            var floor_days: Int?
            var expiry: Bool?
            var `where`: String?
            var media: [String]?
            var storage: [String]?
            var orphans: [String]?
            var max_fraction: Double?
            var drop_partitions: Bool?
        }
        var retention: Section?
    }

    /// Parses the section; every error names the file and the rule or field. A map without
    /// the section is an error: a purge with no rules would "succeed" having done nothing.
    public static func parse(_ text: String, file: String, map: DataMap) throws -> RetentionPolicy {
        let raw: File
        do { raw = try YAMLDecoder().decode(File.self, from: text) } catch {
            throw RetentionError.policy(file: file, rule: nil, reason: "cannot be read: \(error)")
        }
        guard let section = raw.retention else {
            throw RetentionError.policy(
                file: file, rule: nil, reason: "the file has no retention section (see docs/retention.md)")
        }
        let timeZone = section.time_zone ?? "UTC"
        guard TimeZone(identifier: timeZone) != nil else {
            throw RetentionError.policy(file: file, rule: nil, reason: "time_zone \"\(timeZone)\" is not a known zone")
        }
        let batchSize = section.batch_size ?? 1000
        guard (1...100_000).contains(batchSize) else {
            throw RetentionError.policy(file: file, rule: nil, reason: "batch_size must be 1 to 100000")
        }
        let workers = section.workers ?? 2
        guard (1...8).contains(workers) else {
            throw RetentionError.policy(file: file, rule: nil, reason: "workers must be 1 to 8")
        }
        let legal = section.legal_records ?? [:]
        let rules = try section.rules.keys.sorted().map { name in
            try rule(name, section.rules[name]!, section: section, legal: legal, map: map, file: file)
        }
        guard !rules.isEmpty else { throw RetentionError.policy(file: file, rule: nil, reason: "has no rules") }
        return RetentionPolicy(
            rules: rules, timeZone: timeZone, batchSize: batchSize, pauseMilliseconds: section.pause_ms ?? 20,
            workers: workers,
            maxClockSkewSeconds: section.max_clock_skew_seconds ?? 300,
            orphanGraceHours: section.orphan_grace_hours ?? 24, legalRecords: legal)
    }

    /// One rule of the section, checked against the legal records and the data map.
    private static func rule(
        _ name: String, _ entry: File.RuleEntry, section: File.Section, legal: [String: String], map: DataMap,
        file: String
    ) throws -> Rule {
        func fail(_ reason: String) -> RetentionError { .policy(file: file, rule: name, reason: reason) }
        guard name.range(of: "^[a-z][a-z0-9-]*$", options: .regularExpression) != nil else {
            throw fail("rule names are lower-case letters, digits and dashes")
        }
        if let reason = legal[entry.table] {
            throw fail(
                "table \(entry.table) holds records kept for legal reasons (\(reason)); no rule may purge it")
        }
        if let mapped = map.tables[entry.table], mapped.erasure.action == .retain {
            throw fail(
                "table \(entry.table) is kept for legal reasons (\(mapped.erasure.legalBasis ?? "retain"), "
                    + "\(mapped.erasure.period ?? "")); no rule may purge it")
        }
        let expiry = entry.expiry ?? false
        let keep = entry.keep_days ?? 0
        let floor = entry.floor_days ?? (expiry ? 0 : 1)
        guard keep >= 0, floor >= 0 else { throw fail("keep_days and floor_days cannot be negative") }
        if !expiry && keep < 1 {
            throw fail("keep_days must be at least 1 (or the age column an expiry: expiry: true)")
        }
        let fraction = entry.max_fraction ?? section.max_fraction ?? 0.25
        guard fraction > 0 && fraction <= 1 else { throw fail("max_fraction must be above 0 and at most 1") }
        for prefix in entry.orphans ?? []
        where prefix.isEmpty || !prefix.hasSuffix("/") || prefix.hasPrefix("/")
            || prefix.contains("..")
        {
            throw fail("orphan prefix \"\(prefix)\" must be a relative folder ending in / (never the whole store)")
        }
        if let condition = entry.where, condition.contains(";") {
            throw fail("where must be one SQL condition, without ;")
        }
        let dropPartitions = entry.drop_partitions ?? false
        if dropPartitions {
            let rowOptions = [
                ("expiry", entry.expiry != nil), ("where", entry.where != nil), ("media", entry.media != nil),
                ("storage", entry.storage != nil), ("orphans", entry.orphans != nil),
            ].filter(\.1).map(\.0)
            guard rowOptions.isEmpty else {
                throw fail(
                    "drop_partitions drops whole partitions; \(rowOptions.joined(separator: ", ")) apply to rows "
                        + "deleted one by one and cannot be combined with it")
            }
            // A table of the data map may hold rows a legal hold keeps: a partition holding one is
            // kept whole at run time (PartitionDrop.held), never dropped around it.
        }
        return Rule(
            name: name, table: entry.table, age: entry.age, keepDays: keep, floorDays: floor, expiry: expiry,
            condition: entry.where, media: entry.media ?? [], storage: entry.storage ?? [],
            orphans: entry.orphans ?? [], maxFraction: fraction, dropPartitions: dropPartitions)
    }

    /// Reads the data map file (`SAMIA_DATA_MAP` or `policy/data-map.yaml`) and its section.
    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> (
        RetentionPolicy, DataMap, String
    ) {
        let (map, path) = try DataMap.load(environment: environment)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataMapError.unreadable(file: path, reason: "cannot read the file")
        }
        return (try parse(String(decoding: data, as: UTF8.self), file: path, map: map), map, path)
    }
}

extension RetentionPolicy {
    /// Checks every rule against the live schema the way a run would resolve it, and has
    /// PostgreSQL plan each rule's condition, so `datamap check` finds a wrong column or a bad
    /// `where` before the night does. Returns one line per rule.
    public func check(map: DataMap, connection db: Connection) throws -> [String] {
        let scope = try SubjectScope(map: map, connection: db)
        let today = try db.scalar("SELECT (now() AT TIME ZONE $1)::date::text", [timeZone], as: String.self)!
        let now = try db.scalar("SELECT now()::text", as: String.self)!
        try ResolvedRule.bindClock(now: now, today: today, rules: rules, on: db)
        return try rules.map { rule in
            if rule.dropPartitions {
                let plan = try PartitionDrop(rule: rule, scope: scope, db: db)
                return "retention rule \(rule.name): \(rule.table) partitions by \(rule.age), \(rule.keepDays) days, "
                    + "\(plan.due.count + plan.kept.count) partition(s)"
            }
            let resolved = try ResolvedRule(
                rule: rule, scope: scope, map: map, subjectHolds: [])
            do {
                try db.query("EXPLAIN SELECT 1 FROM public.\(SQLIdentifier.quote(rule.table)) t WHERE \(resolved.due)")
            } catch let error as PostgresError {
                throw RetentionError.schema(rule: rule.name, reason: "its condition does not plan: \(error.message)")
            }
            let media = resolved.media.map { "\($0.column) -> \($0.table).\($0.keyColumn)" }
            return "retention rule \(rule.name): \(rule.table).\(rule.age), "
                + (rule.expiry ? "expiry" : "\(rule.keepDays) days")
                + (media.isEmpty ? "" : ", media \(media.joined(separator: ", "))")
        }
    }
}
