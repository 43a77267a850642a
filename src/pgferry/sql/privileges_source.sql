-- Tables and sequences production's role may not read: the tables to copy
-- without SELECT, and the sequences of their schemas without SELECT (their
-- positions are read so QA's never fall behind).
-- Parameters: schemas, names (text arrays: the tables), the schemas again.
SELECT 'table' AS kind, t.schema_name, t.table_name
FROM unnest(%s::text[], %s::text[]) AS t(schema_name, table_name)
JOIN pg_catalog.pg_namespace n ON n.nspname = t.schema_name
JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = t.table_name
WHERE NOT pg_catalog.has_table_privilege(c.oid, 'SELECT')
UNION ALL
SELECT 'sequence', n.nspname, c.relname
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'S'
  AND n.nspname = ANY (%s::text[])
  AND CASE WHEN c.relkind = 'S'  -- the check runs on sequences only
           THEN NOT pg_catalog.has_sequence_privilege(c.oid, 'SELECT') END
ORDER BY 1, 2, 3
