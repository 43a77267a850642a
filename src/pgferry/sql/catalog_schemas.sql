-- User schemas: everything but the system's own.
SELECT n.nspname AS name,
       e.extname AS extension
FROM pg_catalog.pg_namespace n
LEFT JOIN pg_catalog.pg_depend d
       ON d.classid = 'pg_catalog.pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e'
LEFT JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
WHERE n.nspname <> 'information_schema'
  AND n.nspname !~ '^pg_(catalog|toast|temp_|toast_temp_)'
ORDER BY 1
