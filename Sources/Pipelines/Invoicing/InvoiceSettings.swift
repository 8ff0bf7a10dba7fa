import Foundation
import Reports
import Runner

/// The seller block and invoicing options, from the environment (cron-friendly). A missing
/// required setting stops the job before anything is numbered.
public struct InvoiceSettings: Sendable {
    /// Names, addresses and email; the tax number and its scheme are set per document from the
    /// registration that covers the buyer's country (`SellerRegistrations`).
    public var seller: InvoiceDocument.Party
    public var pricesIncludeVAT: Bool
    /// How far back each run checks that numbered documents still have their PDF in storage
    /// (`INVOICE_PDF_CHECK_DAYS`, default 7); nil checks every document (`--check-all-pdfs`).
    /// Checking the whole history every run costs a storage lookup per document ever issued.
    public var pdfCheckDays: Int? = 7

    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws
        -> InvoiceSettings
    {
        func required(_ name: String) throws -> String {
            guard let v = env[name]?.trimmingCharacters(in: .whitespaces), !v.isEmpty else {
                throw BatchError.configuration("\(name) is not set (seller details are printed on every invoice)")
            }
            return v
        }
        let include = env["INVOICE_PRICES_INCLUDE_VAT"]?.lowercased() ?? "true"
        guard ["true", "false", "1", "0", "yes", "no"].contains(include) else {
            throw BatchError.configuration("INVOICE_PRICES_INCLUDE_VAT=\(include) is not true or false")
        }
        var checkDays = 7
        if let text = env["INVOICE_PDF_CHECK_DAYS"] {
            guard let days = Int(text), (1...36_500).contains(days) else {
                throw BatchError.configuration(
                    "INVOICE_PDF_CHECK_DAYS=\(text) must be a whole number of days from 1 to 36500")
            }
            checkDays = days
        }
        return InvoiceSettings(
            seller: InvoiceDocument.Party(
                nameEn: try required("INVOICE_FROM_NAME"), nameAr: try required("INVOICE_FROM_NAME_AR"),
                addressEn: env["INVOICE_FROM_ADDRESS"] ?? "", addressAr: env["INVOICE_FROM_ADDRESS_AR"] ?? "",
                vatNumber: "", email: try required("INVOICE_FROM_EMAIL")),
            pricesIncludeVAT: ["true", "1", "yes"].contains(include), pdfCheckDays: checkDays)
    }
}
