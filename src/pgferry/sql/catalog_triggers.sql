-- User triggers (not the ones PostgreSQL makes for foreign keys).
-- enabled: O = fires (origin), D = disabled, R = replica only, A = always.
-- Triggers cloned onto partitions are listed on each partition, as they exist.
SELECT t.tgrelid AS table_oid,
       t.tgname AS name,
       t.tgenabled::text AS enabled,
       pg_catalog.pg_get_triggerdef(t.oid, true) AS definition
FROM pg_catalog.pg_trigger t
JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE NOT t.tgisinternal
  AND n.nspname <> 'information_schema'
  AND n.nspname !~ '^pg_(catalog|toast|temp_|toast_temp_)'
ORDER BY t.tgrelid, t.tgname
