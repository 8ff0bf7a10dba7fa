/// The version recorded in the run ledger and printed by `--version`.
public enum SamiaVersion {
    public static let release = "0.1.0"
    /// The git commit the binary was built from (`unknown` outside a checkout; `-dirty` with
    /// uncommitted changes), from the BuildInfo build plugin.
    public static let commit = BuildInfo.commit
    /// What the ledger's `version` column and `--version` show: release and commit.
    public static let version = "\(release)+\(commit)"
}
