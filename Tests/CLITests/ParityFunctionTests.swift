import Foundation
import Postgres
import TestSupport
import Testing

/// Issue 37, point 4: every function PostgREST would expose as `/rpc/NAME` is a row of the
/// matrix, probed per role by planning a call as that role; SECURITY DEFINER functions are
/// linted with their owner, search_path and grantees.
extension ParityTests {
    @Test func exposedFunctionsAreRowsOfTheMatrix() throws {
        _ = try psql(
            """
            CREATE FUNCTION public.refund_order(order_id bigint) RETURNS bigint LANGUAGE sql STRICT SECURITY DEFINER
              SET search_path = '' AS 'SELECT count(*) FROM public.orders o WHERE o.id = order_id';
            REVOKE ALL ON FUNCTION public.refund_order(bigint) FROM PUBLIC;
            GRANT EXECUTE ON FUNCTION public.refund_order(bigint) TO authenticated;
            CREATE FUNCTION public.lookup_email(e text) RETURNS uuid LANGUAGE sql SECURITY DEFINER
              AS 'SELECT id FROM public.profiles WHERE email = e';
            """)
        // Undeclared: both fail their cells, whatever the grants say.
        #expect(try parity().status == 1)
        var r = try report()
        #expect(cell(r, "anon", "refund_order(bigint)", "execute")["verdict"] as? String == "fail")
        #expect((cell(r, "anon", "refund_order(bigint)", "execute")["reason"] as? String ?? "").contains("undeclared"))

        // Declared: admins may refund, nobody may look up e-mails.
        let declared = try matrixVariant(
            "functions:\n", "functions:\n  refund_order(bigint): [admin, superadmin]\n  lookup_email(text): []\n")
        let run = try CLI.run(["parity", "--out", dir + "/report"], database: config, env: declared)
        #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
        r = try report()
        func verdict(_ role: String, _ f: String) -> String {
            cell(r, role, f, "execute")["verdict"] as? String ?? "?"
        }
        #expect(verdict("anon", "refund_order(bigint)") == "pass", "no EXECUTE for anon, as declared")
        #expect(verdict("admin", "refund_order(bigint)") == "pass")
        let probe = cell(r, "admin", "refund_order(bigint)", "execute")["probe"] as! [String: Any]
        #expect(probe["outcome"] as? String == "executable")
        #expect((probe["sql"] as? String ?? "").contains("EXPLAIN"), "the evidence is the call the role planned")
        #expect(verdict("client", "refund_order(bigint)") == "fail", "EXECUTE went to authenticated: clients too")
        #expect(verdict("anon", "lookup_email(text)") == "fail", "EXECUTE through PUBLIC")
        #expect(
            findings(r, "security_definer_function_exposed").sorted() == ["lookup_email(text)", "refund_order(bigint)"])
        #expect(findings(r, "security_definer_function_public_execute") == ["lookup_email(text)"])
        let mutable = (r["findings"] as! [[String: Any]]).filter {
            $0["code"] as? String == "security_definer_function_mutable_search_path"
        }
        #expect(mutable.count == 1 && mutable[0]["relation"] as? String == "lookup_email(text)")
        #expect(mutable.first?["severity"] as? String == "critical", "its owner is a superuser")
        let evidence = (mutable.first?["evidence"] as? [String] ?? []).joined(separator: "\n")
        #expect(evidence.contains("owner: postgres") && evidence.contains("EXECUTE granted to: PUBLIC"), "\(evidence)")
        #expect(run.stdout.contains("FAIL client × refund_order(bigint) × execute"), "\(run.stdout)")

        // A live exception accepts a failing function cell like any other.
        try """
        exceptions:
          - { role: client, table: refund_order(bigint), command: execute, owner: payments,
              justification: "the refund screen checks the role", approved_by: dpo, expires: "2999-12-31" }
        """.write(toFile: dir + "/exceptions.yaml", atomically: true, encoding: .utf8)
        _ = try CLI.run(["parity", "--out", dir + "/report"], database: config, env: declared)
        r = try report()
        #expect(verdict("client", "refund_order(bigint)") == "exception")
    }

    @Test func functionDeclarationsAreCheckedBeforeAnyProbe() throws {
        let missing = try matrixVariant("functions:\n", "functions:\n  refund_everything(integer): [admin]\n")
        let gone = try CLI.run(["parity", "--out", dir + "/report"], database: config, env: missing)
        #expect(gone.status == 65, "\(gone.stderr)")
        #expect(gone.stderr.contains("functions.refund_everything(integer)") && gone.stderr.contains("(line "))
        #expect(gone.stderr.contains("zodiac_for(date)"), "the message lists what the API does expose")
        #expect(!FileManager.default.fileExists(atPath: dir + "/report"))

        let typo = try matrixVariant("zodiac_for(date): [anon,", "zodiac_for(date): [anonymous,")
        let refused = try CLI.run(["parity", "--out", dir + "/report"], database: config, env: typo)
        #expect(
            refused.status == 65 && refused.stderr.contains("\"anonymous\" is not a declared role"), "\(refused.stderr)"
        )

        let bare = try matrixVariant("zodiac_for(date): [", "zodiac_for: [")
        let unnamed = try CLI.run(["parity", "--out", dir + "/report"], database: config, env: bare)
        #expect(unnamed.status == 65 && unnamed.stderr.contains("argument types"), "\(unnamed.stderr)")
        #expect(try psql("SELECT count(*) FROM audit_log WHERE event = 'parity_report_ready'") == "0")
    }
}
