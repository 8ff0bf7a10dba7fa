import Foundation
import Postgres
import Reports
import Runner
import Storage

/// Writes one subject's access/portability export (Art. 15 and 20): for every mapped table the
/// subject's rows as `data/TABLE.csv` and `data/TABLE.json` (both straight from `COPY`), their
/// media objects under `media/`, a bilingual `README.txt`, and a signed manifest.
///
/// Others' emails and phones in the rows are masked in PostgreSQL as the rows are read
/// (`us***@example.com`, `+12***90`); only a superadmin override (`unmasked`) skips that. Columns
/// the map withholds are never selected. Entry names are built from table names and sanitised
/// storage keys, never taken from data as they are.
public struct SubjectExport {
    public struct Summary: Sendable, Equatable {
        /// Rows per table, including tables where the subject has none.
        public var rows: [String: Int64] = [:]
        public var mediaFiles = 0
        public var mediaBytes: Int64 = 0
        /// Storage keys the rows name but the store does not hold (or refuses as unsafe).
        public var missingMedia: [String] = []
        /// Where the time went: the tables through COPY, and the media.
        public var dataMilliseconds = 0
        public var mediaMilliseconds = 0
    }

    let db: Connection
    /// A second session for the table queries. They run in the main session's snapshot, on
    /// their own thread, while the main session's media are copied into the ZIP: the export
    /// then takes as long as its bytes take to write, not its queries plus its bytes.
    let tableConnection: Connection
    let scope: SubjectScope
    let store: any ObjectStore

    public init(connection: Connection, tableConnection: Connection, scope: SubjectScope, store: any ObjectStore) {
        db = connection
        self.tableConnection = tableConnection
        self.scope = scope
        self.store = store
    }

    /// One table's file, spooled to scratch space while the media were written.
    struct SpooledEntry {
        var table: String
        var name: String
        var path: String
        var sha256: String
        var bytes: Int64
        var rows: Int
    }

    /// Fails with `DSRError.unknownSubject` when the subject has no profile: an export of no one
    /// must not look like an export of someone with no data. `scratch` is a private directory
    /// for the table files until they join the ZIP.
    public func write(
        subject: UUID, requestID: Int64, unmasked: Bool, contact: String, zip: ZipWriter, manifest: inout Manifest,
        scratch: String, now: Date
    ) throws -> Summary {
        var summary = Summary()
        let map = scope.map
        var tables: BackgroundCall<(entries: [SpooledEntry], milliseconds: Int)>?
        try db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        do {
            // Both sessions read one snapshot, so the media keys and the rows agree.
            try tableConnection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            try db.shareSnapshot(with: [tableConnection])
            try scope.bind(subject, on: db)
            try scope.bind(subject, on: tableConnection)
            tables = BackgroundCall(name: "samia-batch export tables") { [self] in
                let started = Date()
                let entries = try spoolTables(subject: subject, unmasked: unmasked, scratch: scratch)
                return (entries, Int(Date().timeIntervalSince(started) * 1000))
            }
            let mediaStarted = Date()
            try addMedia(subject: subject, zip: zip, manifest: &manifest, summary: &summary, now: now)
            summary.mediaMilliseconds = Int(Date().timeIntervalSince(mediaStarted) * 1000)
            let spooled = try tables!.wait()
            tables = nil
            summary.dataMilliseconds = spooled.milliseconds
            for entry in spooled.entries {
                try zip.begin(entry.name, size: entry.bytes, modified: now)
                try LocalFile.stream(entry.path, key: entry.name) { try zip.write($0) }
                try zip.end()
                try? FileManager.default.removeItem(atPath: entry.path)
                manifest.add(path: entry.name, sha256: entry.sha256, bytes: entry.bytes)
                if entry.name.hasSuffix(".csv") { summary.rows[entry.table] = Int64(entry.rows) }
            }
            try tableConnection.execute("COMMIT")
            try db.commit()
        } catch {
            // The thread owns the table session until it returns.
            _ = try? tables?.wait()
            try? tableConnection.execute("ROLLBACK")
            try? db.execute("ROLLBACK")
            throw error
        }
        let readme = Array(
            ExportReadme(
                map: map, subject: subject, requestID: requestID, generatedAt: now, summary: summary,
                masked: !unmasked, contact: contact
            ).text.utf8)
        try zip.add("README.txt", data: readme, modified: now)
        manifest.add(path: "README.txt", contents: readme)
        return summary
    }

