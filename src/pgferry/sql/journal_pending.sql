-- Everything set aside and not yet put back, oldest first.  The details column is read
-- through to_jsonb so that a journal written by an older pgferry (without it) reads too.
SELECT id, kind, table_schema, table_name, name, definition, validated,
       coalesce(to_jsonb(j) ->> 'details', '')
FROM pgferry.journal j
WHERE kind IN ('fk', 'trigger', 'index')
ORDER BY id
