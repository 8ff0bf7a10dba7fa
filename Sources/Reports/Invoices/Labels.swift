import Foundation

/// The English and Arabic label catalogs (`templates/locales/en.json`, `ar.json`). Every
/// printed label comes from here; a key missing from either file is an error at load time,
/// not a blank on a customer's invoice.
public struct Labels: Sendable {
    public let english: [String: String]
    public let arabic: [String: String]

    static let required = [
        "title_invoice", "title_simplified_invoice", "title_receipt", "title_credit_note", "invoice_number",
        "receipt_number", "credit_note_number", "issue_date", "supply_date", "order_reference", "payment_reference",
        "original_invoice", "original_date", "original_value", "corrected_value", "difference", "vat_on_difference",
        "reason", "seller", "buyer", "vat_number", "email", "country", "name", "description", "quantity", "unit_price",
        "vat_rate", "vat_amount", "line_total", "subtotal", "vat_at_rate", "total", "amount_paid", "amount_refunded",
        "includes_vat", "excludes_vat", "receipt_statement", "credit_statement", "footer",
    ]

    /// Loads from `directory` (holding `en.json` and `ar.json`).
    public init(directory: String) throws {
        english = try Self.load(directory + "/en.json")
        arabic = try Self.load(directory + "/ar.json")
    }

    private static func load(_ path: String) throws -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InvoiceError.labelsNotFound(searched: [path])
        }
        let catalog: [String: String]
        do {
            catalog = try JSONDecoder().decode([String: String].self, from: data)
        } catch let error as DecodingError {
            throw InvoiceError.badJSON(source: path, detail: InvoiceDocument.describe(error))
        }
        for key in required where (catalog[key] ?? "").isEmpty { throw InvoiceError.missingLabel(file: path, key: key) }
        return catalog
    }

    /// Finds `templates/locales`: `SAMIA_TEMPLATES`, then the install prefix beside the
    /// executable (`../share/samia-batch/templates`), then the working directory and its parents.
    public static func locate(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> Labels {
        var candidates: [String] = []
        if let dir = env["SAMIA_TEMPLATES"], !dir.isEmpty { candidates.append(dir + "/locales") }
        let exe = Executable.directory
        candidates.append(exe.deletingLastPathComponent().path + "/share/samia-batch/templates/locales")
        var dir = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        for _ in 0..<6 {
            candidates.append(dir.path + "/templates/locales")
            dir.deleteLastPathComponent()
        }
        var up = exe
        for _ in 0..<6 {
            candidates.append(up.path + "/templates/locales")
            up.deleteLastPathComponent()
        }
        for candidate in candidates where FileManager.default.fileExists(atPath: candidate + "/en.json") {
            return try Labels(directory: candidate)
        }
        throw InvoiceError.labelsNotFound(searched: candidates)
    }

    public func en(_ key: String, _ values: [String: String] = [:]) -> String { fill(english[key] ?? key, values) }
    public func ar(_ key: String, _ values: [String: String] = [:]) -> String { fill(arabic[key] ?? key, values) }

    private func fill(_ template: String, _ values: [String: String]) -> String {
        var text = template
        for (k, v) in values { text = text.replacingOccurrences(of: "{\(k)}", with: v) }
        return text
    }
}
