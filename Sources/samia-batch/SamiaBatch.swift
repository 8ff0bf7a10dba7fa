import ArgumentParser
import Runner

struct SamiaBatch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "samia-batch",
        abstract:
            "Scheduled back-office work for the Samia service: invoices, reconciliation, DSRs, retention, metrics, parity.",
        discussion: """
            Connects with DATABASE_URL, a libpq conninfo (--database-url), or the standard PG* variables.
            Logs are JSON lines on stderr (readable lines on a terminal); they never carry personal data.

            Exit codes (sysexits):
            \(ExitStatus.helpText)
            """,
        version: "samia-batch \(SamiaVersion.release) (git commit \(SamiaVersion.commit))",
        subcommands: [
            MigrateCommand.self, RunsCommand.self, NightlyCommand.self, BackfillCommand.self, KeygenCommand.self,
            VerifyCommand.self,
            RenderCommand.self, InvoicesCommand.self, MetricsCommand.self, CheckFreshnessCommand.self,
            SettlementCommand.self, BankCommand.self, ReconcileCommand.self, ArtifactsCommand.self, DataMapCommand.self,
            AuditCommand.self,
            DSRCommand.self, RetentionCommand.self, LegalHoldCommand.self, ParityCommand.self, DoctorCommand.self,
            DevCommand.self,
        ]
    )
}
