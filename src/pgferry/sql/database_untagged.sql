-- Databases named like pgferry's copies of one database but without pgferry's
-- comment: a backup interrupted between CREATE DATABASE and its COMMENT.
-- Parameter: the name prefix.
SELECT d.datname, pg_catalog.pg_database_size(d.oid) AS size
FROM pg_catalog.pg_database d
WHERE pg_catalog.starts_with(d.datname, %s)
  AND pg_catalog.shobj_description(d.oid, 'pg_database') IS NULL
ORDER BY d.datname
