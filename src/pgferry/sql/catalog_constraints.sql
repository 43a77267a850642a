-- Primary, unique, foreign-key, check and exclusion constraints of user tables.
-- Partition clones of a parent's constraint (conparentid <> 0) are left out:
-- the parent's constraint stands for them.  inherited: a check a partition or child
-- holds only because its parent does (not conislocal).
SELECT con.conrelid AS table_oid,
       con.conname AS name,
       con.contype::text AS type,
       coalesce((SELECT array_agg(a.attname ORDER BY k.ord)
                   FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
                   JOIN pg_catalog.pg_attribute a
                     ON a.attrelid = con.conrelid AND a.attnum = k.attnum), '{}') AS columns,
       rn.nspname AS ref_schema,
       rc.relname AS ref_table,
       coalesce((SELECT array_agg(a.attname ORDER BY k.ord)
                   FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
                   JOIN pg_catalog.pg_attribute a
                     ON a.attrelid = con.confrelid AND a.attnum = k.attnum), '{}') AS ref_columns,
       con.condeferrable AS deferrable,
       con.condeferred AS deferred,
       con.convalidated AS validated,
       pg_catalog.pg_get_constraintdef(con.oid, true) AS definition,
       NOT con.conislocal AS inherited
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid
LEFT JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
WHERE con.contype IN ('p', 'u', 'f', 'c', 'x')
  AND con.conparentid = 0
  AND n.nspname <> 'information_schema'
  AND n.nspname !~ '^pg_(catalog|toast|temp_|toast_temp_)'
ORDER BY con.conrelid, con.conname
