import Foundation
import Logging
import Postgres
import Reports
import Runner
import Storage

/// What a run found when it compared storage with the record: PDFs rendered again because they
/// were gone, and PDFs whose bytes no longer match the SHA-256 recorded when they were stored.
struct StoredPDFCheck {
    var restored = 0
    /// Restored, but the renderer gave other bytes than the recorded ones (fonts changed).
    var changed = 0
    /// Present with other bytes than recorded: never overwritten, reported, and the run fails.
    var altered = 0
}

extension InvoicingJob {
    /// Checks every document numbered in the last `settings.pdfCheckDays` days (all of them when
    /// nil), walked by id a page at a time: a missing PDF (or receipt) is rendered again from its
    /// snapshot, which gives the same bytes; a present one is hashed and compared with the
    /// SHA-256 recorded at render time. A legal document altered after the fact is evidence:
    /// it is left as it is, logged and audited, and fails the run.
    func checkStoredPDFs(_ db: Connection, renderer: InvoiceRenderer, context: JobContext) throws -> StoredPDFCheck {
        var check = StoredPDFCheck()
        for table in ["invoices", "credit_notes"] {
            let receipt = table == "invoices" ? "(d.meta->>'receipt_media_id')::bigint" : "NULL::bigint"
            // Just before the first document of the period; past the last one when there is none.
            var cursor: Int64 =
                try settings.pdfCheckDays.map {
                    try db.scalar(
                        "SELECT coalesce(min(id) FILTER (WHERE created_at >= now() - make_interval(days => $1)) - 1, max(id), 0) FROM public.\(table)",
                        [Int32($0)], as: Int64.self) ?? 0
                } ?? 0
            while true {
                try context.checkpoint()
                let rows = try db.query(
                    """
                    WITH page AS (
                      SELECT d.id, d.number, d.pdf_media_id, \(receipt) AS receipt_media_id FROM public.\(table) d
                       WHERE d.id > $1 ORDER BY d.id LIMIT 500)
                    SELECT p.id, p.number, m.id AS media_id, m.url, m.sha256
                      FROM page p LEFT JOIN public.media_assets m ON m.id = ANY (ARRAY[p.pdf_media_id, p.receipt_media_id])
                     ORDER BY p.id, m.id
                    """, [cursor])
                guard rows.count > 0 else { break }
                cursor = try rows[rows.count - 1].decode("id")
                for row in rows {
                    try checkOne(row, table: table, db: db, renderer: renderer, context: context, into: &check)
                }
            }
        }
        return check
    }

    /// One stored object against its record.
    private func checkOne(
        _ row: Row, table: String, db: Connection, renderer: InvoiceRenderer, context: JobContext,
        into check: inout StoredPDFCheck
    ) throws {
        guard let mediaID = try row.decodeOptional("media_id", as: Int64.self),
            let key = try row.decodeOptional("url", as: String.self)
        else { return }
        guard let stored = try store.get(key) else {
            let identical = try restore(
                documentID: try row.decode("id"), mediaID: mediaID, key: key, table: table, db: db, renderer: renderer)
            check.restored += 1
            if !identical { check.changed += 1 }
            return
        }
        let recorded = try row.decodeOptional("sha256", as: String.self)
        guard let recorded, SHA256Hex.of(stored) != recorded else { return }
        check.altered += 1
        let number: String = try row.decode("number")
        context.logger.error(
            "a stored PDF differs from the one recorded; left as it is",
            metadata: [
                "event": "document_pdf_altered", "number": "\(number)", "key": "\(key)", "media_id": "\(mediaID)",
            ])
        try db.query(
            """
            INSERT INTO public.audit_log (actor_role, event, entity, entity_id, meta)
            VALUES ('system', 'document_pdf_altered', 'media_assets', $1,
                    jsonb_build_object('number', $2::text, 'key', $3::text, 'recorded_sha256', $4::text,
                                       'stored_sha256', $5::text, 'run_id', $6::bigint))
            """, [String(mediaID), number, key, recorded, SHA256Hex.of(stored), context.runID])
    }

    /// Renders a lost object again from its document's snapshot; true when the bytes are the
    /// recorded ones.
    private func restore(
        documentID: Int64, mediaID: Int64, key: String, table: String, db: Connection, renderer: InvoiceRenderer
    ) throws -> Bool {
        let found = try db.query(
            """
            SELECT m.sha256, m.meta->>'document' AS kind, (d.meta->'document')::text AS document
              FROM public.\(table) d, public.media_assets m WHERE d.id = $1 AND m.id = $2
            """, [documentID, mediaID])[0]
        var doc = try InvoiceDocument.decoder().decode(
            InvoiceDocument.self, from: Data((try found.decode("document") as String).utf8))
        if (try found.decodeOptional("kind", as: String.self)) == "receipt" { doc.kind = .receipt }
        let bytes = try renderer.render(doc)
        let sha = SHA256Hex.of(bytes)
        let identical = sha == (try found.decodeOptional("sha256", as: String.self))
        try store.put(key, data: bytes, contentType: "application/pdf")
        if !identical {
            try db.query(
                "UPDATE public.media_assets SET sha256 = $1, bytes = $2 WHERE id = $3",
                [sha, Int64(bytes.count), mediaID])
        }
        try db.query(
            """
            INSERT INTO public.audit_log (actor_role, event, entity, entity_id, meta)
            VALUES ('system', 'document_pdf_restored', 'media_assets', $1, jsonb_build_object('identical', $2::boolean))
            """, [String(mediaID), identical])
        return identical
    }
}
