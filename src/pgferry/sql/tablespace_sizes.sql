-- Every tablespace the role may see, with what it holds now.
SELECT t.spcname,
       pg_catalog.pg_tablespace_location(t.oid) AS location,
       CASE WHEN pg_catalog.has_tablespace_privilege(t.oid, 'CREATE') OR t.spcname = 'pg_default'
            THEN pg_catalog.pg_tablespace_size(t.oid) END AS size
FROM pg_catalog.pg_tablespace t
WHERE t.spcname <> 'pg_global'
ORDER BY 1
