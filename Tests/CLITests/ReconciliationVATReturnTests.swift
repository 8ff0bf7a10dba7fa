import Foundation
import TestSupport
import Testing

/// The VAT return figures (issue 35, point 5): the sales side of the KSA and UAE returns from
/// the test month's invoices (by tax point) and credit notes (issued in the month), in
/// vat_return.csv, summary.md and the summary PDF (read back by pdftotext).
extension ReconciliationTests {
    func returnBoxes(_ zip: String) throws -> [String] {
        try csv(zip, "vat_return.csv").map {
            [$0["vat_return"]!, $0["box"]!, $0["amount"]!, $0["adjustment"]!, $0["vat"]!, $0["note"]!]
                .joined(separator: "|")
        }
    }

    @Test func theReturnsSalesSideIsComputedOnlyWhereEveryDocumentCanBe() throws {
        let zip = dir + "/return.zip"
        #expect(try reconcile(["--settlement"] + (try settlementFiles()) + ["--out", zip]).status == 0)
        // Saudi Arabia: six invoices at 15 % and 5 % (224.35 + 10.95 SAR of base; VAT 32.35 + 0.55
        // net of the 8.70 SAR credit note's 1.30). Kuwait's zero-rated sale (an export) is in KWD:
        // without a rate the exports and the totals are not computed, never summed in part.
        // The UAE's sales are in USD: not computed either.
        let boxes = try returnBoxes(zip)
        #expect(
            boxes == [
                "KSA|1|235.30|-8.70|32.90|", "KSA|3|0.00|0.00|0.00|",
                "KSA|4||||not computed: documents in KWD", "KSA|5|0.00|0.00|0.00|",
                "KSA|6||||not computed: documents in KWD", "KSA|7-12||||from the purchase ledger",
                "KSA|13||||not computed: documents in KWD", "UAE|1||||not computed: documents in USD",
                "UAE|4|0.00|0.00|0.00|", "UAE|5|0.00|0.00|0.00|", "UAE|8||||not computed: documents in USD",
                "UAE|9-11||||from the purchase ledger", "UAE|12||||not computed: documents in USD",
            ], "\(boxes)")
        let pdf = dir + "/return-summary.pdf"
        try Data(try entry(zip, "summary.pdf")).write(to: URL(fileURLWithPath: pdf))
        let text = try Shell.run("/usr/bin/pdftotext", ["-layout", pdf, "-"]).stdout
        #expect(text.contains("Standard rated sales") && text.contains("235.30") && text.contains("32.90"), "\(text)")
        #expect(text.contains("المبيعات الخاضعة للنسبة الأساسية"), "\(text)")
        #expect(text.contains("Standard rated supplies"))

        // With SAR rates the KSA return is whole: 3.750 KWD × 12.2 = 45.75 SAR, its credit note -15.25.
        let rates = try file("rates.csv", "currency,rate\nKWD,12.2\nUSD,3.75\nBHD,9.95\nEUR,4.1\nSAR,1\n")
        let converted = dir + "/return-sar.zip"
        let r = try reconcile(["--out", converted, "--reporting-currency", "SAR", "--fx-rates", rates])
        #expect(r.status == 0, "\(r.stderr)")
        let ksa = try returnBoxes(converted).filter {
            $0.hasPrefix("KSA|4|") || $0.hasPrefix("KSA|6|") || $0.hasPrefix("KSA|13|")
        }
        #expect(
            ksa == [
                "KSA|4|45.75|-15.25|0.00|includes KWD converted at --fx-rates",
                "KSA|6|281.05|-23.95|32.90|includes KWD converted at --fx-rates",
                "KSA|13|||32.90|includes KWD converted at --fx-rates",
            ], "\(ksa)")
        let markdown = String(decoding: try entry(converted, "summary.md"), as: UTF8.self)
        #expect(markdown.contains("| 6 | Total sales | 281.05 | -23.95 | 32.90 |"), "\(markdown)")
    }
}