    /// Every mapped table as CSV and JSON, through one `COPY` each on the table session, into
    /// scratch files with their SHA-256 taken on the way.
    private func spoolTables(subject: UUID, unmasked: Bool, scratch: String) throws -> [SpooledEntry] {
        try installMasking(subject: subject)
        var entries: [SpooledEntry] = []
        for table in scope.map.tables.keys.sorted() {
            let select = selectList(table, unmasked: unmasked)
            let from =
                "FROM public.\(scope.q(table)) t WHERE \(scope.predicate(table)) ORDER BY \(scope.orderBy(table))"
            entries += try spool(
                table: table, scratch: scratch,
                sql:
                    "COPY (SELECT row_to_json(x)::text, x.* FROM (SELECT \(select) \(from)) x) TO STDOUT WITH (FORMAT csv, HEADER)"
            )
        }
        return entries
    }

    /// Session functions that mask contacts other than the subject's own. The subject's own
    /// email and phone travel as transaction-local settings, never inside SQL text.
    private func installMasking(subject: UUID) throws {
        let profile = try tableConnection.query(
            "SELECT email, phone FROM public.\(scope.q(scope.map.subjectTable)) WHERE \(scope.q(scope.map.subjectColumn)) = $1::uuid",
            [subject.uuidString.lowercased()])
        guard let row = profile.first else { throw DSRError.unknownSubject(subject) }
        var emails = Set<String>()
        var phones = Set<String>()
        if let email = try row.decodeOptional("email", as: String.self) { emails.insert(email.lowercased()) }
        if let phone = try row.decodeOptional("phone", as: String.self) { phones.insert(Self.digits(phone)) }
        // Contacts in rows that name the subject directly (user_id, profile_id) are theirs too:
        // the address a message went to, the phone they verified.
        for (table, entry) in scope.map.tables {
            let direct = entry.reach.filter { !$0.contains("->") && !$0.hasPrefix("<-") }
            for (column, category) in entry.personal where category == "contact.email" || category == "contact.phone" {
                guard !direct.isEmpty, table != scope.map.subjectTable else { continue }
                let condition = direct.map { "\(scope.q($0)) = $1::uuid" }.joined(separator: " OR ")
                for value in try tableConnection.query(
                    "SELECT DISTINCT \(scope.q(column))::text FROM public.\(scope.q(table)) WHERE (\(condition)) AND \(scope.q(column)) IS NOT NULL",
                    [subject.uuidString.lowercased()])
                {
                    let text: String = try value.decode(0)
                    if category == "contact.email" {
                        emails.insert(text.lowercased())
                    } else {
                        phones.insert(Self.digits(text))
                    }
                }
            }
        }
        try tableConnection.query(
            """
            SELECT set_config('samia.dsr_own_emails', $1, true), set_config('samia.dsr_own_phones', $2, true),
                   set_config('samia.dsr_own_names', $3, true)
            """,
            [
                PostgresArray(emails.sorted()), PostgresArray(phones.filter { !$0.isEmpty }.sorted()),
                PostgresArray(try ownNames(subject: subject)),
            ])
        // Free text: the subject's own contacts, exactly as stored, are swapped for placeholders,
        // every other email and phone is masked by one regular expression each, and the
        // placeholders are swapped back. (A row-by-row PL/pgSQL loop was six times slower.)
        var own = Set(emails)
        if let email = try row.decodeOptional("email", as: String.self) { own.insert(email) }
        if let phone = try row.decodeOptional("phone", as: String.self) { own.insert(phone) }
        let ownValues = own.filter { !$0.isEmpty }.sorted { ($0.count, $0) > ($1.count, $1) }
        for (i, value) in ownValues.enumerated() {
            try tableConnection.query("SELECT set_config($1, $2, true)", ["samia.dsr_own_\(i)", value])
        }
        try tableConnection.execute(Self.maskingFunctions(ownCount: ownValues.count))
    }

    /// The subject's own names (each name column of the subject table, and all of them joined
    /// by spaces), lower-cased: a value under a personal JSON key that is one of them is theirs
    /// and stays in their export (`Amira Haddad` in the billing details of their own payment).
    private func ownNames(subject: UUID) throws -> [String] {
        let columns =
            scope.map.tables[scope.map.subjectTable]?.personal.filter { $0.value == "name" }.keys.sorted() ?? []
        guard !columns.isEmpty else { return [] }
        let row = try tableConnection.query(
            "SELECT \(columns.map { "\(scope.q($0))::text" }.joined(separator: ", ")) FROM public.\(scope.q(scope.map.subjectTable)) WHERE \(scope.q(scope.map.subjectColumn)) = $1::uuid",
            [subject.uuidString.lowercased()])
        guard let first = row.first else { return [] }
        let parts = try (0..<columns.count).compactMap { try first.decodeOptional($0, as: String.self) }
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
        return Array(Set(parts + [parts.joined(separator: " ")])).filter { !$0.isEmpty }.sorted()
    }

