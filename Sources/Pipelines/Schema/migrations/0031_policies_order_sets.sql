-- The policies of the tables hanging off orders (calls, payment_intents, invoices, refunds,
-- credit_notes, assist_drafts) asked private.owns_order(order_id) or
-- private.is_assigned_reader(order_id) for every row: a SECURITY DEFINER function and an index
-- probe into orders per row (57 ms for a client's read of payment_intents on the scale-1 demo).
-- Now each asks once per statement for the set of the caller's orders, and the rows are matched
-- against it by a hashed sub-plan (1.9 ms, the same 14 rows). The answer of every policy is
-- unchanged: a row is the caller's when its order is (issue 37, point 6).
CREATE OR REPLACE FUNCTION private.own_order_ids() RETURNS SETOF bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = '' AS $$
  SELECT o.id FROM public.orders o WHERE o.user_id = auth.uid()
$$;
CREATE OR REPLACE FUNCTION private.assigned_order_ids() RETURNS SETOF bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = '' AS $$
  SELECT o.id FROM public.orders o WHERE o.assigned_reader = auth.uid()
$$;
REVOKE ALL ON FUNCTION private.own_order_ids(), private.assigned_order_ids() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION private.own_order_ids(), private.assigned_order_ids() TO anon, authenticated, service_role;

SELECT private.samia_rewrite_policies('private\.owns_order\(([a-z_]+)\)', '(\1 IN ( SELECT private.own_order_ids()))');
SELECT private.samia_rewrite_policies(
  'private\.is_assigned_reader\(([a-z_]+)\)', '(\1 IN ( SELECT private.assigned_order_ids()))');
