import Foundation
import TestSupport
import Testing

/// `samia-batch render` as template authors and the benchmark use it: no database, JSON in, PDFs out.
@Suite("Render command")
struct RenderCommandTests {
    let dir = NSTemporaryDirectory() + "samia-render-\(UUID().uuidString)"
    var env: [String: String] {
        ["SAMIA_TEMPLATES": TestCluster.repositoryRoot.appendingPathComponent("templates").path]
    }

    func example(_ name: String) throws -> [String: Any] {
        let url = TestCluster.repositoryRoot.appendingPathComponent("templates/examples/\(name).json")
        return try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    func write(_ object: [String: Any], _ path: String) throws {
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
    }

    /// Several invoices with different buyers and amounts, so workers share labels but not glyph sets.
    func makeInputs(_ count: Int) throws -> String {
        let input = dir + "/in"
        try FileManager.default.createDirectory(atPath: input, withIntermediateDirectories: true)
        let names = ["عبد الله الحربي", "Layla Haddad", "فاطمة العتيبي", "Omar Khoury", "نور"]
        for i in 0..<count {
            var doc = try example("invoice")
            doc["number"] = String(format: "SAMIA-2026-%06d", i + 1)
            var buyer = try #require(doc["buyer"] as? [String: Any])
            buyer["name"] = names[i % names.count]
            doc["buyer"] = buyer
            var lines = try #require(doc["lines"] as? [[String: Any]])
            lines[0]["unit_price"] = "\(100 + i * 37).\(String(format: "%02d", i * 7 % 100))"
            doc["lines"] = lines
            try write(doc, input + String(format: "/inv-%03d.json", i))
        }
        return input
    }

    @Test func aDirectoryRendersTheSameOnOneOrTwoWorkers() throws {
        let input = try makeInputs(7)
        let one = try CLI.run(
            ["render", "invoice", "--input-dir", input, "--out", dir + "/one", "--jobs", "1"], env: env)
        #expect(one.status == 0, "\(one.stderr)")
        let two = try CLI.run(
            ["render", "invoice", "--input-dir", input, "--out", dir + "/two", "--jobs", "2"], env: env)
        #expect(two.status == 0, "\(two.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir + "/one").sorted()
        #expect(files.count == 7 && files.allSatisfy { $0.hasSuffix(".pdf") }, "\(files)")
        for file in files {
            let a = try Data(contentsOf: URL(fileURLWithPath: dir + "/one/" + file))
            let b = try Data(contentsOf: URL(fileURLWithPath: dir + "/two/" + file))
            #expect(a == b, "\(file) differs between one and two workers")
            #expect(try Shell.run("/usr/bin/qpdf", ["--check", dir + "/one/" + file]).status == 0)
        }
        // Each document carries its own buyer, not a neighbour's from a shared cache.
        #expect(try PDFText.extract(dir + "/two/inv-001.pdf").contains("Layla Haddad"))
        #expect(try PDFText.extract(dir + "/two/inv-003.pdf").contains("Omar Khoury"))
    }

    @Test func aBadDocumentInADirectoryIsNamed() throws {
        let input = try makeInputs(3)
        var broken = try example("invoice")
        broken["currency"] = "XYZ"
        try write(broken, input + "/inv-001.json")
        let r = try CLI.run(["render", "invoice", "--input-dir", input, "--out", dir + "/out"], env: env)
        #expect(r.status == 65, "\(r.status) \(r.stderr)")
        #expect(r.stderr.contains("inv-001.json") && r.stderr.contains("currency"), "\(r.stderr)")

        let receipt = try CLI.run(
            ["render", "receipt", "--input", input + "/inv-000.json", "--out", dir + "/r.pdf"], env: env)
        #expect(receipt.status == 65 && receipt.stderr.contains("kind"), "\(receipt.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/r.pdf"))
    }
}
