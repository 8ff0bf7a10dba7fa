import Foundation
import Logging
import Postgres
import Reports
import Runner
import Storage

/// Issues tax invoices (with a payment receipt) for succeeded payments and credit notes for
/// succeeded refunds.
///
/// Numbering is gapless and unique with any number of workers: a document's number is taken
/// from `document_sequences` by `UPDATE ... RETURNING` in the same transaction that inserts
/// the document, so a rollback or a crash gives the number back. Sources are claimed with
/// `FOR UPDATE SKIP LOCKED`. PDFs are rendered from the snapshot stored with the number, in a
/// second short transaction, so a crash after numbering leaves a document that the next run
/// renders; a lost object is rendered again to the same bytes.
public struct InvoicingJob: Job {
    public let name = "invoices"
    public let partitionKind = PartitionKind.none
    public var isDestructive: Bool { false }
    public var allowsConcurrentRuns: Bool { true }

    let settings: InvoiceSettings
    let rates: VATRateTable
    /// With their numbers resolved: the tax number each buyer country is invoiced under.
    let registrations: SellerRegistrations
    let store: any ObjectStore
    let limit: Int?
    let fonts: FontSet.Paths
    let labels: Labels
    let icc: [UInt8]

    public init(
        settings: InvoiceSettings, rates: VATRateTable, registrations: SellerRegistrations, store: any ObjectStore,
        labels: Labels, icc: [UInt8], fonts: FontSet.Paths = .fromEnvironment(), limit: Int? = nil
    ) {
        self.settings = settings
        self.rates = rates
        self.registrations = registrations
        self.store = store
        self.labels = labels
        self.icc = icc
        self.fonts = fonts
        self.limit = limit
    }

    /// The run, as its steps: number invoices, then credit notes, one short transaction each;
    /// render and store every numbered document without a PDF; render again what storage lost.
    public func run(_ context: JobContext) throws -> JobOutcome {
        let db = context.connection
        if context.dryRun { return try dryRun(db) }
        // Nothing is numbered that could not be stored: a full disk stops the run before it starts.
        try StorageSpace.require(store)
        // Read before any work: a typo in the limit must not surface after numbers were taken.
        var breaker = try StorageBreaker.fromEnvironment()
        let renderer = InvoiceRenderer(fonts: try FontSet(paths: fonts), labels: labels, iccProfile: icc)
        var stats: [String: Int64] = [:]
        // What a killed run left half-written: never read as a document, removed before work.
        stats["stale_temporaries_removed"] = Int64(try store.removeStaleTemporaries(prefix: "invoices"))
        var failures = DocumentFailures(db: db, logger: context.logger)
        let issued = try numberDocuments(context, renderer: renderer, failures: &failures, stats: &stats)
        let stored = try storePDFs(context, renderer: renderer, failures: &failures, stats: &stats, breaker: &breaker)
        // Objects lost from storage: render again from the snapshot, which gives the same bytes.
        let checked = try checkStoredPDFs(db, renderer: renderer, context: context)
        stats["pdfs_restored"] = Int64(checked.restored)
        stats["restored_with_different_bytes"] = Int64(checked.changed)
        stats["pdfs_altered"] = Int64(checked.altered)
        stats["failed"] = Int64(failures.count)
        // An altered legal document fails the run: someone must find out who changed it.
        var outcome = JobOutcome(
            stats: stats, failedItems: failures.count + checked.altered, itemsProcessed: Int64(issued + stored))
        // A document refused for want of configuration (no registration for its country) ends 78.
        outcome.configurationProblems = failures.configuration
        return outcome
    }

    /// What a run would do: counts only.
    private func dryRun(_ db: Connection) throws -> JobOutcome {
        let pendingInvoices: Int64 =
            try db.scalar(
                "SELECT count(*) FROM public.payment_intents pi WHERE pi.status = 'succeeded' AND NOT EXISTS (SELECT 1 FROM public.invoices i WHERE i.payment_intent_id = pi.id)"
            ) ?? 0
        let pendingCredits: Int64 =
            try db.scalar(
                "SELECT count(*) FROM public.refunds r WHERE r.status = 'succeeded' AND NOT EXISTS (SELECT 1 FROM public.credit_notes c WHERE c.refund_id = r.id)"
            ) ?? 0
        let pendingPDFs: Int64 =
            try db.scalar(
                "SELECT (SELECT count(*) FROM public.invoices WHERE pdf_media_id IS NULL) + (SELECT count(*) FROM public.credit_notes WHERE pdf_media_id IS NULL)"
            ) ?? 0
        print(
            "would issue \(pendingInvoices) invoice(s) and \(pendingCredits) credit note(s); \(pendingPDFs) numbered document(s) await their PDF"
        )
        return JobOutcome(
            stats: [
                "pending_invoices": pendingInvoices, "pending_credit_notes": pendingCredits,
                "pending_pdfs": pendingPDFs,
            ])
    }

