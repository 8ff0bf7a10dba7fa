import Foundation
import Testing

@testable import Reports

/// The flusher only moves waiting earlier; what it must never do is lose an error, hang a
/// writer, or touch a file descriptor after it has been stopped.
@Suite struct DiskFlusherTests {
    /// A descriptor `fdatasync` refuses (a pipe: EINVAL) stands in for a disk that failed: Linux
    /// reports a writeback error to one sync only, so the flusher must hand it to the writer.
    @Test func aFailedFlushIsReportedByStop() throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        defer {
            close(ends[0])
            close(ends[1])
        }
        let flusher = DiskFlusher(fd: ends[1])
        flusher.flushSoon()
        #expect(flusher.stop() == EINVAL)
        #expect(flusher.stop() == EINVAL, "a second stop returns at once with the same error")
    }

    @Test func flushesOfAFileSucceedAndStopReturns() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("flush-\(UUID().uuidString)").path
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        #expect(fd >= 0)
        defer {
            close(fd)
            unlink(path)
        }
        let flusher = DiskFlusher(fd: fd)
        let chunk = [UInt8](repeating: 7, count: 1 << 16)
        for _ in 0..<64 {
            #expect(chunk.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == chunk.count)
            flusher.flushSoon()
        }
        #expect(flusher.stop() == nil)
    }

    /// A writer that is never committed (an export that failed half-way) stops its flusher
    /// before the descriptor closes, and leaves no temporary file.
    @Test func anAbandonedBigZipLeavesNothingBehind() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("abandon-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let writer = try ZipWriter(path: dir + "/a.zip", compressionLevel: 0)
            try writer.begin("big.bin", size: nil)
            let chunk = [UInt8](repeating: 1, count: 1 << 20)
            for _ in 0..<20 { try writer.write(chunk) }
            let during = try withExtendedLifetime(writer) { try FileManager.default.contentsOfDirectory(atPath: dir) }
            #expect(during.count == 1)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == [])
    }
}
