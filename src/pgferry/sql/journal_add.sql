-- Record one object about to be set aside: run, kind, table schema, table name, object
-- name, definition, whether it was validated, the statements that restore its details
-- (comments, tablespace, CLUSTER ON, statistics targets; '' where there are none), and the
-- table a foreign key references (NULL for others).
INSERT INTO pgferry.journal
    (run_id, kind, table_schema, table_name, name, definition, validated, details,
     ref_schema, ref_name)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
