import Postgres

/// The mark `dev init` leaves in a database it created: the only databases `dev seed` writes
/// into, and the ones the parity report may probe with writes without a production guard.
public enum DevMarker {
    /// True when the database carries the dev marker.
    public static func isPresent(_ connection: Connection) throws -> Bool {
        guard try connection.scalar("SELECT to_regclass('samia_dev.marker') IS NOT NULL", as: Bool.self) == true else {
            return false
        }
        return try connection.scalar("SELECT EXISTS (SELECT 1 FROM samia_dev.marker)", as: Bool.self) ?? false
    }
}
