-- Record one object about to be set aside: run, kind, table schema, table
-- name, object name, definition, whether it was validated.
INSERT INTO pgferry.journal (run_id, kind, table_schema, table_name, name, definition, validated)
VALUES (%s, %s, %s, %s, %s, %s, %s)
