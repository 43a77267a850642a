-- Everything set aside and not yet put back, oldest first.  The newer columns are read
-- through to_jsonb so that a journal written by an older pgferry (without them) reads too.
SELECT id, kind, table_schema, table_name, name, definition, validated,
       coalesce(to_jsonb(j) ->> 'details', ''), to_jsonb(j) ->> 'ref_schema',
       to_jsonb(j) ->> 'ref_name'
FROM pgferry.journal j
WHERE kind IN ('fk', 'trigger', 'index')
ORDER BY id
