-- Every column a sequence feeds, from the catalog, never from names:
--   owned:      ALTER SEQUENCE ... OWNED BY (serial columns), pg_depend 'a'
--   identity:   GENERATED ... AS IDENTITY, pg_depend 'i'
--   default:    DEFAULT nextval('seq'), owned or not, any schema
--   expression: a default that calls nextval() inside a larger expression
-- One row per (sequence, column, way); a serial column appears as both
-- 'owned' and 'default'.
SELECT d.objid AS sequence_oid,
       d.refobjid AS table_oid,
       a.attname AS column_name,
       CASE d.deptype WHEN 'i' THEN 'identity' ELSE 'owned' END AS how,
       NULL::text AS default_expr
FROM pg_catalog.pg_depend d
JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S'
JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
WHERE d.classid = 'pg_catalog.pg_class'::regclass
  AND d.refclassid = 'pg_catalog.pg_class'::regclass
  AND d.refobjsubid > 0
  AND d.deptype IN ('a', 'i')
UNION ALL
SELECT d.refobjid AS sequence_oid,
       ad.adrelid AS table_oid,
       a.attname AS column_name,
       CASE WHEN pg_catalog.pg_get_expr(ad.adbin, ad.adrelid)
                 = format('nextval(%L::regclass)', d.refobjid::regclass)
            THEN 'default' ELSE 'expression' END AS how,
       pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) AS default_expr
FROM pg_catalog.pg_depend d
JOIN pg_catalog.pg_attrdef ad ON ad.oid = d.objid
JOIN pg_catalog.pg_class s ON s.oid = d.refobjid AND s.relkind = 'S'
JOIN pg_catalog.pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
WHERE d.classid = 'pg_catalog.pg_attrdef'::regclass
  AND d.refclassid = 'pg_catalog.pg_class'::regclass
  AND NOT a.attisdropped
ORDER BY 1, 2, 3
