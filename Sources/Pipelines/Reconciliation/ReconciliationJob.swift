import Foundation
import Invoicing
import Postgres
import Reports
import Runner
import Storage

/// Closes a month for finance: imports any settlement files given, matches the month's ledger
/// against the settlement lines in SQL, and writes one signed ZIP, stored as a new version of
/// the `reconciliation` artefact (docs/reconciliation.md).
///
/// Breaks are findings, not failures: the run succeeds and the ZIP lists them. Everything is
/// read in one REPEATABLE READ snapshot, so the CSVs and the summary agree to the row.
public struct ReconciliationJob: Job {
    public let name = "reconcile"
    public let partitionKind = PartitionKind.month
    public var isDestructive: Bool { false }

    /// Every break type, in the order the summary lists them; each has its own CSV.
    public static let breakTypes = [
        "missing_in_provider", "missing_in_ledger", "amount_mismatch", "currency_mismatch", "duplicate",
        "refund_without_credit_note", "credit_note_without_refund", "dispute_open", "dispute_lost", "dispute_won",
        "fee_variance", "fx_difference", "timing", "payout_mismatch", "payment_without_invoice", "invoice_arithmetic",
        "vat_rate", "invoice_sequence", "payout_not_in_bank", "deposit_without_payout", "bank_balance_gap",
    ]
    public static let artifactKind = "reconciliation"

    public let year: Int
    public let month: Int
    public let settlementFiles: [String]
    public let outPath: String?
    public let policy: ReconciliationPolicy
    public let rates: VATRateTable
    public let signingKey: SigningKey
    public let store: any ObjectStore
    let labels: Labels
    let icc: [UInt8]?
    let fonts: FontSet.Paths

    public init(
        year: Int, month: Int, settlementFiles: [String] = [], outPath: String? = nil, policy: ReconciliationPolicy,
        rates: VATRateTable, signingKey: SigningKey, store: any ObjectStore, labels: Labels, icc: [UInt8]?,
        fonts: FontSet.Paths = .fromEnvironment()
    ) {
        self.year = year
        self.month = month
        self.settlementFiles = settlementFiles
        self.outPath = outPath
        self.policy = policy
        self.rates = rates
        self.signingKey = signingKey
        self.store = store
        self.labels = labels
        self.icc = icc
        self.fonts = fonts
    }

    /// Where VAT figures are also converted: a currency and a CSV of `currency,rate` (units
    /// of the reporting currency per unit). Without it the VAT summary stays per currency.
    public struct Reporting: Sendable, Equatable {
        public var currency: String
        public var ratesFile: String
        public init(currency: String, ratesFile: String) {
            self.currency = currency
            self.ratesFile = ratesFile
        }
    }
    public var reporting: Reporting?
    /// A month that has not ended in the reporting zone is reconciled only when asked for as
    /// provisional; its manifest and summary then say so.
    public var provisional = false

    /// Refuses a month that has not begun (65), and one that has not ended unless provisional:
    /// a close of an unfinished month would be signed as if final.
    func checkMonthIsOver(now: Date) throws {
        guard let zone = TimeZone(identifier: policy.timeZone) else { return }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let start = calendar.date(from: DateComponents(year: year, month: month, day: 1))!
        let end = calendar.date(byAdding: .month, value: 1, to: start)!
        if now < start {
            throw BatchError.badInput(
                file: "--month", line: nil, field: "month",
                message: "\(partition.key) has not begun in \(policy.timeZone); nothing to reconcile")
        }
        if now < end && !provisional {
            throw BatchError.badInput(
                file: "--month", line: nil, field: "month",
                message: "\(partition.key) has not ended in \(policy.timeZone); a close would be signed as final. "
                    + "Pass --provisional for an interim look")
        }
    }

    public var partition: Partition { .month(year: year, month: month) }

