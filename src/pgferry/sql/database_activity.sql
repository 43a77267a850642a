-- What the connected database shows of its use, to tell production from a QA
-- copy: its client sessions other than pgferry's own (a session of
-- another role counts even where this role sees no more than its pid), and
-- its comment, where pgferry marks a database it has refreshed.
SELECT (SELECT count(*)
        FROM pg_catalog.pg_stat_activity a
        WHERE a.datid = d.oid
          AND a.pid <> pg_catalog.pg_backend_pid()
          AND NOT pg_catalog.starts_with(coalesce(a.application_name, ''), 'pgferry')
          AND (a.backend_type = 'client backend'
               OR (a.backend_type IS NULL AND a.usesysid IS NOT NULL))) AS sessions,
       pg_catalog.shobj_description(d.oid, 'pg_database') AS comment
FROM pg_catalog.pg_database d
WHERE d.datname = pg_catalog.current_database()
