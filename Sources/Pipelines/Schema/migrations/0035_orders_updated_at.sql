-- Issue 39, point 1: orders are a late-data source of the metrics job (engagement, by the day an
-- order was placed): each night looks for orders changed since its watermark by `updated_at`,
-- and its high water is max(updated_at). Both read this index rather than the whole table.
CREATE INDEX IF NOT EXISTS orders_updated_at_idx ON public.orders (updated_at);
