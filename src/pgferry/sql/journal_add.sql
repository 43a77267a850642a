-- Record one object about to be set aside: run, kind, table schema, table name, object
-- name, definition, whether it was validated, and the statements that restore its details
-- (comments, tablespace, CLUSTER ON, statistics targets; '' where there are none).
INSERT INTO pgferry.journal
    (run_id, kind, table_schema, table_name, name, definition, validated, details)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
