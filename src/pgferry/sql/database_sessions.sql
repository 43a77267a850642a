-- Sessions connected to a database other than this one, with how long their
-- transaction has been open (NULL when none is or when it is hidden).
-- A role that is not a superuser, a member of the session's role or of
-- pg_read_all_stats sees another role's session with backend_type, state and
-- times NULL: such a session still counts (pid, role and application are
-- always shown), with hidden = true.  may_end: whether this role may end it
-- (pg_terminate_backend: a member of its role, or of pg_signal_backend for a
-- session that is not a superuser's).
-- Parameter: the database's name.
SELECT a.pid,
       coalesce(a.usename, '') AS usename,
       coalesce(a.application_name, '') AS application_name,
       coalesce(a.state, '') AS state,
       extract(epoch FROM pg_catalog.now() - a.xact_start)::float8 AS xact_seconds,
       a.backend_type IS NULL AS hidden,
       coalesce(a.usesysid IS NOT NULL
                AND (pg_catalog.pg_has_role(a.usesysid, 'MEMBER')
                     OR (pg_catalog.pg_has_role('pg_signal_backend', 'MEMBER')
                         AND NOT r.rolsuper)
                     OR (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)),
                false) AS may_end,
       coalesce(r.rolsuper, false) AS superuser,
       a.backend_start
FROM pg_catalog.pg_stat_activity a
LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.usesysid
WHERE a.datname = %s
  AND a.pid <> pg_catalog.pg_backend_pid()
  AND (a.backend_type = 'client backend'
       -- hidden from this role: a client session of another role (a background
       -- worker of the server has no role, an autovacuum worker neither)
       OR (a.backend_type IS NULL AND a.usesysid IS NOT NULL))
ORDER BY a.pid
