-- Databases pgferry made (backups and databases a swap replaced): their
-- comment is a JSON object starting with the key "pgferry".
SELECT d.datname,
       pg_catalog.shobj_description(d.oid, 'pg_database') AS meta,
       -- NULL where this role may not read it: one database revoked from it
       -- (another QA's backup, say) must not fail the whole list
       CASE WHEN pg_catalog.has_database_privilege(d.oid, 'CONNECT')
                 OR pg_catalog.pg_has_role('pg_read_all_stats', 'MEMBER')
            THEN pg_catalog.pg_database_size(d.oid) END AS size
FROM pg_catalog.pg_database d
WHERE pg_catalog.starts_with(
        coalesce(pg_catalog.shobj_description(d.oid, 'pg_database'), ''), '{"pgferry"')
ORDER BY d.datname
