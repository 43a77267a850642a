-- Sequences with their parameters, the privileges this role holds on them,
-- and the extension they belong to.  The state (last_value, is_called) is
-- read separately: it needs SELECT on each sequence.
SELECT c.oid,
       n.nspname AS schema,
       c.relname AS name,
       pg_catalog.format_type(s.seqtypid, NULL) AS data_type,
       s.seqstart AS start_value,
       s.seqincrement AS increment,
       s.seqmin AS min_value,
       s.seqmax AS max_value,
       s.seqcycle AS cycle,
       s.seqcache AS cache,
       e.extname AS extension,
       pg_catalog.has_sequence_privilege(c.oid, 'SELECT') AS can_select,
       pg_catalog.has_sequence_privilege(c.oid, 'UPDATE') AS can_update,
       pg_catalog.pg_get_userbyid(c.relowner) AS owner
FROM pg_catalog.pg_sequence s
JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_depend d
       ON d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
LEFT JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
WHERE n.nspname <> 'information_schema'
  AND n.nspname !~ '^pg_(catalog|toast|temp_|toast_temp_)'
ORDER BY 2, 3
