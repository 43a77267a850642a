-- Which of these tables row-level security would filter for the current role
-- (owner, superuser and BYPASSRLS roles are not filtered unless FORCE'd):
-- reading them under row_security = off fails, so find them before writing.
-- Parameters: schemas, names (text arrays of equal length).
SELECT t.schema_name, t.table_name
FROM unnest(%s::text[], %s::text[]) AS t(schema_name, table_name)
JOIN pg_catalog.pg_namespace n ON n.nspname = t.schema_name
JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = t.table_name
WHERE c.relrowsecurity AND pg_catalog.row_security_active(c.oid)
ORDER BY 1, 2