    /// The sources whose document failed in this run: recorded in `document_failures`, logged,
    /// and left out of this run's later claims.
    struct DocumentFailures {
        let db: Connection
        let logger: Logger
        private var failed: [String: [Int64]] = [:]
        /// Distinct configuration errors among the failures: the operator's to fix, not the data's.
        private(set) var configuration: [String] = []

        init(db: Connection, logger: Logger) {
            self.db = db
            self.logger = logger
        }

        var count: Int { failed.values.reduce(0) { $0 + $1.count } }

        func excluded(_ source: String) -> PostgresArray { PostgresArray(failed[source] ?? []) }

        mutating func record(_ source: String, _ id: Int64, _ error: any Error) {
            failed[source, default: []].append(id)
            if case BatchError.configuration(let message) = error, !configuration.contains(message) {
                configuration.append(message)
            }
            let message = String(describing: error).prefix(500)
            logger.error(
                "document failed",
                metadata: ["event": "document_failed", "source": "\(source)", "id": "\(id)", "error": "\(message)"])
            _ = try? db.query(
                """
                INSERT INTO public.document_failures (source, source_id, error) VALUES ($1, $2, $3)
                ON CONFLICT (source, source_id) DO UPDATE
                  SET error = EXCLUDED.error, attempts = document_failures.attempts + 1, last_failed_at = now()
                """, [source, id, String(message)])
        }
    }

    /// Numbers invoices, then credit notes: one short transaction per document. Only payments
    /// and refunds made by the job's clock are claimed: no document is dated before its supply
    /// (with `SAMIA_NOW` on a dev database, a replay numbers the history night by night). Each claim starts
    /// at the lowest source without its document when the run began (`floor`), found once: from
    /// the first id, every claim walked past the whole invoiced history (1.5 s each behind
    /// 900,000 invoices). A source that becomes due below the floor during the run (a payment
    /// succeeding late) is the next run's. Returns how many were issued.
    private func numberDocuments(
        _ context: JobContext, renderer: InvoiceRenderer, failures: inout DocumentFailures,
        stats: inout [String: Int64]
    ) throws -> Int {
        let db = context.connection
        let series: [(source: String, stat: String, floor: String)] = [
            (
                "payment_intent", "invoices_issued",
                """
                SELECT coalesce(min(pi.id), 0) FROM public.payment_intents pi
                 WHERE pi.status = 'succeeded' AND NOT EXISTS (SELECT 1 FROM public.invoices i WHERE i.payment_intent_id = pi.id)
                """
            ),
            (
                "refund", "credit_notes_issued",
                """
                SELECT coalesce(min(r.id), 0) FROM public.refunds r
                 WHERE r.status = 'succeeded' AND NOT EXISTS (SELECT 1 FROM public.credit_notes c WHERE c.refund_id = r.id)
                """
            ),
        ]
        var issued = 0
        for (source, stat, floorSQL) in series {
            let floor = try db.scalar(floorSQL, as: Int64.self) ?? 0
            while limit.map({ issued < $0 }) ?? true {
                try context.checkpoint()
                var claimed: Claim?
                do {
                    let exclude = failures.excluded(source)
                    claimed = try db.transaction { tx in
                        let claim =
                            source == "payment_intent"
                            ? try issueInvoice(tx, context: context, renderer: renderer, exclude: exclude, floor: floor)
                            : try issueCreditNote(
                                tx, context: context, renderer: renderer, exclude: exclude, floor: floor)
                        // The ledger's figures commit with the numbers they count.
                        if claim?.issued == true { try context.recordProgress(stats.adding(1, to: stat), in: tx) }
                        return claim
                    }
                } catch let error as FailedSource {
                    failures.record(source, error.id, error.underlying)
                    continue
                }
                guard let claimed else { break }
                // A source another worker numbered first counts for neither.
                guard claimed.issued else {
                    stats["\(source)_taken_by_another_worker", default: 0] += 1
                    continue
                }
                issued += 1
                stats[stat, default: 0] += 1
            }
        }
        return issued
    }

