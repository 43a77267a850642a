-- On-disk sizes of the tables to copy: their data (what travels) and with
-- their indexes (what QA holds afterwards).  Unlike the planner's estimates,
-- these need no ANALYZE.
-- Parameters: schemas, names (text arrays of equal length).
SELECT coalesce(sum(pg_catalog.pg_table_size(c.oid)), 0)::bigint AS data_bytes,
       coalesce(sum(pg_catalog.pg_total_relation_size(c.oid)), 0)::bigint AS total_bytes
FROM unnest(%s::text[], %s::text[]) AS t(schema_name, table_name)
JOIN pg_catalog.pg_namespace n ON n.nspname = t.schema_name
JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = t.table_name