    /// The month's close, as a list of steps: import the files given, match in one snapshot,
    /// write the signed ZIP, store it as the month's next version, and report.
    public func run(_ context: JobContext) throws -> JobOutcome {
        let db = context.connection
        try checkMonthIsOver(now: context.clock.now())
        if context.dryRun { return try dryRun(context) }
        try StorageSpace.require(store)
        var stats = try importSettlements(context)
        let registry = ArtifactRegistry(connection: db, store: store)
        let version = try registry.nextVersion(kind: Self.artifactKind, partition: partition.key)
        let output = try Output(job: self, version: version)
        defer {
            if let directory = output.temporaryDirectory { try? FileManager.default.removeItem(atPath: directory) }
        }
        let now = context.clock.now()
        var manifest = manifest(version: version, now: now, runID: context.runID)
        var digest: (sha256: String, bytes: Int64)?
        try db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        do {
            try setUpMatching(db)
            stats["match_ms"] = try match(context, manifest: &manifest)
            let zip = try ZipWriter(path: output.zipPath, compressionLevel: 1)
            let counts = try writeCSVs(zip, manifest: &manifest, context: context, now: now, stats: &stats)
            // A provisional look leaves the register alone: its breaks may be items still in transit.
            if !provisional {
                let started = Date()
                try db.query(ReconciliationSQL.recordBreaks, [context.runID])
                stats["register_ms"] = Int64(Date().timeIntervalSince(started) * 1000)
            }
            let summary = try addSummary(zip, manifest: &manifest, db: db, now: now, version: version, counts: counts)
            let (manifestBytes, signature) = try manifest.signed(with: signingKey)
            try zip.add("manifest.json", data: manifestBytes, modified: now)
            try zip.add("manifest.sig", data: signature, modified: now)
            try zip.commit()
            digest = zip.sha256.map { ($0, zip.bytes) }
            try db.commit()
            for (type, n) in counts { stats["breaks_\(type)"] = n }
            stats["breaks"] = summary.totalBreaks
        } catch {
            try? db.execute("ROLLBACK")
            throw error
        }
        let record = try store(
            output, registry: registry, version: version, digest: digest, context: context, stats: stats)
        stats["version"] = Int64(version)
        return report(stats, record: record, version: version)
    }

    /// Where the ZIP is written: `--out`, or a temporary directory it is stored from.
    struct Output {
        let fileName: String
        let zipPath: String
        let temporaryDirectory: String?

        init(job: ReconciliationJob, version: Int) throws {
            fileName =
                "reconciliation-\(job.partition.key)-v\(version)\(job.provisional ? "-provisional" : "").zip"
            if let outPath = job.outPath {
                (zipPath, temporaryDirectory) = (outPath, nil)
            } else {
                let directory = try LocalFile.temporaryDirectory("reconcile")
                (zipPath, temporaryDirectory) = (directory + "/" + fileName, directory)
            }
        }
    }

    /// The settlement files given on the command line, imported before the month is matched.
    private func importSettlements(_ context: JobContext) throws -> [String: Int64] {
        var stats: [String: Int64] = [:]
        guard !settlementFiles.isEmpty else { return stats }
        let importer = SettlementImporter(connection: context.connection)
        for file in settlementFiles {
            try context.checkpoint()
            let outcome = try importer.importFile(file, provider: nil)
            stats["settlement_rows_imported", default: 0] += Int64(outcome.imported)
        }
        return stats
    }

    func manifest(version: Int, now: Date, runID: Int64) -> Manifest {
        let monthKey = partition.key
        var manifest = Manifest(
            artifact: "\(Self.artifactKind)/\(monthKey)/v\(version)", createdBy: "samia-batch \(SamiaVersion.version)",
            createdAt: PDFRenderer.isoDate(now), parameters: policy.manifestParameters)
        manifest.parameters["month"] = monthKey
        manifest.parameters["version"] = String(version)
        manifest.parameters["run_id"] = String(runID)
        manifest.parameters["amounts"] = "major units with the currency's ISO 4217 decimals"
        manifest.parameters["csv"] = "UTF-8 with byte-order mark, comma-separated, header row (PostgreSQL COPY)"
        manifest.parameters["vat_rates_sha256"] = rates.sourceSHA256
        manifest.parameters["provisional"] = provisional ? "true: the month had not ended" : "false"
        return manifest
    }

