import Foundation
import TestSupport
import Testing

/// docs/architecture.md's module table against `Package.swift` as SwiftPM reads it: a module
/// added, removed, moved or given another dependency without its row changing fails here, so
/// the page a newcomer reads first is never a diagram of an older build.
@Suite("Architecture doc")
struct ArchitectureDocTests {
    struct Module: Equatable, CustomStringConvertible {
        let path: String
        let dependencies: Set<String>
        var description: String { "\(path) → \(dependencies.sorted().joined(separator: ", "))" }
    }

    /// Every non-test target with its path and its dependencies on the package's own targets.
    static func manifestModules() throws -> [String: Module] {
        let root = TestCluster.repositoryRoot.path
        let scratch = NSTemporaryDirectory() + "samia-dump-\(UUID().uuidString)"
        let swift = ProcessInfo.processInfo.environment["PATH"].flatMap { path in
            path.split(separator: ":").map { "\($0)/swift" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        }
        let dump = try Shell.run(
            try #require(swift, "swift is not on PATH"),
            ["package", "--package-path", root, "--scratch-path", scratch, "dump-package"])
        try #require(dump.status == 0, "\(dump.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(dump.stdout.utf8)) as? [String: Any])
        let targets = try #require(json["targets"] as? [[String: Any]])
        let names = Set(targets.compactMap { $0["name"] as? String })
        var modules: [String: Module] = [:]
        for target in targets where target["type"] as? String != "test" {
            let name = try #require(target["name"] as? String)
            let type = target["type"] as? String
            let path = target["path"] as? String ?? (type == "plugin" ? "Plugins/\(name)" : "Sources/\(name)")
            var dependencies = Set<String>()
            for dependency in target["dependencies"] as? [[String: Any]] ?? [] {
                for kind in ["byName", "target"] {
                    if let first = (dependency[kind] as? [Any])?.first as? String, names.contains(first) {
                        dependencies.insert(first)
                    }
                }
            }
            modules[name] = Module(path: path, dependencies: dependencies)
        }
        return modules
    }

    /// The rows of the "Modules" table: module, path, purpose, depends on.
    static func documentedModules() throws -> [String: Module] {
        let doc = try String(
            contentsOf: TestCluster.repositoryRoot.appendingPathComponent("docs/architecture.md"), encoding: .utf8)
        let section = try #require(doc.components(separatedBy: "\n## Modules\n").dropFirst().first)
        var modules: [String: Module] = [:]
        for line in section.split(separator: "\n").prefix(while: { !$0.hasPrefix("## ") }) where line.hasPrefix("| `") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            try #require(cells.count == 4, "row \(line) has \(cells.count) cells, not 4")
            let unquote = { (s: Substring) in s.trimmingCharacters(in: CharacterSet(charactersIn: "` ")) }
            let dependencies = cells[3] == "—" ? [] : cells[3].split(separator: ",").map(unquote)
            let name = unquote(Substring(cells[0]))
            #expect(modules[name] == nil, "module \(name) has two rows")
            modules[name] = Module(path: unquote(Substring(cells[1])), dependencies: Set(dependencies))
        }
        return modules
    }

    @Test func theModuleTableMatchesPackageSwift() throws {
        let manifest = try Self.manifestModules()
        let documented = try Self.documentedModules()
        #expect(manifest.count > 10)
        for (name, module) in manifest {
            #expect(
                documented[name] == module,
                "\(name): Package.swift says \(module), the doc \(documented[name].map { "\($0)" } ?? "nothing")")
        }
        for name in Set(documented.keys).subtracting(manifest.keys) {
            Issue.record("docs/architecture.md lists \(name), which Package.swift does not have")
        }
    }
}
