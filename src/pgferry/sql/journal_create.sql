-- pgferry's journal in the target database: each foreign key and secondary index
-- dropped and each trigger disabled during a load, written in the same transaction that drops
-- or disables it, and deleted in the transaction that puts it back; a 'load' row while a load
-- is in progress, and a 'kept' row for each foreign key a replica-mode load leaves in place
-- (unchecked) until the load is whole.  The schema is dropped once the journal is empty.
CREATE SCHEMA IF NOT EXISTS pgferry;
CREATE TABLE IF NOT EXISTS pgferry.journal (
    id           bigserial PRIMARY KEY,
    run_id       text NOT NULL,
    kind         text NOT NULL,
    table_schema text NOT NULL,
    table_name   text NOT NULL,
    name         text NOT NULL,
    definition   text NOT NULL,
    validated    boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now()
);
-- a journal an older pgferry left behind (killed mid-run) gets what this one writes
ALTER TABLE pgferry.journal ADD COLUMN IF NOT EXISTS details text NOT NULL DEFAULT '';
-- the table a foreign key references, so restoring parses nothing
ALTER TABLE pgferry.journal ADD COLUMN IF NOT EXISTS ref_schema text;
ALTER TABLE pgferry.journal ADD COLUMN IF NOT EXISTS ref_name text;
ALTER TABLE pgferry.journal DROP CONSTRAINT IF EXISTS journal_kind_check;
ALTER TABLE pgferry.journal ADD CONSTRAINT journal_kind_check
    CHECK (kind IN ('fk', 'trigger', 'index', 'load', 'kept'));
