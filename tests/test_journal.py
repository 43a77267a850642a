"""The journal: what is set aside is written down in QA, and any writing command puts it back."""

from __future__ import annotations

import subprocess
import sys

import pgferry
from pgferry import journal
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
    assert qa.scalar("SELECT count(*) FROM pgferry.journal") == 0
