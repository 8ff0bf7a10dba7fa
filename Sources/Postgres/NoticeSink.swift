import CLibPQ
import Logging

/// Where a connection's NOTICEs and WARNINGs go: the job's logger, as structured events.
///
/// libpq's default prints them raw on stderr ("NOTICE:  relation … already exists"), which
/// breaks the JSON log lines systemd and Kubernetes ship, and may carry data a trigger put in a
/// message. Here a WARNING is logged at warning level and anything milder at debug, as
/// `postgres_notice` with its severity and SQLSTATE; the message text only at debug level,
/// since a platform function's `RAISE NOTICE` can quote row values.
final class NoticeSink: Sendable {
    let logger: Logger

    init(logger: Logger) { self.logger = logger }

    /// Installs the sink on `conn`; the returned reference must outlive the connection.
    static func install(on conn: OpaquePointer, logger: Logger) -> Unmanaged<NoticeSink> {
        let sink = Unmanaged.passRetained(NoticeSink(logger: logger))
        _ = PQsetNoticeReceiver(
            conn,
            { context, result in
                guard let context, let result else { return }
                Unmanaged<NoticeSink>.fromOpaque(context).takeUnretainedValue().receive(result)
            }, sink.toOpaque())
        return sink
    }

    func receive(_ result: OpaquePointer) {
        func field(_ code: Int32) -> String { PQresultErrorField(result, code).map { String(cString: $0) } ?? "" }
        let severity = field(samia_pg_diag_severity_nonlocalized())
        let metadata: Logger.Metadata = [
            "event": "postgres_notice", "severity": "\(severity)", "sqlstate": "\(field(samia_pg_diag_sqlstate()))",
        ]
        if severity == "WARNING" {
            logger.warning("PostgreSQL warning", metadata: metadata)
        }
        logger.debug(
            "PostgreSQL \(severity.lowercased())",
            metadata: metadata.merging(["message": "\(field(samia_pg_diag_message_primary()))"]) { $1 })
    }
}
