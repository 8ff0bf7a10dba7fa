import Foundation
import Runner
import Testing

/// The clock tests inject: a retry's backoff and a ping's wait may sleep on different threads
/// while the test reads what was slept, so every read and write goes through its lock (the
/// Thread Sanitizer lane of `make test` runs this).
@Suite("Fixed clock")
struct FixedClockTests {
    @Test func sleepsFromManyThreadsAreAllRecordedAndReadSafely() {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let clock = FixedClock(start)
        let threads = 4
        let sleeps = 500
        DispatchQueue.concurrentPerform(iterations: threads * 2) { i in
            for _ in 0..<sleeps {
                if i % 2 == 0 {
                    clock.sleep(seconds: 1)
                } else {
                    // Only the list: a read of `now()` between would order these reads after the
                    // writes through the lock and hide an unlocked read from the sanitizer.
                    _ = clock.slept.count
                }
            }
        }
        #expect(clock.slept.count == threads * sleeps)
        #expect(clock.now() == start.addingTimeInterval(Double(threads * sleeps)))
    }
}
