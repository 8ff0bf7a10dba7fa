import Postgres
import Reports

/// The validation and insert statements for one settlement layout, over the staging table's
/// positional text columns (`c1`, `c2`, ... in header order).
///
/// `$1` and `$2` are the known currencies' codes and exponents (from `Currency`), so the checks
/// and the conversion to minor units use the same table as invoicing. Every value the statements
/// need (column names, header, categories, the file id) is a bound parameter: `firstProblem`
/// runs with `firstProblemParameters`, `ready` with `readyParameters(fileID:)`, then `conflict` and
/// `insert` (which read `settlement_ready`; `conflict` takes `currencyParameters`).
struct SettlementSQL {
    let report: SettlementReport
    let column: [String: String]
    let header: [String]

    static let number = #"'^-?[0-9]+(\.[0-9]+)?$'"#
    static let timestamp =
        #"'^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?(Z|[+-]00(:?00)?)?$'"#
    static let known = """
        known AS (SELECT code, exp FROM unnest($1::text[], $2::integer[]) AS x(code, exp))
        """

    private func c(_ name: String) -> String { "s." + column[name]! }
    /// The known currencies, as `$1` (codes) and `$2` (exponents).
    static var currencyParameters: [any PostgresEncodable] {
        let known = Currency.exponents.sorted { $0.key < $1.key }
        return [PostgresArray(known.map(\.key)), PostgresArray(known.map(\.value))]
    }

    /// `$3` names each check's column, by its position (`ord`); `$4` the Stripe categories.
    var firstProblemParameters: [any PostgresEncodable] {
        Self.currencyParameters + [PostgresArray(checks.map(\.name)), PostgresArray(SettlementReport.stripeCategories)]
    }

    /// `$3` is the file id, `$4` the header (the keys of each line's `raw`).
    func readyParameters(fileID: Int64) -> [any PostgresEncodable] {
        Self.currencyParameters + [fileID, PostgresArray(header)]
    }

    /// The first bad cell: its row, column and problem (`row_no`, `col`, `problem`).
    var firstProblem: String {
        "WITH \(Self.known), categories AS (SELECT unnest($4::text[]) AS category)\n"
            + "SELECT row_no, ($3::text[])[ord + 1] AS col, problem FROM (\n"
            + checks.map(\.sql).joined(separator: "\nUNION ALL\n") + "\n) v ORDER BY row_no, ord LIMIT 1"
    }

    /// The columns checked, in this order, each with its SQL returning row_no, problem, ord.
    private var checks: [(name: String, sql: String)] {
        var checks: [(name: String, sql: String)] = []
        func add(_ name: String, _ condition: String, _ problem: String, join: String = "") {
            checks.append(
                (
                    name,
                    "SELECT s.row_no, \(problem) AS problem, \(checks.count) AS ord FROM settlement_stage s \(join) WHERE \(condition)"
                ))
        }
        func required(_ name: String) { add(name, "coalesce(\(c(name)), '') = ''", "'is empty'") }
        func number(_ name: String, optional: Bool = false) {
            let guardEmpty = optional ? "coalesce(\(c(name)), '') <> '' AND " : ""
            add(
                name, guardEmpty + "coalesce(\(c(name)), '') !~ \(Self.number)",
                "'is not a number: ' || left(coalesce(\(c(name)), ''), 40)")
        }
        func currency(_ name: String, optional: Bool = false) {
            let guardEmpty = optional ? "coalesce(\(c(name)), '') <> '' AND " : ""
            add(
                name, guardEmpty + "upper(coalesce(\(c(name)), '')) NOT IN (SELECT code FROM known)",
                "'is not a currency this service knows: ' || left(coalesce(\(c(name)), ''), 10)")
        }
        func fits(_ amount: String, _ currency: String) {
            let value = "\(c(amount))::numeric * power(10::numeric, k.exp)"
            add(
                amount, "\(c(amount)) ~ \(Self.number) AND \(value) <> trunc(\(value))",
                "\(c(amount)) || ' has more decimals than ' || k.code || ' has (' || k.exp || '); its minor units do not fit'",
                join: "JOIN known k ON k.code = upper(\(c(currency)))")
            add(
                amount, "\(c(amount)) ~ \(Self.number) AND abs(\(value)) >= 1e15",
                "\(c(amount)) || ' ' || k.code || ' is too large'",
                join: "JOIN known k ON k.code = upper(\(c(currency)))")
        }
        func timestamp(_ name: String, optional: Bool = false) {
            let guardEmpty = optional ? "coalesce(\(c(name)), '') <> '' AND " : ""
            add(
                name, guardEmpty + "coalesce(\(c(name)), '') !~ \(Self.timestamp)",
                "'is not a date and time (YYYY-MM-DD HH:MM:SS, UTC): ' || left(coalesce(\(c(name)), ''), 30)")
        }
        switch report {
        case .stripeBalanceChange, .stripePayoutReconciliation:
            required("balance_transaction_id")
            timestamp("created_utc")
            timestamp("available_on_utc", optional: true)
            currency("currency")
            for name in ["gross", "fee", "net"] { number(name) }
            number("customer_facing_amount", optional: true)
            currency("customer_facing_currency", optional: true)
            for name in ["gross", "fee", "net"] { fits(name, "currency") }
            fits("customer_facing_amount", "customer_facing_currency")
            add(
                "reporting_category",
                "lower(coalesce(\(c("reporting_category")), '')) NOT IN (SELECT category FROM categories)",
                "'is not a Stripe reporting category: ' || left(coalesce(\(c("reporting_category")), ''), 40)")
        case .checkoutFinancialActions:
            for name in ["Action ID", "Action Type", "Breakdown Type"] { required(name) }
            timestamp("Processed On")
            currency("Holding Currency")
            number("Holding Currency Amount")
            currency("Processing Currency", optional: true)
            number("Processing Currency Amount", optional: true)
            fits("Holding Currency Amount", "Holding Currency")
            fits("Processing Currency Amount", "Processing Currency")
        }
        return checks
    }

