import Testing

@testable import Parity

/// The lint behind migration 0030 (issue 37, point 6): a policy that calls a function whose
/// arguments are constants runs it for every row; wrapped as a sub-select it runs once.
@Suite struct PolicyCallLintTests {
    @Test func callsWithConstantArgumentsOutsideASubSelectAreFound() {
        let bare = "(is_active OR private.has_role(VARIADIC ARRAY['admin'::text, 'superadmin'::text]))"
        #expect(
            CatalogLints.rowIndependentCalls(bare) == [
                "private.has_role(VARIADIC ARRAY['admin'::text, 'superadmin'::text])"
            ])
        #expect(CatalogLints.rowIndependentCalls("(private.role_code() = 'admin'::text)") == ["private.role_code()"])
        // Already once per statement, as PostgreSQL deparses the sub-select.
        let wrapped = "(is_active OR ( SELECT private.has_role(VARIADIC ARRAY['admin'::text]) AS has_role))"
        #expect(CatalogLints.rowIndependentCalls(wrapped).isEmpty)
        // Reads the row: it has to run per row.
        #expect(CatalogLints.rowIndependentCalls("private.owns_order(order_id)").isEmpty)
        #expect(CatalogLints.rowIndependentCalls("private.is_assigned_reader(t.order_id)").isEmpty)
        // auth.uid() has its own lint.
        #expect(CatalogLints.rowIndependentCalls("(user_id = auth.uid())").isEmpty)
        // A parenthesis inside a literal does not end the call early.
        #expect(CatalogLints.rowIndependentCalls("private.has_role('a)b'::text)") == ["private.has_role('a)b'::text)"])
    }
}
