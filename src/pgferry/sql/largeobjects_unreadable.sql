-- Opens every large object for reading (zero bytes of each): fails with
-- "permission denied for large object N" on the first one the role may not
-- SELECT.  Run it in a session whose failure costs nothing.
SELECT count(pg_catalog.lo_get(oid, 0, 0)) FROM pg_catalog.pg_largeobject_metadata
