-- Functions, procedures and aggregates in user schemas, with their complete
-- definitions: pg_get_functiondef's CREATE OR REPLACE statement, or for a plain
-- aggregate a CREATE AGGREGATE written here (NULL for ordered-set ones).
-- Extension members are marked, not left out.
SELECT n.nspname AS schema,
       p.proname AS name,
       pg_catalog.pg_get_function_identity_arguments(p.oid) AS identity_args,
       p.prokind::text AS kind,
       pg_catalog.pg_get_function_result(p.oid) AS result,
       CASE WHEN p.prokind IN ('f', 'p', 'w') THEN pg_catalog.pg_get_functiondef(p.oid)
            WHEN p.prokind = 'a' THEN
                (SELECT format('CREATE AGGREGATE %I.%I(%s) (SFUNC = %s, STYPE = %s%s%s%s%s)',
                               n.nspname, p.proname,
                               pg_catalog.pg_get_function_identity_arguments(p.oid),
                               a.aggtransfn::regproc,
                               pg_catalog.format_type(a.aggtranstype, NULL),
                               CASE WHEN a.aggfinalfn <> 0
                                    THEN ', FINALFUNC = ' || a.aggfinalfn::regproc::text END,
                               CASE WHEN a.aggcombinefn <> 0
                                    THEN ', COMBINEFUNC = ' || a.aggcombinefn::regproc::text END,
                               CASE WHEN a.agginitval IS NOT NULL
                                    THEN ', INITCOND = ' || quote_literal(a.agginitval) END,
                               CASE p.proparallel WHEN 's' THEN ', PARALLEL = SAFE'
                                                  WHEN 'r' THEN ', PARALLEL = RESTRICTED' END)
                   FROM pg_catalog.pg_aggregate a
                  WHERE a.aggfnoid = p.oid AND a.aggkind = 'n')
       END AS definition,
       x.extname AS extension,
       pg_catalog.oidvectortypes(p.proargtypes) AS arg_types
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
LEFT JOIN pg_catalog.pg_depend d
       ON d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
LEFT JOIN pg_catalog.pg_extension x ON x.oid = d.refobjid
WHERE n.nspname <> 'information_schema'
  AND n.nspname !~ '^pg_(catalog|toast|temp_|toast_temp_)'
ORDER BY 1, 2, 3
