-- What QA's role may do to the tables a refresh empties and loads: TRUNCATE,
-- INSERT, and (when a table has foreign keys or triggers to set aside) own it.
-- Parameters: schemas, names (text arrays of equal length).
SELECT t.schema_name,
       t.table_name,
       pg_catalog.has_table_privilege(c.oid, 'TRUNCATE') AS may_truncate,
       pg_catalog.has_table_privilege(c.oid, 'INSERT') AS may_insert,
       pg_catalog.pg_has_role(c.relowner, 'USAGE') AS owns,
       EXISTS (SELECT FROM pg_catalog.pg_constraint k
               WHERE k.contype = 'f' AND (k.conrelid = c.oid OR k.confrelid = c.oid))
       OR EXISTS (SELECT FROM pg_catalog.pg_trigger g
                  WHERE g.tgrelid = c.oid AND NOT g.tgisinternal) AS sets_aside
FROM unnest(%s::text[], %s::text[]) AS t(schema_name, table_name)
JOIN pg_catalog.pg_namespace n ON n.nspname = t.schema_name
JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = t.table_name
ORDER BY 1, 2