    static func digits(_ text: String) -> String {
        String(text.unicodeScalars.filter { ("0"..."9").contains($0) }.map(Character.init))
    }

    /// A phone number in free text, as people write them: with `+` or `00` or neither, digits
    /// grouped by spaces, dashes, dots or brackets, ASCII or Arabic-Indic digits; nine to
    /// sixteen digits, not inside a longer word or number, not a part of a document number or
    /// id (`SAMIA-2026-000102`, a UUID's last group: digits after `X-` or `X/`), and not a date
    /// (`2026-10-05 10:00` has ten digits). Groups: the first two digits (with `+`/`00`), the middle, the last two.
    static let phonePattern =
        "(?<![0-9A-Za-z٠-٩۰-۹+])(?<![0-9A-Za-z][-/])((?:\\+|00)?[0-9٠-٩۰-۹]{2})(?![0-9]{2}-[0-9]{2}-[0-9]{2})"
        + "((?:[ ().-]{0,2}[0-9٠-٩۰-۹]){5,12})([0-9٠-٩۰-۹]{2})(?![0-9٠-٩۰-۹])"

    static func maskingFunctions(ownCount: Int) -> String {
        let token = { (i: Int) in "chr(1) || '\(i)' || chr(2)" }
        var protect = "v"
        var restore = "v"
        for i in 0..<ownCount {
            protect = "replace(\(protect), current_setting('samia.dsr_own_\(i)'), \(token(i)))"
            restore = "replace(\(restore), \(token(i)), current_setting('samia.dsr_own_\(i)'))"
        }
        return """
            CREATE OR REPLACE FUNCTION pg_temp.dsr_is_own(v text) RETURNS boolean LANGUAGE sql STABLE AS $f$
              SELECT lower(v) = ANY (current_setting('samia.dsr_own_emails')::text[])
                  OR lower(btrim(v)) = ANY (current_setting('samia.dsr_own_names')::text[])
                  OR (regexp_replace(v, '[^0-9]', '', 'g') <> ''
                      AND regexp_replace(v, '[^0-9]', '', 'g') = ANY (current_setting('samia.dsr_own_phones')::text[]))
            $f$;
            CREATE OR REPLACE FUNCTION pg_temp.dsr_mask_email(v text) RETURNS text LANGUAGE sql STABLE AS $f$
              SELECT CASE WHEN v IS NULL OR pg_temp.dsr_is_own(v) THEN v
                          WHEN strpos(v, '@') > 1 THEN left(split_part(v, '@', 1), 2) || '***@' || substr(v, strpos(v, '@') + 1)
                          ELSE '***' END
            $f$;
            CREATE OR REPLACE FUNCTION pg_temp.dsr_mask_phone(v text) RETURNS text LANGUAGE sql STABLE AS $f$
              SELECT CASE WHEN v IS NULL OR pg_temp.dsr_is_own(v) THEN v
                          WHEN length(v) <= 5 THEN '***' ELSE left(v, 3) || '***' || right(v, 2) END
            $f$;
            CREATE OR REPLACE FUNCTION pg_temp.dsr_protect(v text) RETURNS text LANGUAGE sql STABLE AS $f$
              SELECT \(protect)
            $f$;
            CREATE OR REPLACE FUNCTION pg_temp.dsr_restore(v text) RETURNS text LANGUAGE sql STABLE AS $f$
              SELECT \(restore)
            $f$;
            CREATE OR REPLACE FUNCTION pg_temp.dsr_mask_text(v text) RETURNS text LANGUAGE sql STABLE AS $f$
              SELECT CASE WHEN v IS NULL OR (strpos(v, '@') = 0 AND v !~ '\(contactDigits)') THEN v
                          WHEN strpos(v, '@') = 0 THEN pg_temp.dsr_restore(\(phones("pg_temp.dsr_protect(v)")))
                          WHEN v !~ '\(contactDigits)' THEN pg_temp.dsr_restore(\(emails("pg_temp.dsr_protect(v)")))
                          ELSE pg_temp.dsr_restore(\(phones(emails("pg_temp.dsr_protect(v)")))) END
            $f$;
            \(jsonKeyMaskingFunctions)
            """
    }

