@testable import Retention
import Testing

/// How concurrent retention workers spread over the key list: a small pure function a wrong
/// edit would break without any database noticing. (The array every batch sends is tested with
/// `PostgresArray`, in PostgresTests.)
@Suite("Retention walk")
struct RetentionWalkTests {
    @Test func workersStartSpreadEvenlyWhateverTheirNumber() {
        #expect((0..<8).map(RetentionJob.startFraction) == [0, 0.5, 0.25, 0.75, 0.125, 0.625, 0.375, 0.875])
        // Any number of workers: every start distinct and inside the list.
        let starts = (0..<64).map(RetentionJob.startFraction)
        #expect(Set(starts).count == 64)
        #expect(starts.allSatisfy { $0 >= 0 && $0 < 1 })
    }
}
