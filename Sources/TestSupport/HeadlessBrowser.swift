import Foundation

/// Debian's Chromium, headless, as the independent reader of HTML reports: it loads a page
/// with the network cut off (a proxy that answers nothing, a resolver that finds nothing) and
/// returns the DOM after the page's scripts ran, with every console message the page caused
/// (errors, Content-Security-Policy violations, blocked loads).
public enum HeadlessBrowser {
    public static let path = "/usr/bin/chromium"

    public struct Page: Sendable {
        public let dom: String
        public let console: [String]
    }

    public enum Failure: Error, CustomStringConvertible {
        case missing
        case failed(status: Int32, stderr: String)
        public var description: String {
            switch self {
            case .missing: return "\(HeadlessBrowser.path) is missing: make test installs Debian's chromium package"
            case .failed(let status, let stderr): return "chromium exited \(status): \(stderr.suffix(2000))"
            }
        }
    }

    /// `fileAccess` lets a test page in the same folder script a report in an iframe, as a
    /// person's clicks would.
    public static func load(_ url: URL, fileAccess: Bool = false) throws -> Page {
        try run(url, ["--dump-dom"] + (fileAccess ? ["--allow-file-access-from-files"] : []))
    }

    public static func screenshot(_ url: URL, to png: String, width: Int = 1280, height: Int = 1400) throws -> Page {
        try run(url, ["--screenshot=\(png)", "--window-size=\(width),\(height)", "--hide-scrollbars"])
    }

    static func run(_ url: URL, _ arguments: [String]) throws -> Page {
        guard FileManager.default.isExecutableFile(atPath: path) else { throw Failure.missing }
        let profile = NSTemporaryDirectory() + "samia-chromium-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: profile) }
        let result = try Shell.run(
            path,
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(profile)",
                "--proxy-server=http://127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
                "--enable-logging=stderr", "--v=0", "--log-level=0",
            ] + arguments + [url.absoluteString])
        guard result.status == 0 else { throw Failure.failed(status: result.status, stderr: result.stderr) }
        let console = result.stderr.split(separator: "\n").filter { $0.contains(":CONSOLE") }.map(String.init)
        return Page(dom: result.stdout, console: console)
    }
}
