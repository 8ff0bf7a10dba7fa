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

extension RenderCommandTests {
    /// Strict input (issue 34): each mistake refused with 65 naming the field and the value,
    /// never drawn; a missing input is a usage error (64), not a failure (1).
    @Test func malformedDocumentsAreRefusedNamingTheField() throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        func refused(_ kind: String, _ change: (inout [String: Any]) throws -> Void) throws -> String {
            var doc = try example(kind)
            try change(&doc)
            let path = dir + "/\(UUID().uuidString).json"
            try write(doc, path)
            let out = dir + "/\(UUID().uuidString).pdf"
            let r = try CLI.run(
                ["render", kind == "credit-note" ? "credit-note" : kind, "--input", path, "--out", out], env: env)
            #expect(r.status == 65, "\(r.status) \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out))
            return r.stderr
        }
        func line(_ doc: inout [String: Any], _ key: String, _ value: Any) throws {
            var lines = try #require(doc["lines"] as? [[String: Any]])
            lines[0][key] = value
            doc["lines"] = lines
        }
        #expect(try refused("invoice") { try line(&$0, "unit_price", "-115.00") }.contains("negative"))
        #expect(try refused("invoice") { $0["amount_piad"] = "1.00" }.contains("unknown field amount_piad"))
        #expect(try refused("invoice") { try line(&$0, "vat_rat", "15") }.contains("unknown field lines[0].vat_rat"))
        let country = try refused("invoice") {
            var buyer = try #require($0["buyer"] as? [String: Any])
            buyer["country"] = "XX"
            $0["buyer"] = buyer
        }
        #expect(country.contains("buyer.country") && country.contains("\"XX\""), "\(country)")
        let vat = try refused("invoice") {
            var seller = try #require($0["seller"] as? [String: Any])
            seller["vat_number"] = "31012239350000"
            $0["seller"] = seller
        }
        #expect(vat.contains("seller.vat_number"), "\(vat)")
        let date = try refused("invoice") { $0["issued_at"] = "2026-02-30T10:00:00Z" }
        #expect(date.contains("issued_at") && !date.contains("not valid JSON"), "\(date)")
        let above = try refused("credit-note") {
            var original = try #require($0["original"] as? [String: Any])
            original["total"] = "1.00"
            $0["original"] = original
        }
        #expect(above.contains("exceeds what remains of the original invoice"), "\(above)")
        let usage = try CLI.run(["render", "invoice", "--out", dir + "/x.pdf"], env: env)
        #expect(usage.status == 64 && usage.stderr.contains("--input"), "\(usage.stderr)")
    }

    /// Amounts near the limit are exact, not a trap: `amount × 10000` overflowed Int64 in the
    /// VAT code and killed the process (exit 132); past the limit the field is refused (65).
    @Test func largeAmountsAreExactOrRefusedNeverATrap() throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var doc = try example("invoice")
        var lines = try #require(doc["lines"] as? [[String: Any]])
        lines = [lines[0]]
        lines[0]["unit_price"] = "9999999999999.99"
        lines[0]["quantity"] = 1
        lines[0]["vat_rate"] = "15"
        doc["lines"] = lines
        doc["amount_paid"] = nil
        try write(doc, dir + "/big.json")
        let big = try CLI.run(["render", "invoice", "--input", dir + "/big.json", "--out", dir + "/big.pdf"], env: env)
        #expect(big.status == 0, "\(big.status) \(big.stderr)")
        let text = try Shell.run("/usr/bin/pdftotext", ["-layout", dir + "/big.pdf", "-"]).stdout
        // 999,999,999,999,999 minor units gross at 15 %: net 869,565,217,391,303, VAT 130,434,782,608,696.
        #expect(text.contains("8,695,652,173,913.03") && text.contains("1,304,347,826,086.96"), "\(text)")
        lines[0]["unit_price"] = "9999999999999999.99"
        doc["lines"] = lines
        try write(doc, dir + "/huge.json")
        let huge = try CLI.run(["render", "invoice", "--input", dir + "/huge.json", "--out", dir + "/h.pdf"], env: env)
        #expect(huge.status == 65 && huge.stderr.contains("lines[0].unit_price") && huge.stderr.contains("too large"))
    }
}

