-- Every large object of the database, by OID (readable by any role: it is
-- the metadata, not the data).
SELECT oid FROM pg_catalog.pg_largeobject_metadata ORDER BY oid
