-- Objects one TRUNCATE of each table locks: the table, each of its indexes, its
-- TOAST table and that table's index; a partitioned table (truncated with its
-- partitions) adds those of every partition.
-- Parameters: schemas, names (text arrays of equal length), and whether each is
-- truncated with its partitions (boolean array).
SELECT t.schema_name, t.table_name, (
    SELECT coalesce(sum(1
               + (SELECT count(*) FROM pg_catalog.pg_index i WHERE i.indrelid = r.oid)
               + CASE WHEN r.reltoastrelid <> 0 THEN 2 ELSE 0 END), 0)::bigint
    FROM pg_catalog.pg_class r
    WHERE r.oid = c.oid
       OR (t.with_partitions
           AND r.oid IN (SELECT p.relid FROM pg_catalog.pg_partition_tree(c.oid) AS p))
) AS locks
FROM unnest(%s::text[], %s::text[], %s::boolean[]) AS t(schema_name, table_name, with_partitions)
JOIN pg_catalog.pg_namespace n ON n.nspname = t.schema_name
JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = t.table_name
