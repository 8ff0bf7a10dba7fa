import Foundation

/// One parity report: the header, a cell per role × relation × command, the lint findings,
/// and what changed since the previous report. It is `Codable` because `report.json` is both
/// what machines read and what the next run diffs against.
public struct ParityReport: Codable, Sendable {
    public struct Header: Codable, Sendable {
        public var databaseVersion: String
        public var catalogFingerprint: String
        public var toolVersion: String
        public var generatedAt: String
        public var database: String
        public var schemas: [String]
        public var probeWrites: Bool
        public var matrixSha256: String
        public var exceptionsSha256: String?
        /// Role -> the identity its probes used (`sub` and database role), or why none.
        public var identities: [String: String]
        public var previous: String?
    }

    /// What the catalog alone says a role can do with a command.
    public struct CatalogSide: Codable, Sendable, Equatable {
        /// `denied` (no privilege), `no-rows` (RLS on, nothing permits), `unrestricted` (every
        /// row: bypass, RLS off, `true`), `policies` (rows decided by policy expressions).
        public var access: String
        public var reason: String
        public var policies: [String]
    }

    public struct ProbeSide: Codable, Sendable, Equatable {
        /// `rows`, `refused`, `error`, `timeout`, `skipped`.
        public var outcome: String
        public var visible: Int64?
        public var expected: Int64?
        public var excess: Int64?
        public var missing: Int64?
        public var sqlState: String?
        public var message: String?
        /// Insert probes: what happened to a sample row inside and outside the declared scope.
        public var inside: String?
        public var outside: String?
        public var sql: String
        public var claims: String
        /// Write probes: how many synthetic rows were tried (`SyntheticRows`).
        public var tried: Int?
    }

    public struct ExceptionNote: Codable, Sendable, Equatable {
        public var owner: String
        public var justification: String
        public var approvedBy: String
        public var expires: String
        public var expired: Bool
    }

    public struct Cell: Codable, Sendable {
        public var role: String
        public var relation: String
        public var kind: String
        public var command: AccessMatrix.Command
        public var declared: String
        public var columns: [String]?
        public var catalog: CatalogSide
        public var probe: ProbeSide?
        /// `pass`, `fail`, `error` (the probe failed: it proves nothing, so the cell fails),
        /// `exception`, `not-tested`.
        public var verdict: String
        public var reason: String
        public var exception: ExceptionNote?

        public var key: String { "\(role) × \(relation) × \(command.rawValue)" }
        public var isFailing: Bool { verdict == "fail" || verdict == "error" }
    }

    public struct Finding: Codable, Sendable, Equatable {
        /// `critical`, `high`, `medium`, `low`, `info`.
        public var severity: String
        public var code: String
        public var relation: String?
        public var message: String
        public var evidence: [String]
        /// The unexpired exception register entry that accepts this finding ("until DATE by
        /// WHO: WHY"); nil when none does.
        public var accepted: String?
        public var isAccepted: Bool { accepted != nil }
        /// The message, and the register's acceptance when there is one.
        public var messageWithAcceptance: String { message + (accepted.map { " — accepted \($0)" } ?? "") }

        public var key: String { "\(code) \(relation ?? "-") \(message)" }
        public static let order = ["critical", "high", "medium", "low", "info"]
        public var rank: Int { Finding.order.firstIndex(of: severity) ?? 9 }
    }

    public var format = "samia-batch-parity/1"
    public var header: Header
    public var cells: [Cell]
    public var findings: [Finding]
    /// What the probes did that a rollback cannot undo (sequence values taken).
    public var sideEffects: [String]
    public var changes: [String]

    /// Cells that fail the report: a declaration the database contradicts, or a probe that
    /// could not run (an error proves nothing, so it never counts as a refusal).
    public var failures: [Cell] { cells.filter { $0.isFailing } }

    /// Critical findings no unexpired exception accepts: each fails the report like a cell.
    public var blockingFindings: [Finding] { findings.filter { $0.severity == "critical" && !$0.isAccepted } }

    public func count(_ verdict: String) -> Int { cells.filter { $0.verdict == verdict }.count }

    /// "What changed since the last audit": cells whose verdict, declaration or catalog side
    /// changed, and findings that appeared or went away.
    public static func changes(from old: ParityReport, to new: ParityReport) -> [String] {
        var out: [String] = []
        let before = Dictionary(old.cells.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        let after = Dictionary(new.cells.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        for cell in new.cells {
            guard let was = before[cell.key] else {
                out.append("new cell \(cell.key): \(cell.verdict)")
                continue
            }
            if was.verdict != cell.verdict {
                out.append("\(cell.key): \(was.verdict) -> \(cell.verdict) (\(cell.reason))")
            }
            if was.declared != cell.declared { out.append("\(cell.key): declared \(was.declared) -> \(cell.declared)") }
            if was.catalog != cell.catalog {
                out.append(
                    "\(cell.key): catalog \(was.catalog.access) -> \(cell.catalog.access) (\(cell.catalog.reason))")
            }
        }
        for cell in old.cells where after[cell.key] == nil { out.append("cell gone: \(cell.key)") }
        let oldFindings = Set(old.findings.map(\.key))
        let newFindings = Set(new.findings.map(\.key))
        for f in new.findings where !oldFindings.contains(f.key) {
            out.append("new finding [\(f.severity)] \(f.code) \(f.relation ?? ""): \(f.message)")
        }
        for f in old.findings where !newFindings.contains(f.key) {
            out.append("finding resolved [\(f.severity)] \(f.code) \(f.relation ?? ""): \(f.message)")
        }
        if old.header.catalogFingerprint != new.header.catalogFingerprint {
            out.append(
                "catalog fingerprint \(old.header.catalogFingerprint.prefix(12)) -> \(new.header.catalogFingerprint.prefix(12))"
            )
        }
        return out
    }

    public func json() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return [UInt8](try encoder.encode(self)) + [0x0A]
    }

    public static func decode(_ data: Data) throws -> ParityReport {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(ParityReport.self, from: data)
    }
}
