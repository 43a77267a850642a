-- A database's size on disk, by name; NULL where this role may not read it
-- (a backup with CONNECT revoked can still be copied by its owner): the size
-- only decides how to copy it, and must never fail the copy.
SELECT CASE WHEN pg_catalog.has_database_privilege(d.oid, 'CONNECT')
                 OR pg_catalog.pg_has_role('pg_read_all_stats', 'MEMBER')
            THEN pg_catalog.pg_database_size(d.oid) END
FROM pg_catalog.pg_database d
WHERE d.datname = %s