    /// Renders and stores every numbered document without a PDF; returns how many. Storage
    /// failing `breaker.limit` times in a row stops the run (the ledger keeps what it did).
    private func storePDFs(
        _ context: JobContext, renderer: InvoiceRenderer, failures: inout DocumentFailures,
        stats: inout [String: Int64], breaker: inout StorageBreaker
    ) throws -> Int {
        var stored = 0
        for table in ["invoices", "credit_notes"] {
            let source = table == "invoices" ? "invoice" : "credit_note"
            while true {
                try context.checkpoint()
                do {
                    let exclude = failures.excluded(source)
                    let done = try context.connection.transaction { tx in
                        let done = try storePDF(tx, table: table, renderer: renderer, exclude: exclude)
                        if done { try context.recordProgress(stats.adding(1, to: "pdfs_stored"), in: tx) }
                        return done
                    }
                    guard done else { break }
                    stored += 1
                    stats["pdfs_stored", default: 0] += 1
                    breaker.succeeded()
                } catch let error as FailedSource {
                    failures.record(source, error.id, error.underlying)
                    stats["failed"] = Int64(failures.count)
                    do { try breaker.failed(error.underlying, store: store) } catch {
                        try? context.recordProgress(stats, in: context.connection)
                        throw error
                    }
                }
            }
        }
        return stored
    }

    /// How long before the supply date a SAR rate may be: older, finance must load the day's rate.
    static let sarRateMaxAgeDays = 7

    /// The SAR rate for a KSA invoice in another currency (ZATCA wants its VAT in SAR): the
    /// latest in `fx_rates` on or before the supply date, at most `sarRateMaxAgeDays` old. None is
    /// a configuration error for this document: finance loads rates, nobody guesses one.
    static func sarRate(_ db: Connection, currency: String, on day: LocalDate) throws -> InvoiceDocument.Accounting {
        let rows = try db.query(
            """
            SELECT trim_scale(rate)::text AS rate, rate_date::text AS rate_date FROM public.fx_rates
             WHERE reporting_currency = 'SAR' AND currency = $1 AND rate_date <= $2::date AND rate_date > $2::date - $3::int
             ORDER BY rate_date DESC LIMIT 1
            """, [currency, day, sarRateMaxAgeDays])
        guard let row = rows.first else {
            throw BatchError.configuration(
                "no SAR rate for \(currency) in fx_rates within \(sarRateMaxAgeDays) days up to \(day): a KSA invoice in \(currency) states its VAT in SAR (docs/invoices.md)"
            )
        }
        return .init(currency: "SAR", rate: try row.decode("rate"), rateDate: try row.decode("rate_date"))
    }

    /// The stored snapshot: the document JSON in the same schema `render` reads.
    /// What `meta` keeps of a document: the document itself (it renders again byte for byte)
    /// and its figures per VAT rate as issued (`vat_by_rate`: rate, net and VAT in minor units),
    /// which the month's journal books line by line (a credit note's per-rate VAT depends on the
    /// notes before it, so it cannot be derived again from its lines alone).
    static func snapshot(_ doc: InvoiceDocument, totals: InvoiceTotals) throws -> JSONText {
        struct Rate: Encodable {
            var rate: VATRate
            var net_minor: Int64
            var vat_minor: Int64
        }
        struct Snapshot: Encodable {
            var document: InvoiceDocument
            var vat_by_rate: [Rate]
        }
        let rates = totals.vatByRate.map { Rate(rate: $0.rate, net_minor: $0.net, vat_minor: $0.vat) }
        return JSONText(
            String(
                decoding: try InvoiceDocument.encoder().encode(Snapshot(document: doc, vat_by_rate: rates)),
                as: UTF8.self))
    }

    struct FailedSource: Error {
        let id: Int64
        let underlying: any Error
    }

    // MARK: - Numbering

    private func nextNumber(_ tx: Connection, series: String, year: Int) throws -> Int64 {
        try tx.scalar(
            """
            INSERT INTO public.document_sequences (series, year, last_value) VALUES ($1, $2, 1)
            ON CONFLICT (series, year) DO UPDATE SET last_value = public.document_sequences.last_value + 1
            RETURNING last_value
            """, [series, Int32(year)])!
    }

