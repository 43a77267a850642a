-- Enum types with their labels in sort order.
SELECT n.nspname AS schema,
       t.typname AS name,
       array_agg(e.enumlabel ORDER BY e.enumsortorder) AS labels,
       x.extname AS extension
FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
JOIN pg_catalog.pg_enum e ON e.enumtypid = t.oid
LEFT JOIN pg_catalog.pg_depend d
       ON d.classid = 'pg_catalog.pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e'
LEFT JOIN pg_catalog.pg_extension x ON x.oid = d.refobjid
GROUP BY n.nspname, t.typname, x.extname
ORDER BY 1, 2
