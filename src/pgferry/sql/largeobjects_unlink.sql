-- Removes a batch of large objects; the parameter is the batch size.  Run one
-- batch per transaction: each removal takes a lock, and one transaction over
-- millions of objects runs out of lock slots.
SELECT count(pg_catalog.lo_unlink(oid))
FROM (SELECT oid FROM pg_catalog.pg_largeobject_metadata ORDER BY oid LIMIT %s) AS batch
