-- Foreign keys an unfinished replica-mode load left in place, unchecked.
SELECT id, kind, table_schema, table_name, name, definition, validated, details
FROM pgferry.journal
WHERE kind = 'kept'
ORDER BY id