extension RenderCommandTests {
    /// A character no installed face covers is refused with its field and code point (it was
    /// drawn as an empty box with exit 0; the fallback chain now draws most of them, see
    /// FontFallbackTests), and a field past its limit is refused at once (a
    /// 10 MB name did not finish in 300 s).
    @Test func missingGlyphsAndOversizedFieldsAreRefused() throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        func render(_ change: (inout [String: Any]) throws -> Void) throws -> Shell.Result {
            var doc = try example("invoice")
            try change(&doc)
            let path = dir + "/\(UUID().uuidString).json"
            try write(doc, path)
            return try CLI.run(
                ["render", "invoice", "--input", path, "--out", dir + "/\(UUID().uuidString).pdf"], env: env)
        }
        func buyerName(_ name: String) -> (inout [String: Any]) throws -> Void {
            { doc in
                var buyer = try #require(doc["buyer"] as? [String: Any])
                buyer["name"] = name
                doc["buyer"] = buyer
            }
        }
        // Characters no installed face has (a Unicode 15 emoji, Phoenician): refused, named.
        for (name, code) in [("Layla 🫨", "U+1FAE8"), ("𐤀", "U+10900")] {
            let r = try render(buyerName(name))
            #expect(r.status == 65 && r.stderr.contains("buyer.name") && r.stderr.contains(code), "\(r.stderr)")
        }
        // Arabic with brackets, Latin accents and a joiner all have glyphs: drawn.
        #expect(try render(buyerName("ليلى (حدّاد) Zoë\u{200D}")).status == 0)
        let started = Date()
        let huge = try render(buyerName(String(repeating: "a", count: 10_000_000)))
        #expect(huge.status == 65 && huge.stderr.contains("at most 200"), "\(huge.stderr.prefix(300))")
        // Not a timing measure (bench/ has those): a bound that a quadratic typesetter (over
        // 300 s before the limit existed) cannot meet, with room for the Thread Sanitizer's
        // build on a busy machine (38 s seen there; under 1 s in a release build).
        #expect(Date().timeIntervalSince(started) < 120)
        let many = try render { doc in
            let lines = try #require(doc["lines"] as? [[String: Any]])
            doc["lines"] = Array(repeating: lines[0], count: 201)
            doc["amount_paid"] = nil
        }
        #expect(many.status == 65 && many.stderr.contains("at most 200 per document"), "\(many.stderr)")
    }
}

extension RenderCommandTests {
    /// Brackets in Arabic text extract in logical order (issue 34): "اشتراك (شهري)" came out as
    /// "اشتراك )شهري(" because a right-to-left run draws "(" with the glyph of ")". Bidi format
    /// marks (which poppler adds itself) are ignored in the comparison.
    @Test func bracketsInArabicTextExtractInLogicalOrder() throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var doc = try example("invoice")
        var lines = try #require(doc["lines"] as? [[String: Any]])
        lines = [lines[0], lines[0]]
        lines[0]["description_ar"] = "اشتراك (شهري)"
        lines[1]["description_ar"] = "[قراءة] تاروت"
        doc["lines"] = lines
        doc["amount_paid"] = nil
        try write(doc, dir + "/brackets.json")
        let r = try CLI.run(
            ["render", "invoice", "--input", dir + "/brackets.json", "--out", dir + "/brackets.pdf"], env: env)
        #expect(r.status == 0, "\(r.stderr)")
        let marks = Set("\u{200E}\u{200F}\u{202A}\u{202B}\u{202C}\u{202D}\u{202E}".unicodeScalars)
        let text = String(
            String.UnicodeScalarView(
                try Shell.run("/usr/bin/pdftotext", ["-layout", dir + "/brackets.pdf", "-"]).stdout.unicodeScalars
                    .filter { !marks.contains($0) }))
        #expect(text.contains("اشتراك (شهري)"), "\(text)")
        #expect(text.contains("[قراءة] تاروت"), "\(text)")
    }
}