    /// The session's settings and the one-row parameter tables every matching statement reads.
    func setUpMatching(_ db: Connection) throws {
        // JIT compiles for hundreds of milliseconds per statement here (temporary tables have no
        // statistics, so every plan looks expensive) and never pays back on these plans.
        _ = try db.query(
            "SELECT set_config('TimeZone', $1, true), set_config('work_mem', '64MB', true), set_config('jit', 'off', true)",
            [policy.timeZone])
        let first = String(format: "%04d-%02d-01", year, month)
        try db.query(
            ReconciliationSQL.parameters,
            [
                first, policy.timeZone, policy.amountToleranceMinor,
                policy.feeToleranceMinor, policy.inTransitDays, rates.fallbackBasisPoints, policy.bankDays,
            ])
        try db.query(ReconciliationSQL.currencies, SettlementSQL.currencyParameters)
        try db.query(ReconciliationSQL.vatRates, rates.sqlParameters)
        try db.query(
            ReconciliationSQL.fees,
            [
                PostgresArray(policy.fees.map(\.provider)), PostgresArray(policy.fees.map(\.currency)),
                PostgresArray(policy.fees.map(\.basisPoints)), PostgresArray(policy.fees.map(\.fixedMinor)),
            ])
        if let reporting {
            _ = try db.query("SELECT set_config('samia.reporting_currency', $1, true)", [reporting.currency])
        }
        // Temporary tables get no statistics unless asked; without them every join with
        // these one-row tables is planned as if they were large.
        try db.execute("ANALYZE rec_params, rec_currency, rec_vat_rates, rec_fees")
    }

    /// The matching statements in order; the window and source files go into the manifest.
    /// Returns the milliseconds it took.
    func match(_ context: JobContext, manifest: inout Manifest) throws -> Int64 {
        let db = context.connection
        let matchStarted = Date()
        // The matching, then the bank tie-out and the break register, which read its breaks.
        let steps =
            ReconciliationSQL.statements.enumerated().map { ("\($0.offset + 1)", $0.element) }
            + ReconciliationSQL.bankStatements.enumerated().map { ("bank \($0.offset + 1)", $0.element) } + [
                ("break ids", ReconciliationSQL.breakIDs), ("resolved breaks", ReconciliationSQL.setAsideResolved),
                ("open breaks", ReconciliationSQL.openBreaks), ("return rates", ReconciliationSQL.vatReturnRates),
            ]
        for (i, (name, statement)) in steps.enumerated() {
            try context.checkpoint()
            let started = Date()
            try db.execute(statement)
            context.logger.debug(
                "matching step done",
                metadata: ["step": "\(name)", "ms": "\(Int(Date().timeIntervalSince(started) * 1000))"])
            context.progress.update("matching", done: Int64(i + 1), total: Int64(steps.count))
        }
        let window = try db.query("SELECT start_at::text AS s, end_at::text AS e FROM rec_params")[0]
        manifest.parameters["window_start"] = try window.decode("s")
        manifest.parameters["window_end"] = try window.decode("e")
        for (i, row) in try db.query(ReconciliationSQL.sourceFiles).enumerated() {
            let sha: String = try row.decode("sha256")
            let name: String = try row.decode("file_name")
            let report: String = try row.decode("report_type")
            manifest.parameters[String(format: "settlement_file.%03d", i + 1)] = "\(sha) \(name) (\(report))"
        }
        if let reporting {
            try loadRates(reporting, db, &manifest)
            try db.execute(ReconciliationSQL.vatReturnRatesFromReporting)
        }
        try db.execute(ReconciliationSQL.vatReturn)
        return Int64(Date().timeIntervalSince(matchStarted) * 1000)
    }

