-- The connected database's size on disk (it walks the database's files: read
-- only where it is needed, not on every run).
SELECT pg_catalog.pg_database_size(pg_catalog.current_database())
