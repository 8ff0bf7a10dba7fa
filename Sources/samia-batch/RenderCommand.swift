import ArgumentParser
import Dispatch
import Foundation
import Reports
import Runner
import Threads

struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Render one invoice, receipt or credit note from a JSON description, without a database.",
        discussion: """
            For previews, template work and tests. The JSON schema is in docs/invoices.md; examples are in
            templates/examples/. The same input always gives the same bytes.
            With --input-dir, renders every *.json in a directory into --out (a directory), reusing the
            loaded fonts: this is what the benchmark measures.
            """)

    enum DocumentKind: String, ExpressibleByArgument, CaseIterable {
        case invoice, receipt, creditNote = "credit-note"
        var kind: InvoiceDocument.Kind {
            switch self {
            case .invoice: .invoice
            case .receipt: .receipt
            case .creditNote: .creditNote
            }
        }
    }

    @Argument(help: "invoice, receipt or credit-note")
    var kind: DocumentKind

    @Option(help: "The document as JSON.")
    var input: String?

    @Option(help: "A directory of JSON documents to render in one process.")
    var inputDir: String?

    @Option(help: "Output PDF file (or directory with --input-dir).")
    var out: String

    @Option(help: "Worker threads for --input-dir (default: one per CPU core).")
    var jobs: Int?

    /// A missing or doubled input is a usage error (64), found before anything is loaded.
    func validate() throws {
        guard (input == nil) != (inputDir == nil) else {
            throw ValidationError("pass exactly one of --input FILE or --input-dir DIR")
        }
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
    }

    func run() throws {
        try execute {
            let labels = try Labels.locate()
            let icc = try PDFRenderer.loadICCProfile()
            if let inputDir {
                let names = try FileManager.default.contentsOfDirectory(atPath: inputDir).filter {
                    $0.hasSuffix(".json")
                }
                .sorted()
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
                try renderAll(names, from: inputDir, labels: labels, icc: icc)
                print("rendered \(names.count) document(s) into \(out)")
            } else {
                guard let input else { return }
                let renderer = try InvoiceRenderer(fonts: FontSet(), labels: labels, iccProfile: icc)
                let bytes = try render(renderer, path: input)
                try write(bytes, to: out)
                print("\(out): \(bytes.count) bytes")
            }
        }
    }

    /// Renders a directory on several threads. Fonts and shaping state are not shareable, so each
    /// worker loads its own renderer; documents are independent, so the output does not depend on
    /// the number of workers. The first failure in file order is reported.
    private func renderAll(_ names: [String], from dir: String, labels: Labels, icc: [UInt8]?) throws {
        let workers = max(1, min(jobs ?? ProcessInfo.processInfo.activeProcessorCount, names.count, 64))
        let failures = Locked<[(index: Int, error: any Error)]>([])
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let renderer: InvoiceRenderer
            do {
                renderer = try InvoiceRenderer(fonts: FontSet(), labels: labels, iccProfile: icc)
            } catch {
                failures.withLock { $0.append((-1, error)) }
                return
            }
            for i in stride(from: worker, to: names.count, by: workers) {
                do {
                    let bytes = try render(renderer, path: dir + "/" + names[i])
                    try write(bytes, to: out + "/" + names[i].dropLast(5) + ".pdf")
                } catch {
                    failures.withLock { $0.append((i, error)) }
                    return
                }
            }
        }
        if let first = failures.withLock({ $0.min { $0.index < $1.index } }) { throw first.error }
    }

    private func render(_ renderer: InvoiceRenderer, path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BatchError.badInput(file: path, line: nil, field: nil, message: "cannot read the file")
        }
        let doc = try InvoiceDocument.parse(data, source: path)
        guard doc.kind == kind.kind else {
            throw BatchError.badInput(
                file: path, line: nil, field: "kind",
                message: "the document is a \(doc.kind.rawValue), not a \(kind.kind.rawValue)")
        }
        do {
            return try renderer.render(doc)
        } catch let error as InvoiceError {
            throw BatchError.badInput(file: path, line: nil, field: nil, message: "\(error)")
        }
    }

    private func write(_ bytes: [UInt8], to path: String) throws {
        let tmp = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: tmp, contents: Data(bytes)) else {
            throw BatchError.configuration("cannot write \(path)")
        }
        guard rename(tmp, path) == 0 else {
            unlink(tmp)
            throw BatchError.configuration("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }
}
