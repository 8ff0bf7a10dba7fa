import Foundation

/// The seller's settings as the tests give them: names, email, address, and a tax number of the
/// right shape for every registration in `policy/vat-rates.yaml`, read from
/// `scripts/demo-seller.env` (the file the demo and the benchmarks use), so a registration added
/// to the policy needs its number in one place.
public enum SellerEnvironment {
    public static let numbers: [String: String] = {
        let file = TestCluster.repositoryRoot.appendingPathComponent("scripts/demo-seller.env")
        let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
        var numbers: [String: String] = [:]
        for line in text.split(separator: "\n") where line.first?.isUppercase == true {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { numbers[String(parts[0])] = String(parts[1]) }
        }
        precondition(numbers["INVOICE_VAT_NUMBER"] != nil, "scripts/demo-seller.env not found at \(file.path)")
        return numbers
    }()

    /// Every setting `invoices` needs besides storage and the database.
    public static let all: [String: String] = numbers.merging([
        "INVOICE_FROM_NAME": "Samia Readings LLC", "INVOICE_FROM_NAME_AR": "شركة سامية للقراءات",
        "INVOICE_FROM_EMAIL": "billing@samia.example", "INVOICE_FROM_ADDRESS": "Riyadh, Saudi Arabia",
        "INVOICE_FROM_ADDRESS_AR": "الرياض، المملكة العربية السعودية",
    ]) { $1 }
}
