-- Columns of every user relation, in column order.  base_type_*: for a column
-- whose type is a domain, the domain's base type; otherwise the type itself.
SELECT a.attrelid AS table_oid,
       a.attnum AS position,
       a.attname AS name,
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
       tn.nspname AS type_schema,
       t.typname AS type_name,
       t.typtype::text AS type_kind,
       coalesce(btn.nspname, tn.nspname) AS base_type_schema,
       coalesce(bt.typname, t.typname) AS base_type_name,
       a.attnotnull AS not_null,
       pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) AS default_expr,
       a.attgenerated::text AS generated,
       a.attidentity::text AS identity,
       a.attinhcount > 0 AS inherited,
       -- a collation other than the type's own, as COLLATE names it
       CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation THEN
           (SELECT pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname)
              FROM pg_catalog.pg_collation co
              JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
             WHERE co.oid = a.attcollation)
       END AS collation
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace
LEFT JOIN pg_catalog.pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
LEFT JOIN pg_catalog.pg_namespace btn ON btn.oid = bt.typnamespace
LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND a.attnum > 0
  AND NOT a.attisdropped
  AND n.nspname <> 'information_schema'
  AND n.nspname !~ '^pg_(catalog|toast|temp_|toast_temp_)'
ORDER BY a.attrelid, a.attnum
