-- Everything set aside and not yet put back, oldest first.
SELECT id, kind, table_schema, table_name, name, definition, validated
FROM pgferry.journal
ORDER BY id
