import Foundation
import Reports

/// The settings several jobs read the same way, each missing or unreadable one a configuration
/// error (exit 78) that names the variable. The object store's counterpart is
/// `ObjectStores.forJob`, in the storage module.
public enum JobEnvironment {
    public static func signingKey(_ env: [String: String]) throws -> SigningKey {
        guard let keyPath = env["SAMIA_SIGNING_KEY_FILE"], !keyPath.isEmpty else {
            throw BatchError.configuration(
                "no signing key: set SAMIA_SIGNING_KEY_FILE (create one with `samia-batch keygen`)")
        }
        do { return try SigningKey(contentsOf: keyPath) } catch {
            throw BatchError.configuration("signing key \(keyPath): \(error)")
        }
    }
}
