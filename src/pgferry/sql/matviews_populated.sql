-- Every materialized view of the user schemas and whether it holds data
-- (a view created or refreshed WITH NO DATA has relispopulated = false, and
-- reading it fails until it is refreshed).
SELECT n.nspname AS schema, c.relname AS name, c.relispopulated AS populated
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'm'
  AND n.nspname <> 'information_schema'
  AND n.nspname !~ '^pg_(catalog|toast|temp_|toast_temp_)'
ORDER BY 1, 2
