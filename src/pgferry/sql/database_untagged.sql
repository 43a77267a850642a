-- Databases named like pgferry's copies of one database but without pgferry's
-- comment: a backup interrupted between CREATE DATABASE and its COMMENT.
-- Parameters: the name prefix (<db>__pgferry_); for a long database name,
-- whose copies are cut and carry a hash of it, the cut's start and the marker
-- _<hash>__pgferry_.
SELECT d.datname, -- NULL where this role may not read it: one database revoked from it
       -- (another QA's backup, say) must not fail the whole list
       CASE WHEN pg_catalog.has_database_privilege(d.oid, 'CONNECT')
                 OR pg_catalog.pg_has_role('pg_read_all_stats', 'MEMBER')
            THEN pg_catalog.pg_database_size(d.oid) END AS size
FROM pg_catalog.pg_database d
WHERE (pg_catalog.starts_with(d.datname, %s)
       OR (pg_catalog.starts_with(d.datname, %s) AND pg_catalog.strpos(d.datname, %s) > 0))
  AND pg_catalog.shobj_description(d.oid, 'pg_database') IS NULL
ORDER BY d.datname
