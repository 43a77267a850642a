"""The journal: what is set aside is written down in QA, and any writing command puts it back."""

from __future__ import annotations

import subprocess
import sys

import pytest
from psycopg import sql

import pgferry
from pgferry import journal
from pgferry.catalog import Name
from tests.pgtest import Database


def _fk_names(db: Database) -> list[str]:
    return [
        r[0]
        for r in db.execute(
            "SELECT conname FROM pg_constraint WHERE contype = 'f' AND convalidated ORDER BY 1"
        )
    ]


def test_sequences_fix_puts_back_what_an_interrupted_migrate_set_aside(qa: Database) -> None:
    qa.execute("CREATE TABLE parent (id serial PRIMARY KEY)")
    qa.execute("CREATE TABLE child (id serial PRIMARY KEY, p int REFERENCES parent)")
    qa.execute("CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$")
    qa.execute("CREATE TRIGGER audit AFTER INSERT ON child FOR EACH ROW EXECUTE FUNCTION f()")
    with pgferry.connect(pgferry.parse(qa.url), autocommit=True) as conn:
        catalog = pgferry.read_catalog(conn)
        journal.set_aside(
            conn, "run-1", list(catalog.foreign_keys()), [t for t in catalog.triggers]
        )
    # as after kill -9 in the middle of a load
    assert _fk_names(qa) == []
    assert qa.scalar("SELECT tgenabled FROM pg_trigger WHERE tgname = 'audit'") == "D"
    assert qa.scalar("SELECT count(*) FROM pgferry.journal") == 2

    proc = subprocess.run(
        [sys.executable, "-m", "pgferry", "sequences", "fix", "--db", qa.url],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "put back 2 constraints/triggers" in proc.stderr
    assert _fk_names(qa) == ["child_p_fkey"]
    assert qa.scalar("SELECT tgenabled FROM pg_trigger WHERE tgname = 'audit'") == "O"
    assert qa.scalar("SELECT to_regnamespace('pgferry')") is None  # nothing left of it


def _indexes(db: Database, table: str) -> list[tuple[str, bool]]:
    return [
        (r[0], r[1])
        for r in db.execute(
            "SELECT c.relname, i.indisvalid FROM pg_index i"
            " JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE i.indrelid = %s::regclass ORDER BY 1",
            (table,),
        )
    ]


def test_large_tables_load_without_secondary_indexes_then_get_them_back(
    prod: Database, qa: Database
) -> None:
    ddl = (
        "CREATE TABLE big (id int PRIMARY KEY, k int, code text);"
        "CREATE INDEX big_k ON big (k);"
        "CREATE UNIQUE INDEX big_code ON big (code);"
        "CREATE INDEX big_expr ON big (lower(code)) WHERE k > 5"
    )
    prod.execute(ddl)
    qa.execute(ddl)
    prod.execute("INSERT INTO big SELECT g, g % 100, 'c' || g FROM generate_series(1, 20000) g")
    prod.execute("ANALYZE big")
    from pgferry.migrate import MigrateOptions, migrate

    report = migrate(
        pgferry.parse(prod.url), pgferry.parse(qa.url), MigrateOptions(jobs=1, backup=False)
    )
    assert report.ok
    assert _indexes(qa, "big") == [
        ("big_code", True),
        ("big_expr", True),
        ("big_k", True),
        ("big_pkey", True),
    ]
    assert qa.scalar("SELECT to_regnamespace('pgferry')") is None  # nothing left of it
    definition = qa.scalar("SELECT pg_get_indexdef('big_expr'::regclass)")
    assert "WHERE (k > 5)" in definition


def test_a_set_aside_index_comes_back_after_a_crash(qa: Database) -> None:
    qa.execute("CREATE TABLE t (id int PRIMARY KEY, k int)")
    qa.execute("CREATE INDEX t_k ON t (k)")
    with pgferry.connect(pgferry.parse(qa.url), autocommit=True) as conn:
        catalog = pgferry.read_catalog(conn)
        plain = [ix for ix in catalog.indexes if ix.is_plain]
        assert [ix.name for ix in plain] == ["t_k"]  # the primary key is never set aside
        journal.set_aside(conn, "run-2", [], [], plain)
        assert _indexes(qa, "t") == [("t_pkey", True)]
        restored = journal.restore(conn)
    assert [e.name for e in restored.restored] == ["t_k"]
    assert _indexes(qa, "t") == [("t_k", True), ("t_pkey", True)]


@pytest.mark.parametrize(
    ("schema", "table"),
    [("public", "Order"), ("my.schema", "odd.name"), ("public", 't(1)"')],
)
def test_the_journal_stores_the_table_a_key_references(
    qa: Database, schema: str, table: str
) -> None:
    """Restoring needs the referenced table (to analyse it first): stored, never parsed back
    out of the key's text, whatever its name holds."""
    parent = sql.Identifier(schema, table)
    qa.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    qa.execute(sql.SQL("CREATE TABLE {} (id int PRIMARY KEY)").format(parent))
    qa.execute(sql.SQL("CREATE TABLE public.kid (id int, p int REFERENCES {})").format(parent))
    with pgferry.connect(pgferry.parse(qa.url), autocommit=True) as conn:
        catalog = pgferry.read_catalog(conn)
        (entry,) = journal.set_aside(conn, "run", list(catalog.foreign_keys()), [])
        assert entry.kind is journal.Kind.FK
        assert entry.ref_table == Name(schema, table)
        journal.restore(conn)
    assert _fk_names(qa) == ["kid_p_fkey"]