    static func format(prefix: String, year: Int, value: Int64) -> String {
        let digits = String(value)
        return "\(prefix)\(year)-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    /// A source claimed under its row lock: `issued` is false when another worker had numbered
    /// it between this statement's snapshot and the lock.
    struct Claim {
        let id: Int64
        let issued: Bool
    }

    private func issueInvoice(
        _ tx: Connection, context: JobContext, renderer: InvoiceRenderer, exclude: PostgresArray, floor: Int64
    ) throws -> Claim? {
        let rows = try tx.query(
            """
            SELECT pi.id, pi.order_id, pi.amount_cents, pi.currency::text AS currency, pi.provider_intent_id,
                   pi.updated_at, o.user_id, s.name AS service_en, coalesce(s.meta->>'name_ar', s.name) AS service_ar,
                   coalesce(nullif(btrim(coalesce(p.first_name, '') || ' ' || coalesce(p.last_name, '')), ''), '') AS buyer_name,
                   coalesce(p.email, '') AS buyer_email, coalesce(p.country, '') AS buyer_country
              FROM public.payment_intents pi
              JOIN public.orders o ON o.id = pi.order_id
              JOIN public.services s ON s.id = o.service_id
              JOIN public.profiles p ON p.id = o.user_id
             WHERE pi.status = 'succeeded'
               AND NOT EXISTS (SELECT 1 FROM public.invoices i WHERE i.payment_intent_id = pi.id)
               AND pi.id <> ALL ($1::bigint[]) AND pi.id >= $2 AND pi.updated_at <= $3
             ORDER BY pi.id
             LIMIT 1
               FOR UPDATE OF pi SKIP LOCKED
            """, [exclude, floor, context.clock.now()])
        guard rows.count == 1 else { return nil }
        let row = rows[0]
        let id: Int64 = try row.decode("id")
        // SKIP LOCKED does not re-check NOT EXISTS after the lock: a worker that committed
        // the invoice in between is seen only by a new statement's snapshot.
        if try tx.scalar("SELECT EXISTS (SELECT 1 FROM public.invoices WHERE payment_intent_id = $1)", [id]) ?? false {
            return Claim(id: id, issued: false)
        }
        return try numbered(id, in: tx) { sp in
            try writeInvoice(sp, row: row, paymentID: id, context: context, renderer: renderer)
        }
    }

    /// Runs `write` in a savepoint: the claim is issued when it returns; a payment or refund
    /// another worker numbered between our snapshot and our lock (23505) counts for neither; any
    /// other error fails that source alone.
    private func numbered(_ id: Int64, in tx: Connection, _ write: (Connection) throws -> Void) throws -> Claim {
        do {
            try tx.savepoint { sp in try write(sp) }
        } catch let error as PostgresError where error.sqlState == "23505" {
            return Claim(id: id, issued: false)
        } catch {
            throw FailedSource(id: id, underlying: error)
        }
        return Claim(id: id, issued: true)
    }

    /// The invoice for the claimed payment `row`: numbered, its snapshot stored, audited.
    private func writeInvoice(
        _ sp: Connection, row: Row, paymentID id: Int64, context: JobContext, renderer: InvoiceRenderer
    ) throws {
        let now = context.clock.now()
        let year = Calendar.utc.component(.year, from: now)
        let currency: String = try row.decode("currency")
        guard let exponent = Currency.exponent(currency) else {
            throw InvoiceError.invalidField(field: "payment_intents.currency", reason: "unknown currency \(currency)")
        }
        let paidAt: Date = try row.decode("updated_at")
        let country: String = try row.decode("buyer_country")
        let supplyDay = LocalDate(paidAt, in: TimeZone(identifier: "UTC")!)
        let rate = try rates.rate(country: country, on: supplyDay)
        let registration = try registrations.registration(country: country, rate: rate)
        let accounting =
            registration.scheme == .ksaVAT && currency != "SAR"
            ? try Self.sarRate(sp, currency: currency, on: supplyDay) : nil
        var seller = settings.seller
        seller.vatNumber = registration.number ?? ""
        seller.taxScheme = registration.scheme
        let amount: Int64 = try row.decode("amount_cents")
        let amountText = Currency.decimal(amount, exponent: exponent)
        let number = Self.format(prefix: "SAMIA-", year: year, value: try nextNumber(sp, series: "invoice", year: year))
        let orderID: Int64 = try row.decode("order_id")
        // The amount charged always includes VAT: it is what the customer paid.
        let doc = InvoiceDocument(
            kind: .invoice, number: number, issuedAt: now.truncatedToSeconds, suppliedAt: paidAt.truncatedToSeconds,
            orderReference: "ORDER-\(orderID)", currency: currency, pricesIncludeVat: true, seller: seller,
            buyer: .init(name: try row.decode("buyer_name"), email: try row.decode("buyer_email"), country: country),
            lines: [
                .init(
                    descriptionEn: try row.decode("service_en"), descriptionAr: try row.decode("service_ar"),
                    quantity: 1, unitPrice: amountText, vatRate: rate)
            ], amountPaid: amountText, paymentReference: try row.decode("provider_intent_id"), accounting: accounting)
        // Checked before the number is taken: a document that cannot be drawn is never numbered.
        try renderer.checkPrintable(doc)
        let totals = try InvoiceTotals(doc)
        let invoiceID: Int64 = try sp.scalar(
            """
            INSERT INTO public.invoices (order_id, payment_intent_id, number, subtotal_cents, vat_cents, total_cents,
                                         currency, billing_name, billing_email, billing_country, meta, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12) RETURNING id
            """,
            [
                orderID, id, number, totals.subtotal, totals.vat, totals.total, currency, doc.buyer.name,
                doc.buyer.email, country, try Self.snapshot(doc, totals: totals), now,
            ])!
        try sp.query(
            """
            INSERT INTO public.audit_log (actor_role, event, entity, entity_id, meta)
            VALUES ('system', 'invoice_issued', 'invoices', $1, jsonb_build_object('number', $2::text, 'payment_intent_id', $3::bigint, 'run_id', $4::bigint))
            """, [String(invoiceID), number, id, context.runID])
        try sp.query("DELETE FROM public.document_failures WHERE source = 'payment_intent' AND source_id = $1", [id])
    }

    private func issueCreditNote(
        _ tx: Connection, context: JobContext, renderer: InvoiceRenderer, exclude: PostgresArray, floor: Int64
    ) throws -> Claim? {
        let rows = try tx.query(
            """
            SELECT r.id, r.order_id, r.amount_cents, r.currency::text AS currency, coalesce(r.reason, '') AS reason,
                   r.created_at, i.id AS invoice_id, i.number, i.total_cents, i.currency::text AS invoice_currency,
                   i.created_at AS invoice_created, (i.meta->'document')::text AS document
              FROM public.refunds r
              JOIN public.invoices i ON i.payment_intent_id = r.payment_intent_id
             WHERE r.status = 'succeeded'
               AND NOT EXISTS (SELECT 1 FROM public.credit_notes c WHERE c.refund_id = r.id)
               AND r.id <> ALL ($1::bigint[]) AND r.id >= $2 AND r.created_at <= $3
             ORDER BY r.id
             LIMIT 1
               FOR UPDATE OF r, i SKIP LOCKED
            """, [exclude, floor, context.clock.now()])
        guard rows.count == 1 else { return nil }
        let row = rows[0]
        let id: Int64 = try row.decode("id")
        // Under the locks, with a new snapshot: another worker may have issued this refund's
        // note, or another note of the same invoice, since the claiming statement began.
        if try tx.scalar("SELECT EXISTS (SELECT 1 FROM public.credit_notes WHERE refund_id = $1)", [id]) ?? false {
            return Claim(id: id, issued: false)
        }
        let invoiceID: Int64 = try row.decode("invoice_id")
        let credited: Int64 =
            try tx.scalar(
                "SELECT coalesce(sum(amount_cents), 0)::bigint FROM public.credit_notes WHERE invoice_id = $1",
                [invoiceID])
            ?? 0
        return try numbered(id, in: tx) { sp in
            try writeCreditNote(sp, row: row, refundID: id, credited: credited, context: context, renderer: renderer)
        }
    }

    /// The credit note for the claimed refund `row`, against what remains of its invoice after
    /// the notes already `credited`: numbered, its snapshot stored, audited.
    private func writeCreditNote(
        _ sp: Connection, row: Row, refundID id: Int64, credited: Int64, context: JobContext,
        renderer: InvoiceRenderer
    ) throws {
        let currency: String = try row.decode("currency")
        let invoiceCurrency: String = try row.decode("invoice_currency")
        guard currency == invoiceCurrency else {
            throw InvoiceError.invalidField(
                field: "refunds.currency", reason: "\(currency) differs from the invoice's \(invoiceCurrency)")
        }
        guard let exponent = Currency.exponent(currency) else {
            throw InvoiceError.invalidField(field: "refunds.currency", reason: "unknown currency \(currency)")
        }
        let amount: Int64 = try row.decode("amount_cents")
        let remaining: Int64 = try row.decode("total_cents") - credited
        guard amount <= remaining else {
            throw InvoiceError.invalidField(
                field: "refunds.amount_cents", reason: "refund exceeds what remains of the invoice (\(remaining))")
        }
        let original = try InvoiceDocument.decoder().decode(
            InvoiceDocument.self, from: Data((try row.decode("document") as String).utf8))
        let now = context.clock.now()
        let year = Calendar.utc.component(.year, from: now)
        let number = Self.format(
            prefix: "SAMIA-CN-", year: year, value: try nextNumber(sp, series: "credit_note", year: year))
        let line = original.lines[0]
        // The note restates its VAT in SAR at the invoice's rate; an invoice issued before SAR
        // statements existed has none, so the rate is the one the invoice would have carried:
        // fx_rates' for its supply date.
        let accounting =
            try original.accounting
            ?? (original.seller.scheme == .ksaVAT && currency != "SAR"
                ? Self.sarRate(
                    sp, currency: currency, on: LocalDate(original.suppliedAt, in: TimeZone(identifier: "UTC")!))
                : nil)
        let doc = InvoiceDocument(
            kind: .creditNote, number: number, issuedAt: now.truncatedToSeconds, suppliedAt: original.suppliedAt,
            orderReference: original.orderReference, currency: currency, pricesIncludeVat: true,
            seller: original.seller, buyer: original.buyer,
            lines: [
                .init(
                    descriptionEn: line.descriptionEn, descriptionAr: line.descriptionAr, quantity: 1,
                    unitPrice: Currency.decimal(amount, exponent: exponent), vatRate: line.vatRate)
            ], amountPaid: Currency.decimal(amount, exponent: exponent),
            original: .init(
                number: original.number, issuedAt: original.issuedAt,
                total: Currency.decimal(try row.decode("total_cents") as Int64, exponent: exponent),
                creditedBefore: credited > 0 ? Currency.decimal(credited, exponent: exponent) : nil),
            reason: try row.decode("reason"), accounting: accounting)
        try renderer.checkPrintable(doc)
        let totals = try InvoiceTotals(doc)
        let creditID: Int64 = try sp.scalar(
            """
            INSERT INTO public.credit_notes (refund_id, invoice_id, order_id, number, amount_cents, vat_cents, currency, meta, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9) RETURNING id
            """,
            [
                id, try row.decode("invoice_id") as Int64, try row.decode("order_id") as Int64, number, totals.total,
                totals.vat, currency, try Self.snapshot(doc, totals: totals), now,
            ])!
        try sp.query(
            """
            INSERT INTO public.audit_log (actor_role, event, entity, entity_id, meta)
            VALUES ('system', 'credit_note_issued', 'credit_notes', $1, jsonb_build_object('number', $2::text, 'refund_id', $3::bigint, 'invoice', $4::text, 'run_id', $5::bigint))
            """, [String(creditID), number, id, original.number, context.runID])
        try sp.query("DELETE FROM public.document_failures WHERE source = 'refund' AND source_id = $1", [id])
    }

    // MARK: - PDFs

    static func key(number: String, issuedAt: Date, suffix: String = "") -> String {
        let c = Calendar.utc.dateComponents([.year, .month], from: issuedAt)
        return String(format: "invoices/%04d/%02d/", c.year!, c.month!) + number + suffix + ".pdf"
    }

    private func storePDF(_ tx: Connection, table: String, renderer: InvoiceRenderer, exclude: PostgresArray)
        throws -> Bool
    {
        let rows = try tx.query(
            """
            SELECT d.id, d.number, (d.meta->'document')::text AS document, o.user_id
              FROM public.\(table) d JOIN public.orders o ON o.id = d.order_id
             WHERE d.pdf_media_id IS NULL AND d.id <> ALL ($1::bigint[])
             ORDER BY d.id LIMIT 1
               FOR UPDATE OF d SKIP LOCKED
            """, [exclude])
        guard rows.count == 1 else { return false }
        let row = rows[0]
        let id: Int64 = try row.decode("id")
        do {
            try tx.savepoint { sp in
                let doc = try InvoiceDocument.decoder().decode(
                    InvoiceDocument.self, from: Data((try row.decode("document") as String).utf8))
                let owner: UUID = try row.decode("user_id")
                var documents: [(kind: String, key: String, bytes: [UInt8])] = []
                documents.append(
                    (doc.kind.rawValue, Self.key(number: doc.number, issuedAt: doc.issuedAt), try renderer.render(doc)))
                if doc.kind == .invoice {
                    var receipt = doc
                    receipt.kind = .receipt
                    documents.append(
                        (
                            "receipt", Self.key(number: doc.number, issuedAt: doc.issuedAt, suffix: "-receipt"),
                            try renderer.render(receipt)
                        ))
                }
                var mediaIDs: [String: Int64] = [:]
                for d in documents {
                    try store.put(d.key, data: d.bytes, contentType: "application/pdf")
                    let sha = SHA256Hex.of(d.bytes)
                    mediaIDs[d.kind] = try sp.scalar(
                        """
                        INSERT INTO public.media_assets (owner_id, kind, url, bytes, sha256, meta)
                        VALUES ($1, 'pdf', $2, $3, $4, jsonb_build_object('document', $5::text, 'number', $6::text)) RETURNING id
                        """, [owner, d.key, Int64(d.bytes.count), sha, d.kind, doc.number])!
                }
                // The receipt is referenced by a foreign key (migration 0017) as well as in meta.
                let receiptColumn = table == "invoices" ? ", receipt_media_id = $2::bigint" : ""
                try sp.query(
                    "UPDATE public.\(table) SET pdf_media_id = $1\(receiptColumn), meta = meta || jsonb_build_object('receipt_media_id', $2::bigint) WHERE id = $3",
                    [
                        mediaIDs[doc.kind.rawValue]!,
                        mediaIDs["receipt"].map { $0 as any PostgresEncodable } ?? PostgresNull(), id,
                    ])
                try sp.query(
                    """
                    INSERT INTO public.audit_log (actor_role, event, entity, entity_id, meta)
                    VALUES ('system', 'document_pdf_stored', $1, $2, jsonb_build_object('number', $3::text, 'media_id', $4::bigint))
                    """, [table, String(id), doc.number, mediaIDs[doc.kind.rawValue]!])
                try sp.query(
                    "DELETE FROM public.document_failures WHERE source = $1 AND source_id = $2",
                    [table == "invoices" ? "invoice" : "credit_note", id])
            }
        } catch {
            throw FailedSource(id: id, underlying: error)
        }
        return true
    }
}

extension Calendar {
    static let utc: Calendar = {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "UTC")!
        return c
    }()
}

