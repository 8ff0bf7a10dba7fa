import Foundation
import Invoicing
import Parity
import Privacy
import Reconciliation
import Reports
import Runner
import Storage

/// The checks of what is installed beside the binary: storage, fonts, key, seller, policies.
extension Doctor {
    /// Writes, reads back and deletes a probe object, then compares free space with the floor.
    func storage() throws -> Finding {
        let store = try ObjectStores.forJob(env)
        let key = "samia-doctor-probe-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let bytes = Array("samia-batch doctor\n".utf8)
        try store.put(key, data: bytes, contentType: "text/plain")
        defer { try? store.delete(key) }
        guard try store.get(key) == bytes else {
            return Finding(
                check: "storage", verdict: .failure,
                detail: "\(store.displayName): a probe object read back differently",
                action: "check the volume or bucket")
        }
        let minimum = try StorageSpace.minimumBytes(env)
        guard let available = try store.availableBytes() else {
            return Finding(
                check: "storage", verdict: .ok, detail: "\(store.displayName) writable (free space not measurable)",
                action: nil)
        }
        let detail = "\(store.displayName) writable, \(available >> 20) MiB free (floor \(minimum >> 20) MiB)"
        guard available >= minimum else {
            return Finding(
                check: "storage", verdict: .failure, detail: detail,
                action: "free space; jobs refuse to start below the floor (exit 74)")
        }
        return Finding(check: "storage", verdict: .ok, detail: detail, action: nil)
    }

    func fonts() throws -> Finding {
        let paths = FontSet.Paths.fromEnvironment(env)
        _ = try FontSet(paths: paths)
        let names = ([paths.sans, paths.sansBold, paths.arabic, paths.arabicBold] + paths.fallbacks).map {
            ($0 as NSString).lastPathComponent
        }
        return Finding(check: "fonts", verdict: .ok, detail: names.joined(separator: ", "), action: nil)
    }

    func signingKey() throws -> Finding {
        let key = try JobEnvironment.signingKey(env)
        return Finding(
            check: "signing key", verdict: .ok,
            detail: "\(env["SAMIA_SIGNING_KEY_FILE"] ?? "") (public key id \(key.publicKey.id))", action: nil)
    }

    func seller() throws -> Finding {
        _ = try InvoiceSettings.fromEnvironment(env)
        let registrations = try VATRateTable.load(env).registrations.resolved(env)
        let detail = registrations.entries.map { entry in
            "\(entry.name): \(entry.scheme.rawValue) \(entry.number ?? "") for \(entry.countries.joined(separator: " "))"
        }
        return Finding(check: "seller", verdict: .ok, detail: detail.joined(separator: "; "), action: nil)
    }

    /// Each policy file parsed the way its job parses it, so a typo shows here, not at 02:00.
    func policies() -> [Finding] {
        [
            policy("data map") { "\(try DataMap.load(environment: env).1)" },
            policy("reconciliation") {
                _ = try ReconciliationPolicy.load(env)
                return try env["SAMIA_RECONCILIATION_POLICY"] ?? PolicyFiles.locate("reconciliation.yaml", env)
            },
            policy("vat rates") {
                _ = try VATRateTable.load(env)
                return try env["SAMIA_VAT_RATES"] ?? PolicyFiles.locate("vat-rates.yaml", env)
            },
            policy("access matrix") {
                let paths = try ParityJob.matrixPaths(env: env)
                _ = try AccessMatrix.load(path: paths.matrix, exceptionsPath: paths.exceptions)
                return paths.matrix + (paths.exceptions.map { " with \($0)" } ?? "")
            },
        ]
    }

    /// A policy check: `body` parses the file and names it.
    private func policy(_ name: String, _ body: () throws -> String) -> Finding {
        do { return Finding(check: name, verdict: .ok, detail: try body(), action: nil) } catch {
            return Finding(
                check: name, verdict: .failure, detail: "\(error)", action: "fix the file at the place named")
        }
    }
}
