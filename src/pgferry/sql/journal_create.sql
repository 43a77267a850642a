-- pgferry's journal in the target database: each foreign key and secondary index
-- dropped and each trigger disabled during a load, written in the same transaction that drops
-- or disables it, and deleted in the transaction that puts it back.
CREATE SCHEMA IF NOT EXISTS pgferry;
CREATE TABLE IF NOT EXISTS pgferry.journal (
    id           bigserial PRIMARY KEY,
    run_id       text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('fk', 'trigger', 'index')),
    table_schema text NOT NULL,
    table_name   text NOT NULL,
    name         text NOT NULL,
    definition   text NOT NULL,
    validated    boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now()
);
