import Yams

/// The keys the access matrix and the exception register may hold, checked on the YAML tree
/// before anything is decoded.
///
/// A decoder ignores what it does not know: `colums:` under a grant would drop the column list
/// (every column allowed), a second `orders:` would silently replace the first. An auditor's
/// input must not mean something other than what it says, so an unknown or repeated key is
/// refused with the file, the path and the line.
indirect enum MatrixKeys: Sendable {
    /// Anything: a scalar, or a structure another check reads.
    case leaf
    /// A mapping with exactly these keys (any subset); a scalar in its place is left to the
    /// decoder (a grant may be a bare scope name).
    case fixed([String: MatrixKeys])
    /// A mapping with names chosen by the author (tables, roles, scopes), each checked as `value`.
    case named(MatrixKeys)
    /// A list, each item checked as `item`.
    case list(MatrixKeys)

    static let grant = MatrixKeys.fixed(["scope": .leaf, "columns": .leaf])
    static let matrix = MatrixKeys.fixed([
        "version": .leaf, "schemas": .leaf,
        "probe": .fixed(["statement_timeout_ms": .leaf, "identity_query": .leaf]),
        "roles": .named(.fixed(["db_role": .leaf, "app_role": .leaf])),
        "scopes": .named(.leaf),
        // table → (note | scopes | role → command → grant); the role and command names
        // themselves are checked against the declaration by the matrix's parser.
        "tables": .named(.named(.named(grant))),
        "denied": .named(.leaf),
    ])
    static let register = MatrixKeys.fixed([
        "exceptions": .list(
            .fixed(
                Dictionary(
                    uniqueKeysWithValues: [
                        "role", "table", "command", "owner", "justification", "approved_by", "expires",
                    ]
                    .map { ($0, MatrixKeys.leaf) }))),
        "findings": .list(
            .fixed(
                Dictionary(
                    uniqueKeysWithValues: ["code", "relation", "owner", "justification", "approved_by", "expires"].map {
                        ($0, MatrixKeys.leaf)
                    }))),
    ])

    /// Throws `ParityError.matrix` at the first unknown or repeated key under `node`.
    func check(_ node: Node, path: String, file: String) throws {
        switch self {
        case .leaf: return
        case .list(let item):
            for (i, element) in (node.sequence ?? []).enumerated() {
                try item.check(element, path: "\(path)[\(i)]", file: file)
            }
        case .fixed(let keys):
            try Self.eachKey(node, path: path, file: file) { name, keyNode, value in
                guard let spec = keys[name] else {
                    throw ParityError.matrix(
                        file: file, at: Self.place(path, name, keyNode),
                        reason: "unknown key \"\(name)\" (known here: \(keys.keys.sorted().joined(separator: ", ")))")
                }
                try spec.check(value, path: Self.join(path, name), file: file)
            }
        case .named(let value):
            try Self.eachKey(node, path: path, file: file) { name, _, child in
                try value.check(child, path: Self.join(path, name), file: file)
            }
        }
    }

    /// Calls `body` for each key of a mapping, refusing a key that appears twice.
    private static func eachKey(
        _ node: Node, path: String, file: String, _ body: (String, Node, Node) throws -> Void
    ) throws {
        guard let mapping = node.mapping else { return }
        var seen: [String: Int] = [:]
        for (keyNode, value) in mapping {
            let name = keyNode.string ?? "?"
            let line = (keyNode.mark?.line).map { $0 } ?? 0
            if let first = seen[name] {
                throw ParityError.matrix(
                    file: file, at: place(path, name, keyNode),
                    reason: "\"\(name)\" appears twice (lines \(first) and \(line)); the second would replace the first"
                )
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
