import Runner
import Yams

/// The keys the access matrix and the exception register may hold (`PolicyKeys`): an auditor's
/// input must not mean something other than what it says.
enum MatrixKeys {
    static let grant = PolicyKeys.fixed(["scope": .leaf, "columns": .leaf])
    static let matrix = PolicyKeys.fixed([
        "version": .leaf, "schemas": .leaf,
        "probe": .fixed(["statement_timeout_ms": .leaf, "identity_query": .leaf]),
        "roles": .named(.fixed(["db_role": .leaf, "app_role": .leaf])),
        "scopes": .named(.leaf),
        // table → (note | scopes | role → command → grant); the role and command names
        // themselves are checked against the declaration by the matrix's parser.
        "tables": .named(.named(.named(grant))),
        "denied": .named(.leaf),
        // signature → the roles that may execute it (checked by the matrix's parser).
        "functions": .named(.leaf),
    ])
    static let register = PolicyKeys.fixed([
        "exceptions": .list(.leaves(["role", "table", "command", "owner", "justification", "approved_by", "expires"])),
        "findings": .list(.leaves(["code", "relation", "owner", "justification", "approved_by", "expires"])),
    ])

    /// Throws `ParityError.matrix` at the first unknown or repeated key of `text`.
    static func check(_ keys: PolicyKeys, _ text: String, file: String) throws {
        try keys.check(yaml: text) { ParityError.matrix(file: file, at: $0, reason: $1) }
    }
}
