import Foundation
import Postgres
import Reports
import Runner
import Schema
import Storage

/// `samia-batch parity`: the RLS-parity report for auditors, written as a signed directory
/// (report.json always, plus HTML, Markdown and PDF as asked) and gated on: the run is
/// partial (exit 1) when any cell fails without a live exception.
public struct ParityJob: Job {
    public enum Format: String, Sendable, CaseIterable {
        case html, md, json, pdf
    }

    public let name = "parity"
    public let partitionKind = PartitionKind.none
    public let isDestructive = false

    public let matrix: AccessMatrix
    public let matrixSHA256: String
    public let exceptionsSHA256: String?
    public let outDirectory: String
    public let formats: Set<Format>
    public let probeWrites: Bool
    public let previousPath: String?
    public let sampleRows: Int
    public let signingKey: SigningKey
    let fonts: FontSet.Paths
    let icc: [UInt8]?

    /// Where the matrix is (`--matrix`, `SAMIA_ACCESS_MATRIX`, or `policy/access-matrix.yaml`)
    /// and its exception register (`--exceptions`, `SAMIA_ACCESS_EXCEPTIONS`, or
    /// `access-exceptions.yaml` beside the matrix when there is one).
    public static func matrixPaths(
        matrixPath: String? = nil, exceptionsPath: String? = nil,
        env: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> (matrix: String, exceptions: String?) {
        let path = try matrixPath ?? env["SAMIA_ACCESS_MATRIX"] ?? PolicyFiles.locate("access-matrix.yaml", env)
        if let exceptions = exceptionsPath ?? env["SAMIA_ACCESS_EXCEPTIONS"] { return (path, exceptions) }
        let beside = ((path as NSString).deletingLastPathComponent as NSString)
            .appendingPathComponent("access-exceptions.yaml")
        return (path, FileManager.default.fileExists(atPath: beside) ? beside : nil)
    }

    /// Reads the matrix (`--matrix`, `SAMIA_ACCESS_MATRIX`, or `policy/access-matrix.yaml`),
    /// the exception register beside it, the signing key and the fonts, so that every missing
    /// piece is reported before the database is touched.
    public static func fromEnvironment(
        matrixPath: String?, exceptionsPath: String?, outDirectory: String, formats: Set<Format>, probeWrites: Bool,
        previousPath: String?, sampleRows: Int = 1000, env: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> ParityJob {
        let (path, exceptions) = try matrixPaths(matrixPath: matrixPath, exceptionsPath: exceptionsPath, env: env)
        let matrix = try AccessMatrix.load(path: path, exceptionsPath: exceptions)
        let digest = { (p: String) -> String in
            SHA256Hex.of([UInt8]((try? Data(contentsOf: URL(fileURLWithPath: p))) ?? Data()))
        }
        if let previousPath, !FileManager.default.isReadableFile(atPath: previousPath) {
            throw BatchError.badInput(file: previousPath, line: nil, field: nil, message: "cannot be read")
        }
        let fonts = FontSet.Paths.fromEnvironment(env)
        if formats.contains(.pdf) { _ = try FontSet(paths: fonts) }
        return ParityJob(
            matrix: matrix, matrixSHA256: digest(path), exceptionsSHA256: exceptions.map(digest),
            outDirectory: outDirectory, formats: formats.union([.json]), probeWrites: probeWrites,
            previousPath: previousPath, sampleRows: sampleRows, signingKey: try JobEnvironment.signingKey(env),
            fonts: fonts,
            icc: try PDFRenderer.loadICCProfile(env))
    }

    public func run(_ context: JobContext) throws -> JobOutcome {
        let db = context.connection
        let started = Date()
        try preflight(db)
        let previousFile = previousPath ?? (outDirectory as NSString).appendingPathComponent("report.json")
        let previous: ParityReport? = try {
            guard FileManager.default.fileExists(atPath: previousFile) else { return nil }
            do { return try ParityReport.decode(try Data(contentsOf: URL(fileURLWithPath: previousFile))) } catch {
                throw BatchError.badInput(
                    file: previousFile, line: nil, field: nil, message: "is not a parity report.json (\(error))")
            }
        }()
        let now = context.clock.now()
        let header = ParityReport.Header(
            databaseVersion: "", catalogFingerprint: "", toolVersion: "samia-batch \(SamiaVersion.version)",
            generatedAt: PDFRenderer.isoDate(now), database: try db.scalar("SELECT current_database()") ?? "?",
            schemas: matrix.schemas, probeWrites: probeWrites, matrixSha256: matrixSHA256,
            exceptionsSha256: exceptionsSHA256, identities: [:],
            previous: previous.map { "\($0.header.generatedAt) (\($0.header.catalogFingerprint.prefix(12)))" })
        let today = try db.scalar("SELECT current_date::text", as: String.self) ?? ""
        var report = try ParityAuditor(matrix: matrix, probeWrites: probeWrites, today: today, sampleRows: sampleRows)
            .audit(db, header: header)
        let auditMilliseconds = Int64(Date().timeIntervalSince(started) * 1000)
        if let previous { report.changes = ParityReport.changes(from: previous, to: report) }

        try write(report, now: now, runID: context.runID)
        let failures = report.failures
        try db.query(
            """
            INSERT INTO public.audit_log (actor_role, event, entity, entity_id, meta)
            VALUES ('system', 'parity_report_ready', 'database', current_database(),
                    jsonb_build_object('run_id', $1::bigint, 'cells', $2::int, 'failed', $3::int, 'findings', $4::int,
                                       'catalog_fingerprint', $5::text, 'probe_writes', $6::boolean))
            """,
            [
                context.runID, report.cells.count, failures.count, report.findings.count,
                report.header.catalogFingerprint,
                probeWrites,
            ])

        print(report.summaryLine)
        for cell in failures.prefix(20) { print("\(cell.verdict.uppercased()) \(cell.key): \(cell.reason)") }
        let blocking = report.blockingFindings
        for finding in blocking {
            print(
                "CRITICAL \(finding.code) \(finding.relation ?? "-"): \(finding.message) (not accepted in the register)"
            )
        }
        if failures.count > 20 { print("… and \(failures.count - 20) more failing cell(s): see the report") }
        // A report of reads alone cannot vouch for writes: it is incomplete, so it does not pass.
        let unprobedWrites =
            probeWrites ? 0 : report.cells.filter { $0.command != .select && $0.verdict == "not-tested" }.count
        if unprobedWrites > 0 {
            print("INCOMPLETE: \(unprobedWrites) write cell(s) not probed (--reads-only); the report cannot pass")
        }
        for change in report.changes.prefix(20) { print("changed: \(change)") }
        print("report: \(outDirectory) (\(formats.map(\.rawValue).sorted().joined(separator: ", ")), signed manifest)")

        var stats: [String: Int64] = [
            "cells": Int64(report.cells.count), "failed": Int64(failures.count),
            "exceptions": Int64(report.count("exception")), "not_tested": Int64(report.count("not-tested")),
            "findings": Int64(report.findings.count), "audit_ms": auditMilliseconds,
        ]
        stats["changes"] = Int64(report.changes.count)
        stats["errors"] = Int64(report.count("error"))
        stats["critical_not_accepted"] = Int64(blocking.count)
        var outcome = JobOutcome(
            stats: stats, artifacts: [outDirectory], failedItems: failures.count + blocking.count + unprobedWrites,
            itemsProcessed: Int64(report.cells.count - failures.count))
        outcome.gauges["samia_parity_cells_failed"] = Double(failures.count)
        outcome.gauges["samia_parity_cells_not_tested"] = Double(report.count("not-tested"))
        for severity in ParityReport.Finding.order {
            outcome.gauges[MetricsTextfile.sample("samia_parity_findings", labels: [("severity", "\(severity)")])] =
                Double(
                    report.findings.filter { $0.severity == severity }.count)
        }
        return outcome
    }

    /// Writes every file to a fresh temporary directory beside the target, signs the manifest,
    /// then swaps it in, so a reader never sees half a report.
    func write(_ report: ParityReport, now: Date, runID: Int64) throws {
        let fm = FileManager.default
        let parent = (outDirectory as NSString).deletingLastPathComponent
        if !parent.isEmpty { try fm.createDirectory(atPath: parent, withIntermediateDirectories: true) }
        let staging = outDirectory + ".tmp-\(getpid())"
        try? fm.removeItem(atPath: staging)
        try fm.createDirectory(atPath: staging, withIntermediateDirectories: true)
        var manifest = Manifest(
            artifact: "parity/\(report.header.generatedAt)", createdBy: report.header.toolVersion,
            createdAt: report.header.generatedAt,
            parameters: [
                "catalog_fingerprint": report.header.catalogFingerprint, "database": report.header.database,
                "probe_writes": String(probeWrites), "sample_rows": String(sampleRows),
                "access_matrix_sha256": matrixSHA256,
                "cells_failed": String(report.failures.count), "run_id": String(runID),
            ])
        func put(_ name: String, _ bytes: [UInt8]) throws {
            try Data(bytes).write(to: URL(fileURLWithPath: staging + "/" + name))
            manifest.add(path: name, contents: bytes)
        }
        try put("report.json", try report.json())
        if formats.contains(.md) { try put("report.md", Array(report.markdown().utf8)) }
        if formats.contains(.html) { try put("report.html", Array(report.html().utf8)) }
        if formats.contains(.pdf) {
            let renderer = TabularReportRenderer(fonts: try FontSet(paths: fonts), iccProfile: icc)
            try put("report.pdf", try renderer.render(report.tabular(date: now)))
        }
        let (bytes, signature) = try manifest.signed(with: signingKey)
        try Data(bytes).write(to: URL(fileURLWithPath: staging + "/manifest.json"))
        try Data(signature).write(to: URL(fileURLWithPath: staging + "/manifest.sig"))
        if fm.fileExists(atPath: outDirectory) {
            let old = outDirectory + ".old-\(getpid())"
            try fm.moveItem(atPath: outDirectory, toPath: old)
            try fm.moveItem(atPath: staging, toPath: outDirectory)
            try? fm.removeItem(atPath: old)
        } else {
            try fm.moveItem(atPath: staging, toPath: outDirectory)
        }
    }
}

extension ParityReport {
    /// The PDF form: the same header, changes, failing cells, findings and full matrix.
    func tabular(date: Date) -> TabularReport {
        var sections: [TabularReport.Section] = []
        sections.append(
            .init(
                title: "Summary", widths: [1], header: [""], rows: [[summaryLine]] + changes.map { ["changed: " + $0] })
        )
        let failing = orderedCells.filter { $0.isFailing }
        sections.append(
            .init(
                title: "Failing cells", widths: [0.2, 0.08, 0.22, 0.5],
                header: ["Cell", "Declared", "Catalog", "Reason and evidence"],
                rows: failing.isEmpty
                    ? [["None", "", "", ""]]
                    : failing.map {
                        [
                            $0.key, $0.declared, "\($0.catalog.access): \($0.catalog.reason)",
                            $0.reason + "\nprobe: " + Self.probeSummary($0.probe)
                                + ($0.catalog.policies.isEmpty
                                    ? "" : "\n" + $0.catalog.policies.joined(separator: "\n"))
                                + (($0.probe?.sql).map { $0.isEmpty ? "" : "\nSQL: " + $0 } ?? "")
                                + (($0.probe?.claims).map { $0.isEmpty ? "" : "\nclaims: " + $0 } ?? ""),
                        ]
                    }))
        sections.append(
            .init(
                title: "Findings", widths: [0.08, 0.2, 0.17, 0.55],
                header: ["Severity", "Code", "Relation", "Message"],
                rows: rankedFindings.isEmpty
                    ? [["", "", "", Self.noFindings]]
                    : rankedFindings.map { [$0.severity, $0.code, $0.relation ?? "", $0.messageWithAcceptance] },
                emphasised: Set(rankedFindings.indices.filter { rankedFindings[$0].rank <= 1 })))
        if !sideEffects.isEmpty {
            sections.append(
                .init(
                    title: "Side effects a rollback cannot undo", widths: [1], header: [""],
                    rows: sideEffects.map { [$0] }))
        }
        let all = orderedCells
        sections.append(
            .init(
                title: "All cells", widths: [0.13, 0.07, 0.06, 0.08, 0.08, 0.2, 0.07, 0.31],
                header: ["Relation", "Role", "Command", "Declared", "Catalog", "Probe", "Verdict", "Reason"],
                rows: all.map {
                    [
                        $0.relation, $0.role, $0.command.rawValue, $0.declared, $0.catalog.access,
                        Self.probeSummary($0.probe), $0.verdict, $0.reason,
                    ]
                }, emphasised: Set(all.indices.filter { all[$0].isFailing })))
        return TabularReport(
            title: "RLS parity report", subject: "What the database lets each role do, against the access matrix",
            date: date, facts: headerFacts, sections: sections)
    }
}