    /// Every email in `text` (an SQL expression) masked. Free text runs each pattern only where
    /// it can match (an `@`, a run of digits): the phone pattern alone took 14 µs per order.
    static func emails(_ text: String) -> String {
        "regexp_replace(\(text), '([A-Za-z0-9._%+-]{1,2})[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)+)', '\\1***@\\2', 'g')"
    }

    /// Every phone number in `text` (an SQL expression) masked.
    static func phones(_ text: String) -> String {
        "regexp_replace(\(text), '\(phonePattern)', '\\1***\\3', 'g')"
    }

    /// Values under the JSON keys a column declares personal (`json_personal_keys`), at any
    /// depth: each string or number under one (or inside an object or array under one) is
    /// masked unless it is the subject's own email, phone or name. A name cannot be found by a
    /// pattern as an email or phone can: the key is what says it is personal. A document (or a
    /// part of one) with no personal key, no `@` and no run of digits a phone could be in is
    /// left whole (`dsr_needs_mask`).
    static let jsonKeyMaskingFunctions = """
        CREATE OR REPLACE FUNCTION pg_temp.dsr_mask_value(v text) RETURNS text LANGUAGE sql STABLE AS $f$
          SELECT CASE WHEN pg_temp.dsr_is_own(v) THEN v
                      WHEN strpos(v, '@') > 1 THEN pg_temp.dsr_mask_email(v)
                      WHEN length(regexp_replace(v, '[^0-9٠-٩۰-۹]', '', 'g')) >= 7 THEN pg_temp.dsr_mask_phone(v)
                      ELSE left(v, 1) || '***' END
        $f$;
        CREATE OR REPLACE FUNCTION pg_temp.dsr_mask_whole(v jsonb) RETURNS jsonb LANGUAGE plpgsql STABLE AS $f$
        DECLARE
          masked jsonb;
        BEGIN
          CASE jsonb_typeof(v)
            WHEN 'object' THEN
              SELECT coalesce(jsonb_object_agg(e.k, pg_temp.dsr_mask_whole(e.v)), '{}'::jsonb) INTO masked FROM jsonb_each(v) e(k, v);
            WHEN 'array' THEN
              SELECT coalesce(jsonb_agg(pg_temp.dsr_mask_whole(a.v) ORDER BY a.n), '[]'::jsonb) INTO masked
                FROM jsonb_array_elements(v) WITH ORDINALITY a(v, n);
            WHEN 'string', 'number' THEN
              masked := CASE WHEN pg_temp.dsr_is_own(v #>> '{}') THEN v ELSE to_jsonb(pg_temp.dsr_mask_value(v #>> '{}')) END;
            ELSE masked := v;
          END CASE;
          RETURN masked;
        END $f$;
        CREATE OR REPLACE FUNCTION pg_temp.dsr_needs_mask(doc jsonb, keys text[]) RETURNS boolean LANGUAGE plpgsql STABLE AS $f$
        DECLARE
          t text := doc::text;
        BEGIN
          RETURN EXISTS (SELECT 1 FROM unnest(keys) k WHERE strpos(t, to_json(k)::text || ': ') > 0)
              OR EXISTS (SELECT 1 FROM jsonb_path_query(doc, 'strict $.** ? (@.type() == "string")') s(v)
                          WHERE strpos(v #>> '{}', '@') > 0 OR (v #>> '{}') ~ '\(contactDigits)');
        END $f$;
        CREATE OR REPLACE FUNCTION pg_temp.dsr_mask_json(doc jsonb, keys text[]) RETURNS jsonb LANGUAGE plpgsql STABLE AS $f$
        DECLARE
          kind text := jsonb_typeof(doc);
          masked jsonb;
        BEGIN
          IF kind NOT IN ('object', 'array', 'string') OR NOT pg_temp.dsr_needs_mask(doc, keys) THEN RETURN doc; END IF;
          IF kind = 'string' THEN RETURN to_jsonb(pg_temp.dsr_mask_text(doc #>> '{}')); END IF;
          IF kind = 'object' THEN
            SELECT coalesce(jsonb_object_agg(e.k, CASE WHEN e.k = ANY (keys) THEN pg_temp.dsr_mask_whole(e.v)
                                                       ELSE pg_temp.dsr_mask_json(e.v, keys) END), '{}'::jsonb)
              INTO masked FROM jsonb_each(doc) e(k, v);
          ELSE
            SELECT coalesce(jsonb_agg(pg_temp.dsr_mask_json(a.v, keys) ORDER BY a.n), '[]'::jsonb) INTO masked
              FROM jsonb_array_elements(doc) WITH ORDINALITY a(v, n);
          END IF;
          RETURN masked;
        END $f$;
        """

