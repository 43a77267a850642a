-- User triggers (not the ones PostgreSQL makes for foreign keys).
-- enabled: O = fires (origin), D = disabled, R = replica only, A = always.
-- Triggers cloned onto partitions are listed on each partition, as they exist;
-- is_clone marks them (tgparentid, PostgreSQL 13+, read through jsonb so that
-- the query also runs on 12).
SELECT t.tgrelid AS table_oid,
       t.tgname AS name,
       t.tgenabled::text AS enabled,
       pg_catalog.pg_get_triggerdef(t.oid, true) AS definition,
       coalesce((pg_catalog.to_jsonb(t) ->> 'tgparentid')::oid <> 0, false) AS is_clone
FROM pg_catalog.pg_trigger t
JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE NOT t.tgisinternal
  AND n.nspname <> 'information_schema'
  AND n.nspname !~ '^pg_(catalog|toast|temp_|toast_temp_)'
ORDER BY t.tgrelid, t.tgname
