-- Rows inserted, updated and deleted in the connected database so far, as
-- its sessions have reported them (a busy session reports about every
-- second).  Run pg_stat_clear_snapshot() first inside a transaction.
SELECT coalesce(s.tup_inserted + s.tup_updated + s.tup_deleted, 0)
FROM pg_catalog.pg_stat_database s
WHERE s.datname = pg_catalog.current_database()
