import Yams

/// The keys a policy file may hold, checked on the YAML tree before anything is decoded.
///
/// A decoder ignores what it does not know: `colums:` under a grant would drop the column list,
/// `tolerence:` in the reconciliation policy would leave the tolerance at its default, a second
/// `orders:` would silently replace the first. Input that finance, the DPO or an auditor wrote
/// must not mean something other than what it says, so an unknown or repeated key is refused
/// with the file, the path and the line.
public indirect enum PolicyKeys: Sendable {
    /// Anything: a scalar, or a structure another check reads.
    case leaf
    /// A mapping with exactly these keys (any subset); a scalar in its place is left to the
    /// decoder (a grant may be a bare scope name).
    case fixed([String: PolicyKeys])
    /// A mapping with names chosen by the author (tables, roles, providers), each checked as `value`.
    case named(PolicyKeys)
    /// A list, each item checked as `item`.
    case list(PolicyKeys)

    /// A mapping whose keys are all leaves.
    public static func leaves(_ names: [String]) -> PolicyKeys {
        .fixed(Dictionary(uniqueKeysWithValues: names.map { ($0, PolicyKeys.leaf) }))
    }

    /// Throws `problem(place, reason)` at the first unknown or repeated key under `node`;
    /// `place` is the dotted path and the line (`tolerances.amount_minor_unit (line 7)`).
    public func check(_ node: Node, path: String, problem: (String, String) -> any Error) throws {
        switch self {
        case .leaf: return
        case .list(let item):
            for (i, element) in (node.sequence ?? []).enumerated() {
                try item.check(element, path: "\(path)[\(i)]", problem: problem)
            }
        case .fixed(let keys):
            try Self.eachKey(node, path: path, problem: problem) { name, keyNode, value in
                guard let spec = keys[name] else {
                    throw problem(
                        Self.place(path, name, keyNode),
                        "unknown key \"\(name)\" (known here: \(keys.keys.sorted().joined(separator: ", ")))")
                }
                try spec.check(value, path: Self.join(path, name), problem: problem)
            }
        case .named(let value):
            try Self.eachKey(node, path: path, problem: problem) { name, _, child in
                try value.check(child, path: Self.join(path, name), problem: problem)
            }
        }
    }

    /// Checks a whole file's text: YAML that does not parse is left to the decoder, which
    /// reports it with its own line.
    public func check(yaml: String, problem: (String, String) -> any Error) throws {
        if let root = (try? Yams.compose(yaml: yaml)) ?? nil { try check(root, path: "", problem: problem) }
    }

    /// Calls `body` for each key of a mapping, refusing a key that appears twice.
    private static func eachKey(
        _ node: Node, path: String, problem: (String, String) -> any Error, _ body: (String, Node, Node) throws -> Void
    ) throws {
        guard let mapping = node.mapping else { return }
        var seen: [String: Int] = [:]
        for (keyNode, value) in mapping {
            let name = keyNode.string ?? "?"
            let line = keyNode.mark?.line ?? 0
            if let first = seen[name] {
                throw problem(
                    place(path, name, keyNode),
                    "\"\(name)\" appears twice (lines \(first) and \(line)); the second would replace the first")
            }
            seen[name] = line
            try body(name, keyNode, value)
        }
    }

    private static func join(_ path: String, _ name: String) -> String { path.isEmpty ? name : path + "." + name }

    private static func place(_ path: String, _ name: String, _ key: Node) -> String {
        join(path, name) + " (line \(key.mark.map { String($0.line) } ?? "?"))"
    }
}
