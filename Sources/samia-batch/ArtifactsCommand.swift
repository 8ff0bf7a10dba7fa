import ArgumentParser
import Foundation
import Postgres
import Runner
import Storage

struct ArtifactsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "artifacts",
        abstract: "Signed artefacts the batch stored (finance ZIPs and others), every version.",
        subcommands: [List.self, Get.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List stored artefacts, newest version first.")

        @OptionGroup var database: DatabaseOptions
        @Option(help: "Only this kind, e.g. reconciliation.") var kind: String?
        @Option(help: "Only this partition, e.g. 2026-10.") var partition: String?

        func run() throws {
            try execute {
                let db = try database.connect(cliLogger(), applicationName: "samia-batch/artifacts")
                defer { db.close() }
                let store = try ObjectStores.fromEnvironment()
                let records = try ArtifactRegistry(connection: db, store: store).list(kind: kind, partition: partition)
                print("id\tkind\tpartition\tversion\tcreated_at\tbytes\tsha256\tfile")
                for r in records {
                    print(
                        "\(r.id)\t\(r.kind)\t\(r.partition)\t\(r.version)\t\(ISO8601DateFormatter().string(from: r.createdAt))\t\(r.bytes)\t\(r.sha256)\t\(r.fileName)"
                    )
                }
            }
        }
    }

    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "get",
            abstract: "Copy an artefact out of storage, checking its SHA-256 against the record.",
            discussion:
                "Name it by id, or by --kind and --partition (latest version unless --version). Then check it with `samia-batch verify`."
        )

        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Artefact id (from `artifacts list`).") var id: Int64?
        @Option(help: "Kind, e.g. reconciliation.") var kind: String?
        @Option(help: "Partition, e.g. 2026-10.") var partition: String?
        @Option(help: "Version (default: the latest).") var version: Int?
        @Option(
            help:
                "Where to write the file: a path, or a directory to put it in under its stored name (default: the current directory)."
        ) var out: String?

        func validate() throws {
            if id == nil && (kind == nil || partition == nil) {
                throw ValidationError("give an id, or --kind and --partition")
            }
            if id != nil && (kind != nil || partition != nil || version != nil) {
                throw ValidationError("give either an id or --kind/--partition/--version, not both")
            }
        }

        func run() throws {
            try execute {
                let db = try database.connect(cliLogger(), applicationName: "samia-batch/artifacts")
                defer { db.close() }
                let registry = ArtifactRegistry(connection: db, store: try ObjectStores.fromEnvironment())
                let found =
                    try id.map { try registry.find(id: $0) }
                    ?? registry.find(kind: kind!, partition: partition!, version: version)
                guard let record = found else {
                    throw BatchError.badInput(
                        file: "batch_artifacts", line: nil, field: id == nil ? "kind/partition/version" : "id",
                        message: "no such artefact")
                }
                let target = try Self.target(out: out, record: record)
                try registry.download(record, to: target)
                print(
                    "\(target): \(record.kind) \(record.partition) v\(record.version), \(record.bytes) bytes, sha256 \(record.sha256) (checked)"
                )
            }
        }

        /// Where the file goes: `--out` as given, or the stored name made safe (a plain name, see
        /// `ArtifactRegistry.localName`) in `--out`'s directory or the current one. A file that
        /// is already there under the stored name is never replaced unasked.
        static func target(out: String?, record: ArtifactRecord) throws -> String {
            var isDirectory: ObjCBool = false
            if let out,
                !(FileManager.default.fileExists(atPath: out, isDirectory: &isDirectory) && isDirectory.boolValue)
            {
                return out
            }
            let name = ArtifactRegistry.localName(record.fileName, id: record.id)
            let target = out.map { ($0 as NSString).appendingPathComponent(name) } ?? name
            guard !FileManager.default.fileExists(atPath: target) else {
                throw BatchError.configuration("\(target) already exists; name the file to write with --out")
            }
            return target
        }
    }
}