    /// A CSV per break type, then matched, in transit, payouts and the VAT summary; returns the
    /// count of each break type.
    private func writeCSVs(
        _ zip: ZipWriter, manifest: inout Manifest, context: JobContext, now: Date, stats: inout [String: Int64]
    ) throws -> [String: Int64] {
        let db = context.connection
        let csvStarted = Date()
        var wait: UInt64 = 0
        var counts: [String: Int64] = [:]
        for type in Self.breakTypes {
            try context.checkpoint()
            counts[type] = Int64(
                try addCSV(
                    zip, &manifest, name: "breaks/\(type).csv", sql: ReconciliationSQL.breaks(type), db, now,
                    waitNanoseconds: &wait))
        }
        let vat =
            reporting == nil ? ReconciliationSQL.vatSummary : ReconciliationSQL.vatSummaryConverted
        for (stat, name, sql) in [
            ("matched", "matched.csv", ReconciliationSQL.matched),
            ("in_transit", "in_transit.csv", ReconciliationSQL.inTransit),
            ("payouts", "payouts.csv", ReconciliationSQL.payouts), ("vat_rows", "vat_summary.csv", vat),
            ("other_rows", "other.csv", ReconciliationSQL.other),
            ("vat_return_rows", "vat_return.csv", ReconciliationSQL.vatReturnCSV),
            ("bank_payouts", "bank/tieout.csv", ReconciliationSQL.bankTieoutCSV),
            ("bank_fee_entries", "bank/fees.csv", ReconciliationSQL.bankFeesCSV),
            ("bank_accounts", "bank/rollforward.csv", ReconciliationSQL.bankRollforwardCSV),
            ("ageing_rows", "breaks/ageing.csv", ReconciliationSQL.ageing),
            ("carried_breaks", "breaks/carried.csv", ReconciliationSQL.carried),
            ("resolved_breaks_seen", "breaks/resolved.csv", ReconciliationSQL.resolved),
        ] {
            stats[stat] = Int64(try addCSV(zip, &manifest, name: name, sql: sql, db, now, waitNanoseconds: &wait))
        }
        try context.checkpoint()
        let journalStarted = Date()
        stats["journal_lines"] = Int64(
            try writeJournal(zip, manifest: &manifest, db: db, now: now, waitNanoseconds: &wait))
        stats["journal_ms"] = Int64(Date().timeIntervalSince(journalStarted) * 1000)
        stats["csv_ms"] = Int64(Date().timeIntervalSince(csvStarted) * 1000)
        stats["csv_wait_ms"] = Int64(wait / 1_000_000)
        stats["csv_bytes"] = manifest.files.reduce(0) { $0 + $1.bytes }
        return counts
    }