    /// Nine digits with at most two of the phone pattern's separators between each: every
    /// phone `phonePattern` finds holds such a run, so a string without one (and without `@`) is
    /// left as it is. The walk through a document, a function call per value, took 0.2 ms per
    /// webhook; the check is one pass over its strings, and most documents need no more. The
    /// walks are PL/pgSQL, planned once per session: as SQL functions (not inlined, as they hold
    /// subqueries) they were planned again by every `COPY`, 3 ms each for an 11-row table.
    static let contactDigits = "[0-9٠-٩۰-۹](?:[ ().-]{0,2}[0-9٠-٩۰-۹]){8}"

    /// Every column but the withheld ones; contact and free-text columns through the masks,
    /// JSON columns string by string and their personal keys whole (`dsr_mask_json`).
    func selectList(_ table: String, unmasked: Bool) -> String {
        let entry = scope.map.tables[table]!
        let columns = (scope.columns[table] ?? []).filter { entry.withheld[$0.name] == nil }
        return columns.map { column -> String in
            let ref = "t.\(scope.q(column.name))"
            let textual = column.type == "text" || column.type.hasPrefix("character")
            let json = column.type == "jsonb" || column.type == "json"
            let keys = json ? entry.jsonPersonalKeys[column.name] ?? [] : []
            // A document issued to the subject (an invoice's snapshot) is theirs as issued: the
            // map allows the category only where every row reached is the subject's own.
            guard !unmasked, let category = entry.personal[column.name], category != "document", textual || json
            else {
                return "\(ref) AS \(scope.q(column.name))"
            }
            let masked: String
            switch category {
            case "contact.email" where textual: masked = "pg_temp.dsr_mask_email(\(ref))"
            case "contact.phone" where textual: masked = "pg_temp.dsr_mask_phone(\(ref))"
            case _ where json:
                // String by string: the patterns over the document's text would mask numbers
                // too (a webhook's `"created": 1733600000`), leaving JSON that does not parse.
                let list = keys.map(SQLIdentifier.literal).joined(separator: ", ")
                masked = "pg_temp.dsr_mask_json(\(ref)::jsonb, ARRAY[\(list)]::text[])"
            default: masked = "pg_temp.dsr_mask_text(\(ref)::text)"
            }
            return "\(json ? "(\(masked))::\(column.type)" : masked) AS \(scope.q(column.name))"
        }.joined(separator: ", ")
    }

    /// One `COPY` into two scratch files, `data/TABLE.csv` and `data/TABLE.json`: each row
    /// arrives once, as its JSON followed by its CSV columns (`CopyRowSplitter`); the JSON rows
    /// become one array.
    private func spool(table: String, scratch: String, sql: String) throws -> [SpooledEntry] {
        let name = "data/" + EntryName.sanitizedComponent(table)
        var splitter = CopyRowSplitter()
        var csv = SpooledFile(scratch: scratch, name: name + ".csv")
        var json = SpooledFile(scratch: scratch, name: name + ".json")
        func split(_ body: () throws -> Void) throws {
            do { try body() } catch let error as CopyRowSplitter.SplitError {
                throw DSRError.unsupportedTable(table: table, reason: "\(error)")
            }
        }
        try LocalFile.writeAtomically(csv.path, key: csv.name, durable: false) { writeCSV in
            try LocalFile.writeAtomically(json.path, key: json.name, durable: false) { writeJSON in
                var csvBytes = [UInt8]()
                var jsonBytes = [UInt8]()
                try json.emit(Array("[\n".utf8), writeJSON)
                _ = try tableConnection.copyOut(sql) { chunk in
                    csvBytes.removeAll(keepingCapacity: true)
                    jsonBytes.removeAll(keepingCapacity: true)
                    try split { try splitter.feed(chunk, csv: &csvBytes, json: &jsonBytes) }
                    try csv.emit(csvBytes, writeCSV)
                    try json.emit(jsonBytes, writeJSON)
                }
                try split { try splitter.finish() }
                try json.emit(Array((splitter.rows > 0 ? "\n]\n" : "]\n").utf8), writeJSON)
            }
        }
        return [csv, json].map {
            SpooledEntry(
                table: table, name: $0.name, path: $0.path, sha256: $0.hasher.finalize(), bytes: $0.bytes,
                rows: splitter.rows)
        }
    }