extension Dictionary where Key == String, Value == Int64 {
    /// A copy with `key` counted up by `n`: the figures a transaction commits before the
    /// caller's own count moves.
    func adding(_ n: Int64, to key: String) -> [String: Int64] {
        var copy = self
        copy[key, default: 0] += n
        return copy
    }
}

extension Date {
    /// Whole seconds, so the snapshot's JSON and the database agree on the instant.
    var truncatedToSeconds: Date { Date(timeIntervalSince1970: timeIntervalSince1970.rounded(.down)) }
}

extension InvoicingJob {
    /// The job as configured by the environment: seller settings, VAT rates, storage, fonts,
    /// labels and the ICC profile. Any missing piece is a configuration error before any work.
    /// `checkAllPDFs` checks every document's PDF in storage, not only the recent ones: after a
    /// storage incident, or as a periodic sweep.
    public static func fromEnvironment(limit: Int? = nil, checkAllPDFs: Bool = false) throws -> InvoicingJob {
        var settings = try InvoiceSettings.fromEnvironment()
        if checkAllPDFs { settings.pdfCheckDays = nil }
        let rates = try VATRateTable.load()
        let registrations = try rates.registrations.resolved(ProcessInfo.processInfo.environment)
        let store = try ObjectStores.forJob(ProcessInfo.processInfo.environment)
        let fonts = FontSet.Paths.fromEnvironment()
        _ = try FontSet(paths: fonts)  // fail now, not after numbering, if a font is missing
        return InvoicingJob(
            settings: settings, rates: rates, registrations: registrations, store: store, labels: try Labels.locate(),
            icc: try PDFRenderer.loadICCProfile(), fonts: fonts, limit: limit)
    }
}
