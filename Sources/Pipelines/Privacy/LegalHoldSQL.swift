import Postgres
/// The one SQL test for "this row is under a hold of its own", shared by erasure and
/// retention so both read `legal_holds` the same way (`legal-hold place --table T --key PK`).
public enum LegalHoldSQL {
    /// True for a row of `table` (alias `alias`, primary key `key`) with an active row hold.
    public static func rowHeld(table: String, key: String, alias: String) -> String {
        "EXISTS (SELECT 1 FROM public.legal_holds h WHERE h.released_at IS NULL AND h.table_name = "
            + SQLIdentifier.literal(table) + " AND h.row_key = \(alias)." + SQLIdentifier.quote(key) + "::text)"
    }
}
