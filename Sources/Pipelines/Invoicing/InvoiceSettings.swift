import Foundation
import Reports

/// The seller block and invoicing options, from the environment (cron-friendly). A missing
/// required setting stops the job before anything is numbered.
public struct InvoiceSettings: Sendable {
    public var seller: InvoiceDocument.Party
    public var pricesIncludeVAT: Bool

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
        return InvoiceSettings(
            seller: InvoiceDocument.Party(
                nameEn: try required("INVOICE_FROM_NAME"), nameAr: try required("INVOICE_FROM_NAME_AR"),
                addressEn: env["INVOICE_FROM_ADDRESS"] ?? "", addressAr: env["INVOICE_FROM_ADDRESS_AR"] ?? "",
                vatNumber: try required("INVOICE_VAT_NUMBER"), email: try required("INVOICE_FROM_EMAIL")),
            pricesIncludeVAT: ["true", "1", "yes"].contains(include))
    }
}