    /// The bilingual summary, as Markdown and PDF.
    private func addSummary(
        _ zip: ZipWriter, manifest: inout Manifest, db: Connection, now: Date, version: Int, counts: [String: Int64]
    ) throws -> ReconciliationSummary {
        var summary = ReconciliationSummary(
            month: partition.key, timeZone: policy.timeZone, version: version, generatedAt: now,
            totals: try totals(db), breaks: Self.breakTypes.map { ($0, counts[$0] ?? 0) }, vat: try vatRows(db))
        summary.provisional = provisional
        summary.vatReturn = try vatReturn(db)
        summary.ageing = try db.query(ReconciliationSQL.ageingRows).map { row in
            ReconciliationSummary.AgeingRow(
                type: try row.decode("break_type"), open: try row.decode("open"), days0to30: try row.decode("d30"),
                days31to60: try row.decode("d60"), days61to90: try row.decode("d90"), over90: try row.decode("over90"))
        }
        summary.bank = try db.query(ReconciliationSQL.bankRollforwardRows).map { row in
            ReconciliationSummary.BankRow(
                account: try row.decode("account"), currency: try row.decode("currency"),
                opening: try row.decode("opening"), payouts: try row.decode("payouts"), fees: try row.decode("fees"),
                otherNet: try row.decode("other_net"), computedClosing: try row.decode("computed_closing"),
                statementClosing: try row.decode("closing"), ties: try row.decode("ties"))
        }
        let markdown = Array(summary.markdown(labels: labels).utf8)
        try zip.add("summary.md", data: markdown, modified: now)
        manifest.add(path: "summary.md", contents: markdown)
        let renderer = ReconciliationSummaryRenderer(fonts: try FontSet(paths: fonts), labels: labels, iccProfile: icc)
        let pdf = try renderer.render(summary)
        try zip.add("summary.pdf", data: pdf, modified: now)
        manifest.add(path: "summary.pdf", contents: pdf)
        manifest.parameters["breaks_total"] = String(summary.totalBreaks)
        return summary
    }

    /// Stores the ZIP as the month's next version, with its audit row.
    private func store(
        _ output: Output, registry: ArtifactRegistry, version: Int, digest: (sha256: String, bytes: Int64)?,
        context: JobContext, stats: [String: Int64]
    ) throws -> ArtifactRecord {
        let monthKey = partition.key
        let record = try registry.record(
            kind: Self.artifactKind, partition: monthKey, version: version, localPath: output.zipPath,
            fileName: output.fileName,
            parameters: ["month": monthKey, "breaks": String(stats["breaks"] ?? 0), "time_zone": policy.timeZone],
            runID: context.runID, consume: outPath == nil, digest: digest)
        try context.connection.query(
            """
            INSERT INTO public.audit_log (actor_role, event, entity, entity_id, meta)
            VALUES ('system', 'reconciliation_ready', 'batch_artifacts', $1,
                    jsonb_build_object('month', $2::text, 'version', $3::integer, 'sha256', $4::text, 'breaks', $5::bigint,
                                       'run_id', $6::bigint))
            """, [String(record.id), monthKey, version, record.sha256, stats["breaks"] ?? 0, context.runID])
        return record
    }

    /// The lines on stdout and the outcome; breaks do not fail the run: the alert on these
    /// gauges is what tells finance.
    private func report(_ stats: [String: Int64], record: ArtifactRecord, version: Int) -> JobOutcome {
        print(
            "reconciliation \(partition.key) v\(version): \(stats["breaks"] ?? 0) break(s), \(stats["matched"] ?? 0) matched, "
                + "\(stats["in_transit"] ?? 0) in transit; artefact #\(record.id) sha256 \(record.sha256)"
                + (outPath.map { "; written to \($0)" } ?? ""))
        print(
            "phases: matching \(stats["match_ms"] ?? 0) ms; CSVs through COPY into the ZIP \(stats["csv_ms"] ?? 0) ms "
                + "for \(stats["csv_bytes"] ?? 0) bytes, of which \(stats["csv_wait_ms"] ?? 0) ms waiting for the ZIP writer"
        )
        var outcome = JobOutcome(
            stats: stats, artifacts: [outPath ?? record.storageKey],
            itemsProcessed: (stats["matched"] ?? 0) + (stats["breaks"] ?? 0))
        outcome.gauges["samia_reconciliation_breaks"] = Double(stats["breaks"] ?? 0)
        for (key, n) in stats where key.hasPrefix("breaks_") {
            outcome.gauges[
                MetricsTextfile.sample(
                    "samia_reconciliation_breaks_by_type", labels: [("type", String(key.dropFirst(7)))])] = Double(n)
        }
        return outcome
    }

