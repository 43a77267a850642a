-- A database's comment (NULL when it has none).  Parameter: the database's name.
SELECT pg_catalog.shobj_description(d.oid, 'pg_database')
FROM pg_catalog.pg_database d
WHERE d.datname = %s
