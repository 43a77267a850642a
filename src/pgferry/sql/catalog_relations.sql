-- Tables, partitioned tables, views, materialized views and foreign tables.
-- view_definition, view_depends: a view's query and the relations it reads.
-- inherits: direct parents in pg_inherits order; for a partition, its parent.
SELECT c.oid,
       n.nspname AS schema,
       c.relname AS name,
       c.relkind::text AS kind,
       c.relpersistence::text AS persistence,
       c.relispartition AS is_partition,
       coalesce((SELECT array_agg(pn.nspname ORDER BY i.inhseqno)
                   FROM pg_catalog.pg_inherits i
                   JOIN pg_catalog.pg_class p ON p.oid = i.inhparent
                   JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace
                  WHERE i.inhrelid = c.oid), '{}') AS parent_schemas,
       coalesce((SELECT array_agg(p.relname ORDER BY i.inhseqno)
                   FROM pg_catalog.pg_inherits i
                   JOIN pg_catalog.pg_class p ON p.oid = i.inhparent
                  WHERE i.inhrelid = c.oid), '{}') AS parent_names,
       CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END AS partition_key,
       CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END
           AS partition_bound,
       c.relrowsecurity AS rls_enabled,
       c.relforcerowsecurity AS rls_forced,
       greatest(c.reltuples, 0)::bigint AS estimated_rows,
       c.relpages::bigint * current_setting('block_size')::bigint AS estimated_bytes,
       e.extname AS extension,
       pg_catalog.has_table_privilege(c.oid, 'SELECT') AS can_select,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid, true) END
           AS view_definition,
       CASE WHEN c.relkind IN ('v', 'm') THEN
           coalesce((SELECT array_agg(DISTINCT d.refobjid)
                       FROM pg_catalog.pg_rewrite r
                       JOIN pg_catalog.pg_depend d
                         ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid
                        AND d.refclassid = 'pg_catalog.pg_class'::regclass
                        AND d.refobjid <> c.oid
                      WHERE r.ev_class = c.oid), '{}')
       END AS view_depends
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_depend d
       ON d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
LEFT JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname <> 'information_schema'
  AND n.nspname !~ '^pg_(catalog|toast|temp_|toast_temp_)'
ORDER BY 2, 3
