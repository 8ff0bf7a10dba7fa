import Foundation
import Testing

@testable import Parity

/// An empty section of the auditor's report says why it is empty (issue 38): a findings table
/// with no rows read as "not checked".
@Suite struct ParityReportTextTests {
    func report(findings: [ParityReport.Finding]) -> ParityReport {
        ParityReport(
            header: .init(
                databaseVersion: "15", catalogFingerprint: "f", toolVersion: "t", generatedAt: "2026-12-06T00:00:00Z",
                database: "d", schemas: ["public"], probeWrites: false, matrixSha256: "m", exceptionsSha256: nil,
                identities: [:], previous: nil),
            cells: [], findings: findings, sideEffects: [], changes: [])
    }

    @Test func anEmptyFindingsSectionSaysEveryLintRan() {
        let empty = report(findings: [])
        #expect(empty.markdown().contains("None: every catalog lint ran"))
        #expect(empty.html().contains("None: every catalog lint ran"))
        let one = report(findings: [
            .init(severity: "low", code: "x", relation: nil, message: "something", evidence: [])
        ])
        #expect(!one.markdown().contains("None: every catalog lint ran"))
    }
}
