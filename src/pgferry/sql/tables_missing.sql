-- Of the tables given as parallel arrays (schemas, names), those that do not exist.
SELECT t.schema_name, t.table_name
FROM unnest(%s::text[], %s::text[]) AS t(schema_name, table_name)
WHERE NOT EXISTS (
    SELECT FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = t.schema_name AND c.relname = t.table_name
)
