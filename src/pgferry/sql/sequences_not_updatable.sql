-- Sequences in these schemas QA's role may not move (setval needs UPDATE).
-- Parameter: schemas (text array).
SELECT n.nspname, c.relname
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'S'
  AND n.nspname = ANY (%s::text[])
  AND CASE WHEN c.relkind = 'S'  -- the check runs on sequences only
           THEN NOT pg_catalog.has_sequence_privilege(c.oid, 'UPDATE') END
ORDER BY 1, 2
