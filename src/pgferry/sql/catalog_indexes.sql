-- Indexes of user tables and materialized views.  constraint_name: the primary
-- key, unique or exclusion constraint the index backs (not a foreign key that
-- merely uses it).  in_partitioned: the index is a partition's share of an
-- index on its partitioned parent.
SELECT i.indrelid AS table_oid,
       ic.relname AS name,
       pg_catalog.pg_get_indexdef(i.indexrelid) AS definition,
       i.indisunique AS is_unique,
       i.indisprimary AS is_primary,
       i.indisvalid AS is_valid,
       ic.relkind = 'I' AS is_partitioned,
       ic.relispartition AS in_partitioned,
       con.conname AS constraint_name
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_class t ON t.oid = i.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
LEFT JOIN pg_catalog.pg_constraint con
       ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
      AND con.contype IN ('p', 'u', 'x')
WHERE t.relkind IN ('r', 'p', 'm')
  AND n.nspname <> 'information_schema'
  AND n.nspname !~ '^pg_(catalog|toast|temp_|toast_temp_)'
ORDER BY i.indrelid, ic.relname