    /// The staged rows as `settlement_lines` will hold them, in `settlement_ready` (`$3` is the
    /// file id, `$4` the header), so the checks against each other and against lines imported
    /// before compare the same figures the insert keeps.
    var ready: String {
        func minor(_ amount: String, _ exp: String) -> String {
            "(\(c(amount))::numeric * power(10::numeric, \(exp)))::bigint"
        }
        func optional(_ name: String) -> String { "nullif(\(c(name)), '')" }
        let raw =
            "jsonb_object($4::text[], ARRAY[\((1...header.count).map { "s.c\($0)" }.joined(separator: ", "))]::text[])"
        let values: String
        let joins: String
        switch report {
        case .stripeBalanceChange, .stripePayoutReconciliation:
            let payout = report == .stripePayoutReconciliation ? optional("automatic_payout_id") : "NULL"
            values = """
                'stripe', s.row_no + 1, \(c("balance_transaction_id")), (\(c("created_utc")))::timestamp AT TIME ZONE 'UTC',
                \(optional("available_on_utc"))::timestamp::date, lower(\(c("reporting_category"))), upper(\(c("currency"))),
                \(minor("gross", "k.exp")), \(minor("fee", "k.exp")), \(minor("net", "k.exp")),
                upper(\(optional("customer_facing_currency"))),
                CASE WHEN \(optional("customer_facing_amount")) IS NOT NULL AND kp.exp IS NOT NULL
                     THEN \(minor("customer_facing_amount", "kp.exp")) END,
                \(optional("source_id")), \(optional("charge_id")), \(optional("payment_intent_id")), \(payout),
                \(optional("description"))
                """
            joins = """
                JOIN known k ON k.code = upper(\(c("currency")))
                LEFT JOIN known kp ON kp.code = upper(\(optional("customer_facing_currency")))
                """
        case .checkoutFinancialActions:
            let holding = minor("Holding Currency Amount", "k.exp")
            let breakdown = "lower(\(c("Breakdown Type")))"
            values = """
                'checkout', s.row_no + 1, \(c("Action ID")) || ':' || \(c("Breakdown Type")),
                (\(c("Processed On")))::timestamp AT TIME ZONE 'UTC', NULL::date, lower(\(c("Action Type"))),
                upper(\(c("Holding Currency"))),
                CASE WHEN \(breakdown) = 'gross' THEN \(holding) ELSE 0 END,
                CASE WHEN \(breakdown) LIKE '%fee%' THEN \(holding) ELSE 0 END, \(holding),
                upper(\(optional("Processing Currency"))),
                CASE WHEN \(optional("Processing Currency Amount")) IS NOT NULL AND kp.exp IS NOT NULL
                     THEN \(minor("Processing Currency Amount", "kp.exp")) END,
                \(optional("Payment ID")), NULL, NULL, \(optional("Payout ID")), NULL
                """
            joins = """
                JOIN known k ON k.code = upper(\(c("Holding Currency")))
                LEFT JOIN known kp ON kp.code = upper(\(optional("Processing Currency")))
                """
        }
        return """
            CREATE TEMP TABLE settlement_ready ON COMMIT DROP AS
            WITH \(Self.known)
            SELECT $3::bigint AS file_id, x.*, \(raw) AS raw
              FROM settlement_stage s
              \(joins)
              CROSS JOIN LATERAL (SELECT \(values)) AS x(provider, line_no, line_key, created_at, available_on, category,
                   currency, gross_minor, fee_minor, net_minor, presentment_currency, presentment_minor, source_id,
                   charge_id, payment_intent_id, payout_id, description)
            """
    }

