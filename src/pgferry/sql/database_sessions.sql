-- Sessions connected to a database other than this one, with how long their
-- transaction has been open (NULL when none is).
-- Parameter: the database's name.
SELECT a.pid,
       coalesce(a.usename, '') AS usename,
       coalesce(a.application_name, '') AS application_name,
       coalesce(a.state, '') AS state,
       extract(epoch FROM pg_catalog.now() - a.xact_start)::float8 AS xact_seconds
FROM pg_catalog.pg_stat_activity a
WHERE a.datname = %s
  AND a.pid <> pg_catalog.pg_backend_pid()
  AND a.backend_type = 'client backend'
ORDER BY a.pid
