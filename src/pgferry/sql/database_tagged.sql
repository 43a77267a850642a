-- Databases pgferry made (backups and databases a swap replaced): their
-- comment is a JSON object starting with the key "pgferry".
SELECT d.datname,
       pg_catalog.shobj_description(d.oid, 'pg_database') AS meta,
       pg_catalog.pg_database_size(d.oid) AS size
FROM pg_catalog.pg_database d
WHERE pg_catalog.starts_with(
        coalesce(pg_catalog.shobj_description(d.oid, 'pg_database'), ''), '{"pgferry"')
ORDER BY d.datname
