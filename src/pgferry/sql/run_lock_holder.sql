-- The session holding a pgferry run lock (an advisory lock on a 64-bit key, seen in
-- pg_locks as classid = its high 32 bits, objid = its low 32 bits, objsubid = 1).
-- Parameters: the key's high and low halves (unsigned).
SELECT a.pid,
       coalesce(a.usename, '') AS usename,
       coalesce(a.application_name, '') AS application_name,
       a.backend_start
FROM pg_catalog.pg_locks l
JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory'
  AND l.granted
  AND l.classid = %s::bigint::oid
  AND l.objid = %s::bigint::oid
  AND l.objsubid = 1
  AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
LIMIT 1