    /// Loads the exchange rates through COPY and refuses, naming file, line and field, a rate
    /// that is not a positive decimal or a VAT currency without a rate.
    private func loadRates(_ reporting: Reporting, _ db: Connection, _ manifest: inout Manifest) throws {
        let file = reporting.ratesFile
        guard let data = FileManager.default.contents(atPath: file) else {
            throw BatchError.badInput(file: file, line: nil, field: nil, message: "cannot be read")
        }
        try db.execute(
            "CREATE TEMP TABLE rec_fx (currency text, rate text, row_no bigint GENERATED ALWAYS AS IDENTITY) ON COMMIT DROP"
        )
        var sent = false
        do {
            try db.copyIn("COPY rec_fx (currency, rate) FROM STDIN WITH (FORMAT csv, HEADER true)") {
                defer { sent = true }
                return sent ? nil : [UInt8](data)
            }
        } catch let error as PostgresError where error.code == .server {
            throw BatchError.badInput(file: file, line: error.copyLine, field: nil, message: error.message)
        }
        let bad = try db.query(
            """
            SELECT row_no + 1 AS line, 'rate' AS field FROM rec_fx
             WHERE coalesce(rate, '') !~ '^[0-9]+(\\.[0-9]+)?$' OR rate::numeric = 0
            UNION ALL
            SELECT row_no + 1, 'currency' FROM rec_fx f
             WHERE NOT EXISTS (SELECT 1 FROM rec_currency c WHERE c.code = upper(f.currency))
            ORDER BY 1 LIMIT 1
            """)
        if bad.count > 0 {
            let field: String = try bad[0].decode("field")
            throw BatchError.badInput(
                file: file, line: Int(try bad[0].decode("line") as Int64), field: field,
                message: field == "rate" ? "not a positive decimal rate" : "unknown currency")
        }
        let missing = try db.query(
            "SELECT DISTINCT currency FROM rec_vat WHERE currency NOT IN (SELECT upper(currency) FROM rec_fx) ORDER BY 1"
        )
        if missing.count > 0 {
            let codes = try missing.map { try $0.decode("currency") as String }.joined(separator: ", ")
            throw BatchError.badInput(
                file: file, line: nil, field: "currency", message: "no rate for \(codes), which the VAT summary needs")
        }
        manifest.parameters["reporting_currency"] = reporting.currency
        manifest.parameters["fx_rates_sha256"] = SHA256Hex.of([UInt8](data))
        manifest.parameters["fx_rates_file"] = (file as NSString).lastPathComponent
    }

    /// Streams one `COPY … TO STDOUT` into a ZIP entry behind a UTF-8 byte-order mark, hashing
    /// as it goes; memory stays at a few chunks whatever the row count. Deflate and hashing run on
    /// a second thread (`ChunkPipe`) while this one reads the next rows; `waitNanoseconds` grows
    /// by the time reading had to wait for them.
    func addCSV(
        _ zip: ZipWriter, _ manifest: inout Manifest, name: String, sql: String, _ db: Connection, _ now: Date,
        waitNanoseconds: inout UInt64, byteOrderMark: Bool = true
    ) throws -> Int {
        // A provisional close marks every CSV row, so no file taken out of the ZIP passes for final.
        let sql = provisional ? Self.markedProvisional(sql) : sql
        try zip.begin(name, size: nil, modified: now)
        var hasher = SHA256Stream()
        var bytes: Int64 = 0
        let pipe = ChunkPipe { chunk in
            try zip.write(chunk)
            hasher.update(chunk)
            bytes += Int64(chunk.count)
        }
        let rows: Int
        do {
            if byteOrderMark { try [UInt8]([0xEF, 0xBB, 0xBF]).withUnsafeBytes { try pipe.send($0) } }
            rows = try db.copyOut(sql) { try pipe.send($0) }
            try pipe.finish()
        } catch {
            try? pipe.finish()
            throw error
        }
        waitNanoseconds += pipe.waitNanoseconds
        try zip.end()
        manifest.add(path: name, sha256: hasher.finalize(), bytes: bytes)
        return rows
    }

