@testable import Retention
import Testing

/// How concurrent retention workers spread over the key list, and the array literal every
/// batch sends: small pure functions a wrong edit would break without any database noticing.
@Suite("Retention walk")
struct RetentionWalkTests {
    @Test func workersStartSpreadEvenlyWhateverTheirNumber() {
        #expect((0..<8).map(RetentionJob.startFraction) == [0, 0.5, 0.25, 0.75, 0.125, 0.625, 0.375, 0.875])
        // Any number of workers: every start distinct and inside the list.
        let starts = (0..<64).map(RetentionJob.startFraction)
        #expect(Set(starts).count == 64)
        #expect(starts.allSatisfy { $0 >= 0 && $0 < 1 })
    }

    @Test func arrayLiteralQuotesEveryElementAndEscapesOnlyWhatPostgresNeeds() {
        #expect(RetentionJob.arrayLiteral([]) == "{}")
        #expect(RetentionJob.arrayLiteral(["1", "22"]) == #"{"1","22"}"#)
        #expect(RetentionJob.arrayLiteral([#"a"b"#, #"c\d"#, "e,f}", "نجمة"]) == #"{"a\"b","c\\d","e,f}","نجمة"}"#)
    }
}
