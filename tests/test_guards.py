"""Issue 12, points 4 to 7: waits are bounded and named, other roles' sessions are seen
(and ended with --force), nothing passes vacuously, one run per QA at a time."""

from __future__ import annotations

from pathlib import Path

from tests.migrate_support import migrate_cli
from tests.pgtest import Database

SCHEMA = """
CREATE TABLE parent (id SERIAL PRIMARY KEY, name TEXT);
CREATE TABLE child (id SERIAL PRIMARY KEY, parent_id INT REFERENCES parent (id), note TEXT);
CREATE INDEX child_note ON child (note);
CREATE TABLE other (id SERIAL PRIMARY KEY, note TEXT);
"""
PROD_DATA = """
INSERT INTO parent (name) SELECT 'p' || g FROM generate_series(1, 20) g;
INSERT INTO child (parent_id, note) SELECT 1 + g % 20, 'c' || g FROM generate_series(1, 40) g;
INSERT INTO other (note) SELECT 'o' || g FROM generate_series(1, 5) g;
"""
#: QA's own rows, with sequences left behind them (as after a restore by hand)
QA_DATA = """
INSERT INTO parent VALUES (500, 'stale');
INSERT INTO other VALUES (900, 'qa only');
"""

_SEQUENCES = """
SELECT 'parent', last_value, is_called FROM parent_id_seq UNION ALL
SELECT 'child', last_value, is_called FROM child_id_seq UNION ALL
SELECT 'other', last_value, is_called FROM other_id_seq
"""


def _pair(prod: Database, qa: Database) -> None:
    prod.execute(SCHEMA + PROD_DATA)
    qa.execute(SCHEMA + QA_DATA)


def _copies_of(qa: Database) -> list[str]:
    """Databases on QA's server named after QA (template backups, swap siblings)."""
    rows = qa.server.admin.execute(
        "SELECT datname FROM pg_database WHERE datname LIKE %s AND datname <> %s",
        (qa.name + "%", qa.name),
    )
    return [r[0] for r in rows]


# -- 6a: nothing passes vacuously ------------------------------------------------------


def test_a_selection_matching_nothing_exits_2_and_writes_nothing(
    prod: Database, qa: Database, tmp_path: Path
) -> None:
    _pair(prod, qa)
    before = qa.execute(_SEQUENCES)
    for extra in (("--tables", "nosuch*"), ("--schema", "nosuch"), ("--exclude", "*")):
        ran = migrate_cli(prod, qa, "--yes", *extra, backup=True, cwd=tmp_path)
        assert ran.code == 2, (extra, ran.stderr)
        assert "matches no table" in ran.stderr and extra[1] in ran.stderr
        assert "public.parent" in ran.stderr  # a few tables that exist are named
    assert _copies_of(qa) == [] and not (tmp_path / "pgferry-backups").exists()
    assert qa.execute(_SEQUENCES) == before
    assert qa.scalar("SELECT count(*) FROM parent") == 1
    assert qa.scalar("SELECT to_regnamespace('pgferry')") is None


def test_a_selective_migrate_leaves_other_tables_sequences_alone(
    prod: Database, qa: Database
) -> None:
    _pair(prod, qa)
    before = {r[0]: r[1:] for r in qa.execute(_SEQUENCES)}
    ran = migrate_cli(prod, qa, "--yes", "--no-report", "--tables", "parent", "--tables", "child")
    assert ran.code == 0, ran.stderr
    after = {r[0]: r[1:] for r in qa.execute(_SEQUENCES)}
    assert after["other"] == before["other"]  # QA's 900 is ahead of it, but not copied: alone
    assert after["parent"] != before["parent"] and after["child"] != before["child"]
