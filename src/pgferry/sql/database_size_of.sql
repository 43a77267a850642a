-- A database's size on disk, by name (it walks the database's files: read only
-- where it decides something, such as how to copy it).
SELECT pg_catalog.pg_database_size(%s)
