-- Foreign keys an unfinished replica-mode load left in place, unchecked.
SELECT id, table_schema, table_name, name
FROM pgferry.journal
WHERE kind = 'kept'
ORDER BY id
