-- Domains: base type, NOT NULL, default and CHECK constraints.
-- Only contype 'c': from PostgreSQL 17 a domain's NOT NULL is in pg_constraint too
-- (contype 'n'), and typnotnull already says it.
SELECT n.nspname AS schema,
       t.typname AS name,
       pg_catalog.format_type(t.typbasetype, t.typtypmod) AS base_type,
       t.typnotnull AS not_null,
       t.typdefault AS default_expr,
       coalesce((SELECT array_agg(pg_catalog.pg_get_constraintdef(c.oid, true) ORDER BY c.conname)
                   FROM pg_catalog.pg_constraint c
                  WHERE c.contypid = t.oid AND c.contype = 'c'), '{}') AS checks,
       x.extname AS extension
FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_catalog.pg_depend d
       ON d.classid = 'pg_catalog.pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e'
LEFT JOIN pg_catalog.pg_extension x ON x.oid = d.refobjid
WHERE t.typtype = 'd'
  AND n.nspname <> 'information_schema'
  AND n.nspname !~ '^pg_(catalog|toast|temp_|toast_temp_)'
ORDER BY 1, 2