    /// A line the file repeats, or a line imported before whose figures the file changes: its
    /// line, the other line (this file's or the earlier file's, named) and both sets of
    /// figures (`line_no`, `problem`). One row, the first; none when the file is consistent.
    /// The keys are compared by hash aggregation and one join; the figures are spelt out only
    /// for the rows reported, so a million-line file pays for two passes, not for formatting.
    static let conflict = """
        WITH \(known), repeated AS (
          SELECT provider, line_key FROM settlement_ready GROUP BY provider, line_key HAVING count(*) > 1
        ), pair AS (
          -- Each repeated key's second line beside its first. (A correlated subquery here was
          -- estimated at 133 million, and PostgreSQL spent 1.1 s compiling it with JIT.)
          SELECT provider, line_key, first_line, line_no
            FROM (SELECT r.provider, r.line_key, r.line_no, min(r.line_no) OVER w AS first_line, row_number() OVER w AS n
                    FROM settlement_ready r JOIN repeated USING (provider, line_key)
                  WINDOW w AS (PARTITION BY r.provider, r.line_key ORDER BY r.line_no)) x
           WHERE n = 2 ORDER BY line_no LIMIT 1
        ), changed AS (
          SELECT r.line_no, l.id AS earlier_id
            FROM settlement_ready r
            JOIN public.settlement_lines l ON l.provider = r.provider AND l.line_key = r.line_key
           WHERE (l.category, l.currency::text, l.gross_minor, l.fee_minor, l.net_minor)
                 IS DISTINCT FROM (r.category, r.currency, r.gross_minor, r.fee_minor, r.net_minor)
           ORDER BY r.line_no LIMIT 1
        ), figures AS (
          SELECT r.line_no, r.line_key,
                 r.category || ' ' || r.currency || ' gross ' || round(r.gross_minor / power(10::numeric, k.exp), k.exp)
                   || ', fee ' || round(r.fee_minor / power(10::numeric, k.exp), k.exp)
                   || ', net ' || round(r.net_minor / power(10::numeric, k.exp), k.exp) AS text
            FROM settlement_ready r JOIN known k ON k.code = r.currency
           WHERE r.line_no IN (SELECT first_line FROM pair UNION ALL SELECT line_no FROM pair
                               UNION ALL SELECT line_no FROM changed)
        ), earlier AS (
          SELECT l.line_no, f.file_name,
                 l.category || ' ' || l.currency || ' gross ' || round(l.gross_minor / power(10::numeric, k.exp), k.exp)
                   || ', fee ' || round(l.fee_minor / power(10::numeric, k.exp), k.exp)
                   || ', net ' || round(l.net_minor / power(10::numeric, k.exp), k.exp) AS text
            FROM changed c
            JOIN public.settlement_lines l ON l.id = c.earlier_id
            JOIN public.settlement_files f ON f.id = l.file_id
            JOIN known k ON k.code = l.currency
        )
        SELECT line_no, problem FROM (
          SELECT p.line_no, 'repeats ' || p.line_key || ' of line ' || p.first_line || ' (line ' || p.first_line || ': '
                 || a.text || '; line ' || p.line_no || ': ' || b.text || '); a report lists each line once' AS problem
            FROM pair p
            JOIN figures a ON a.line_no = p.first_line
            JOIN figures b ON b.line_no = p.line_no
          UNION ALL
          SELECT c.line_no, s.line_key || ' was imported from ' || e.file_name || ' line ' || e.line_no || ' as '
                 || e.text || '; this file says ' || s.text
                 || '. A changed line is never applied silently: ask the provider which is right'
            FROM changed c CROSS JOIN earlier e JOIN figures s ON s.line_no = c.line_no
        ) c ORDER BY line_no LIMIT 1
        """

    /// Inserts the ready rows and returns how many were new (one row, `inserted`). A known line
    /// (same figures, `conflict` found nothing) only gains its payout id from a payout report.
    static let insert = """
        WITH written AS (
        INSERT INTO public.settlement_lines (file_id, provider, line_no, line_key, created_at, available_on, category,
               currency, gross_minor, fee_minor, net_minor, presentment_currency, presentment_minor, source_id,
               charge_id, payment_intent_id, payout_id, description, raw)
        SELECT file_id, provider, line_no, line_key, created_at, available_on, category, currency, gross_minor, fee_minor,
               net_minor, presentment_currency, presentment_minor, source_id, charge_id, payment_intent_id, payout_id,
               description, raw
          FROM settlement_ready
         ORDER BY line_no
        ON CONFLICT (provider, line_key) DO UPDATE SET payout_id = EXCLUDED.payout_id, payout_file_id = EXCLUDED.file_id
         WHERE settlement_lines.payout_id IS NULL AND EXCLUDED.payout_id IS NOT NULL
        RETURNING (xmax = 0) AS inserted
        )
        SELECT count(*) FILTER (WHERE inserted)::bigint AS inserted FROM written
        """
}
