-- relkind of the relation (schema, name), or no row.
SELECT t.relkind::text
FROM pg_catalog.pg_class t
JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = %s AND t.relname = %s
