/// The version recorded in the run ledger and printed by `--version`.
public enum SamiaVersion {
    public static let version = "0.1.0"
}
