-- Rows left in the journal, and whether its schema holds anything else of anyone's.
SELECT (SELECT count(*) FROM pgferry.journal),
       (SELECT count(*) FROM pg_catalog.pg_class c
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'pgferry' AND c.relname NOT IN ('journal', 'journal_id_seq', 'journal_pkey'))
     + (SELECT count(*) FROM pg_catalog.pg_proc p
         JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'pgferry')
     + (SELECT count(*) FROM pg_catalog.pg_type t
         JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = 'pgferry' AND t.typname NOT IN ('journal', '_journal'))