    /// A scratch file being written: its bytes counted and hashed on the way.
    private struct SpooledFile {
        let name: String
        let path: String
        var hasher = SHA256Stream()
        var bytes: Int64 = 0

        init(scratch: String, name: String) {
            self.name = name
            path = scratch + "/" + name.replacingOccurrences(of: "/", with: "_")
        }

        mutating func emit(_ chunk: [UInt8], _ write: (UnsafeRawBufferPointer) throws -> Void) throws {
            guard !chunk.isEmpty else { return }
            try chunk.withUnsafeBytes { buffer in
                try write(buffer)
                hasher.update(buffer)
            }
            bytes += Int64(chunk.count)
        }
    }

    /// The objects the subject's rows point at, each under `media/` with a name made only of
    /// sanitised components of its key. A key the store refuses (`../../etc/passwd`) or does
    /// not hold is listed, not fatal: the README says which.
    private func addMedia(
        subject: UUID, zip: ZipWriter, manifest: inout Manifest, summary: inout Summary, now: Date
    ) throws {
        // One pipe carries every object: this thread reads each object and computes its SHA-256
        // for the manifest, while the pipe's thread begins, writes (CRC, the ZIP's own hash, the
        // write) and ends the entries in order. The next object is read while the last one is
        // still being written, so the two cores share the work even when an object is one chunk.
        let pipe = ChunkPipe { try zip.write($0) }
        do {
            try queueMedia(subject: subject, into: pipe, zip: zip, manifest: &manifest, summary: &summary, now: now)
            try pipe.finish()
        } catch {
            try? pipe.finish()
            throw error
        }
    }

    /// Reads each object and queues its entry (begin, bytes, end) on `pipe`, whose thread alone
    /// touches `zip` until the pipe is finished.
    private func queueMedia(
        subject: UUID, into pipe: ChunkPipe, zip: ZipWriter, manifest: inout Manifest, summary: inout Summary,
        now: Date
    ) throws {
        var seen = Set<String>()
        // Entry names already in the ZIP: a set, as a thousand objects against the manifest's
        // list took half a million comparisons.
        var taken = Set(manifest.files.map(\.path))
        for table in scope.map.tables.keys.sorted() {
            let entry = scope.map.tables[table]!
            for column in entry.storage.sorted() {
                let keys = try db.query(
                    """
                    SELECT DISTINCT t.\(scope.q(column))::text FROM public.\(scope.q(table)) t
                     WHERE t.\(scope.q(column)) IS NOT NULL AND (\(scope.predicate(table)))
                     ORDER BY 1
                    """)
                for row in keys {
                    let key: String = try row.decode(0)
                    guard seen.insert(key).inserted else { continue }
                    let components = key.split(separator: "/").map { EntryName.sanitizedComponent(String($0)) }
                    var candidate = "media/" + components.joined(separator: "/")
                    // A key too long or clashing after sanitising gets a numbered name; the number
                    // grows until the name is free, as a real key may look like one.
                    var number = summary.mediaFiles + 1
                    while !EntryName.isSafe(candidate) || taken.contains(candidate) {
                        candidate = "media/\(number)-" + (components.last ?? "object")
                        number += 1
                    }
                    let name = candidate
                    // An entry is begun only once the object is known to exist, so a missing one
                    // leaves no trace.
                    var hasher = SHA256Stream()
                    var bytes: Int64 = 0
                    var begun = false
                    let found: Bool
                    do {
                        // Each chunk is its own array, handed to the pipe as it is and hashed
                        // here meanwhile: nothing is copied between the threads.
                        found = try store.readChunks(key) { chunk in
                            if !begun {
                                try pipe.perform { try zip.begin(name, size: nil, modified: now) }
                                begun = true
                            }
                            try pipe.send(chunk)
                            chunk.withUnsafeBytes { hasher.update($0) }
                            bytes += Int64(chunk.count)
                        }
                    } catch StorageError.unsafeKey {
                        found = false
                    }
                    guard found else {
                        summary.missingMedia.append(key)
                        continue
                    }
                    if !begun { try pipe.perform { try zip.begin(name, size: 0, modified: now) } }
                    try pipe.perform { try zip.end() }
                    manifest.add(path: name, sha256: hasher.finalize(), bytes: bytes)
                    taken.insert(name)
                    summary.mediaFiles += 1
                    summary.mediaBytes += bytes
                }
            }
        }
    }
}
