-- Sessions holding a lock on a relation of this database, other than this one:
-- who stands in the way of a DDL statement that timed out waiting (pg_locks is
-- readable by every role; another role's state and times may be hidden, NULL).
-- An index's lock is reported as its table's.
SELECT DISTINCT a.pid,
       coalesce(a.usename, '') AS usename,
       coalesce(a.application_name, '') AS application_name,
       coalesce(a.state, '') AS state,
       a.xact_start,
       tn.nspname AS schema_name,
       t.relname AS table_name
FROM pg_catalog.pg_locks l
JOIN pg_catalog.pg_class c ON c.oid = l.relation
LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid
JOIN pg_catalog.pg_class t ON t.oid = coalesce(i.indrelid, c.oid)
JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
WHERE l.granted
  AND l.locktype = 'relation'
  AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
  AND l.pid <> pg_catalog.pg_backend_pid()
  AND tn.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY a.pid, 6, 7