    /// The `COPY (SELECT ...)` with a first column `provisional` saying the month had not ended.
    static func markedProvisional(_ copy: String) -> String {
        precondition(copy.hasPrefix("COPY (SELECT "), "every CSV is a COPY of a SELECT")
        return "COPY (SELECT 'month not ended' AS provisional, " + copy.dropFirst("COPY (SELECT ".count)
    }

    private func totals(_ db: Connection) throws -> [ReconciliationSummary.CurrencyTotals] {
        try db.query(ReconciliationSQL.totals).map { row in
            ReconciliationSummary.CurrencyTotals(
                currency: try row.decode("currency"), payments: try row.decode("payments"),
                paymentsAmount: try row.decode("payments_amount"), refunds: try row.decode("refunds"),
                refundsAmount: try row.decode("refunds_amount"), settledGross: try row.decode("settled_gross"),
                fees: try row.decode("fees"), matched: try row.decode("matched"),
                inTransit: try row.decode("in_transit"))
        }
    }

    private func vatReturn(_ db: Connection) throws -> [VATReturnBox] {
        try db.query(ReconciliationSQL.vatReturnRows).map { row in
            VATReturnBox(
                code: try row.decode("code"), box: try row.decode("box"), currency: try row.decode("currency"),
                amount: try row.decodeOptional("amount", as: String.self),
                adjustment: try row.decodeOptional("adjustment", as: String.self),
                vat: try row.decodeOptional("vat", as: String.self), note: try row.decode("note"))
        }
    }

    private func vatRows(_ db: Connection) throws -> [ReconciliationSummary.VATRow] {
        try db.query(ReconciliationSQL.vatRows).map { row in
            ReconciliationSummary.VATRow(
                country: try row.decode("country"), rate: try row.decode("rate"), currency: try row.decode("currency"),
                invoices: try row.decode("invoices"), creditNotes: try row.decode("credit_notes"),
                base: try row.decode("base"), vat: try row.decode("vat"), gross: try row.decode("gross"))
        }
    }
}

extension ReconciliationJob {
    /// The job as configured by the environment: policy, VAT rates, signing key, storage,
    /// labels, fonts and ICC profile. Anything missing is a configuration error before any work.
    public static func fromEnvironment(
        year: Int, month: Int, settlementFiles: [String], outPath: String?, timeZone: String?,
        reporting: Reporting? = nil, env: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> ReconciliationJob {
        var policy = try ReconciliationPolicy.load(env)
        if let timeZone {
            guard TimeZone(identifier: timeZone) != nil else {
                throw BatchError.configuration("--timezone \(timeZone) is not an IANA time zone name")
            }
            policy.timeZone = timeZone
        }
        let key = try JobEnvironment.signingKey(env)
        let store = try ObjectStores.forJob(env)
        for file in settlementFiles where !FileManager.default.isReadableFile(atPath: file) {
            throw BatchError.badInput(file: file, line: nil, field: nil, message: "cannot be read")
        }
        if let reporting {
            guard Currency.exponent(reporting.currency) != nil else {
                throw BatchError.configuration("--reporting-currency \(reporting.currency) is not an ISO 4217 currency")
            }
            guard FileManager.default.isReadableFile(atPath: reporting.ratesFile) else {
                throw BatchError.badInput(file: reporting.ratesFile, line: nil, field: nil, message: "cannot be read")
            }
        }
        let fonts = FontSet.Paths.fromEnvironment(env)
        _ = try FontSet(paths: fonts)
        var job = ReconciliationJob(
            year: year, month: month, settlementFiles: settlementFiles, outPath: outPath, policy: policy,
            rates: try VATRateTable.load(env), signingKey: key, store: store, labels: try Labels.locate(env),
            icc: try PDFRenderer.loadICCProfile(env), fonts: fonts)
        job.reporting = reporting
        return job
    }
}