extension RenderCommandTests {
    /// The QR payload of a page, read back by zbar from a 150 dpi rendering.
    func qr(_ pdf: String, page: Int) throws -> String {
        let png = dir + "/qr-\(UUID().uuidString)"
        _ = try Shell.run(
            "/usr/bin/pdftoppm", ["-r", "150", "-png", "-singlefile", "-f", "\(page)", "-l", "\(page)", pdf, png])
        return try Shell.run("/usr/bin/zbarimg", ["-q", "--raw", png + ".png"]).stdout
    }

    /// Long documents (issue 34): from about 12 lines the QR stopped scanning and from 16 the
    /// totals were drawn off the page. Now the table flows over pages under a repeated header,
    /// totals and QR share the last page, every glyph is inside the page box, and a long buyer
    /// name no longer pushes the QR off.
    @Test func longDocumentsFlowOverPagesWithTotalsAndQRTogether() throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var doc = try example("invoice")
        let line = try #require((doc["lines"] as? [[String: Any]])?.first)
        doc["lines"] = (1...40).map { i in
            line.merging([
                "description_en": "Reading \(i) (monthly)", "description_ar": "قراءة \(i)", "unit_price": "115.00",
            ]) { $1 }
        }
        doc["amount_paid"] = nil
        var buyer = try #require(doc["buyer"] as? [String: Any])
        buyer["name"] = String(repeating: "Layla Haddad Al-Khoury ", count: 8)
        doc["buyer"] = buyer
        try write(doc, dir + "/long.json")
        let pdf = dir + "/long.pdf"
        let r = try CLI.run(["render", "invoice", "--input", dir + "/long.json", "--out", pdf], env: env)
        #expect(r.status == 0, "\(r.stderr)")
        let info = try Shell.run("/usr/bin/pdfinfo", [pdf]).stdout
        let pages =
            Int(info.split(separator: "\n").first { $0.hasPrefix("Pages:") }?.split(separator: " ").last ?? "") ?? 0
        #expect(pages >= 2, "\(info)")
        let text = try Shell.run("/usr/bin/pdftotext", ["-layout", pdf, "-"]).stdout
        for i in 1...40 { #expect(text.contains("Reading \(i) (monthly)"), "line \(i) missing") }
        let last = try Shell.run("/usr/bin/pdftotext", ["-layout", "-f", "\(pages)", "-l", "\(pages)", pdf, "-"]).stdout
        #expect(last.contains("Total (incl. VAT)") && last.contains("4,600.00 SAR"), "\(last)")
        #expect(text.contains("Page 1 of \(pages)") && text.contains("Page \(pages) of \(pages)"))
        let number = try #require(doc["number"] as? String)
        #expect(last.contains(number), "a page read alone names its document: \(last)")
        #expect(try qr(pdf, page: pages).hasPrefix("AST"), "the QR decodes on the last page")
        // Every word inside the page box, on every page.
        let bbox = try Shell.run("/usr/bin/pdftotext", ["-bbox", pdf, "-"]).stdout
        var words = 0
        for w in bbox.split(separator: "\n") where w.contains("<word ") {
            func value(_ key: String) -> Double {
                guard let r = w.range(of: key + "=\"") else { return -1 }
                return Double(w[r.upperBound...].prefix { $0 != "\"" }) ?? -1
            }
            words += 1
            #expect(
                value("xMin") >= 0 && value("xMax") <= 595.3 && value("yMin") >= 0 && value("yMax") <= 841.9, "\(w)")
        }
        #expect(words > 400)

        // One line: one page, no page numbers, the same bytes as before pagination existed.
        doc["lines"] = [line]
        try write(doc, dir + "/one.json")
        #expect(
            try CLI.run(["render", "invoice", "--input", dir + "/one.json", "--out", dir + "/one.pdf"], env: env).status
                == 0)
        #expect(!(try Shell.run("/usr/bin/pdftotext", [dir + "/one.pdf", "-"]).stdout.contains("Page 1 of")))
        #expect(try qr(dir + "/one.pdf", page: 1).hasPrefix("AST"))
    }
}
