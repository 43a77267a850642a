"""Materialized views and large objects, on real servers (issue 11, points 7 and 8)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

import pgferry
from pgferry.config import load as load_config
from pgferry.errors import PrivilegeError
from pgferry.verify import verify
from tests.migrate_support import (
    kill_mid_copy,
    migrate_cli,
    run_cli,
    run_migrate,
    spawn_migrate,
)
from tests.pgtest import Database, Server

# -- materialized views (point 7) ----------------------------------------------------------

VIEWS = """
CREATE TABLE item (id INT PRIMARY KEY, qty INT NOT NULL);
CREATE MATERIALIZED VIEW item_totals AS SELECT count(*) AS n, sum(qty) AS total FROM item;
CREATE MATERIALIZED VIEW item_big AS SELECT id FROM item WHERE qty > 10 {later};
"""


def _populated(db: Database) -> dict[str, bool]:
    rows = db.execute("SELECT relname, relispopulated FROM pg_class WHERE relkind = 'm'")
    return {str(n): bool(p) for n, p in rows}


@pytest.mark.slow
def test_views_follow_production_and_verify_compares_them(prod: Database, qa: Database) -> None:
    prod.execute(VIEWS.format(later="WITH NO DATA"))
    prod.execute(
        "INSERT INTO item SELECT g, g FROM generate_series(1, 30) g;"
        "REFRESH MATERIALIZED VIEW item_totals"
    )
    qa.execute(VIEWS.format(later=""))  # QA's copy holds data: production's does not
    qa.execute("INSERT INTO item VALUES (99, 500); REFRESH MATERIALIZED VIEW item_big")
    assert _populated(qa) == {"item_totals": True, "item_big": True}

    report = run_migrate(prod.url, qa.url)

    assert report.ok, report.to_dict()
    assert [str(n) for n in report.refreshed] == ["public.item_totals"]
    assert [str(n) for n in report.unpopulated] == ["public.item_big"]
    assert _populated(qa) == {"item_totals": True, "item_big": False}
    assert qa.execute("SELECT n, total FROM item_totals") == [(30, 465)]
    data = report.to_dict()
    assert data["materialized_views_unpopulated"] == ["public.item_big"]

    src, dst = pgferry.parse(prod.url, role="prod"), pgferry.parse(qa.url, role="qa")
    checked = verify(src, dst)
    assert checked.ok, checked.to_dict()
    by_name = {str(m.name): m for m in checked.matviews}
    assert by_name["public.item_totals"].source_rows == 1
    assert by_name["public.item_totals"].target_rows == 1
    assert not by_name["public.item_big"].target_populated

    # verify sees a view populated on one side only, and one whose rows differ
    qa.execute("REFRESH MATERIALIZED VIEW item_big")
    qa.execute("INSERT INTO item VALUES (100, 1)")  # item_totals has 1 row still: same count
    prod.execute("REFRESH MATERIALIZED VIEW item_big")
    prod.execute("DELETE FROM item WHERE id > 25; REFRESH MATERIALIZED VIEW item_big")
    checked = verify(src, dst, tables=["item_big", "item_totals"])
    by_name = {str(m.name): m for m in checked.matviews}
    assert by_name["public.item_big"].target_populated
    assert (by_name["public.item_big"].source_rows, by_name["public.item_big"].target_rows) == (
        15,
        20,
    )
    assert not checked.ok
    ran = run_cli("verify", "--from", prod.url, "--to", qa.url, "--tables", "item_big")
    assert ran.code == 1, ran.stdout + ran.stderr
    assert "materialized view public.item_big: 15 rows in production, 20 in QA" in ran.stdout
    prod.execute("REFRESH MATERIALIZED VIEW item_big WITH NO DATA")
    ran = run_cli("verify", "--from", prod.url, "--to", qa.url, "--tables", "item_big")
    assert ran.code == 1
    assert "item_big: WITH NO DATA in production, populated in QA" in ran.stdout


SCORE_PROD = "CREATE FUNCTION score(q INT) RETURNS INT LANGUAGE sql IMMUTABLE AS 'SELECT q * 2';"
#: QA's version of the function fails on every row: so does the view's refresh
SCORE_QA = "CREATE FUNCTION score(q INT) RETURNS INT LANGUAGE sql IMMUTABLE AS 'SELECT q / 0';"
SCORED = """
CREATE TABLE item (id INT PRIMARY KEY, qty INT NOT NULL);
CREATE MATERIALIZED VIEW item_score AS SELECT id, score(qty) AS s FROM item WITH NO DATA;
CREATE MATERIALIZED VIEW item_count AS SELECT count(*) AS n FROM item;
"""


def test_a_failing_refresh_is_an_error_of_the_run(
    prod: Database, qa: Database, tmp_path: Path
) -> None:
    prod.execute(SCORE_PROD + SCORED)
    prod.execute(
        "INSERT INTO item VALUES (1, 3), (2, 4);"
        "REFRESH MATERIALIZED VIEW item_score; REFRESH MATERIALIZED VIEW item_count"
    )
    qa.execute(SCORE_QA + SCORED)

    ran = migrate_cli(prod, qa, "--yes", "--report-dir", str(tmp_path))

    assert ran.code == 8, ran.stdout + ran.stderr
    assert "materialized view public.item_score could not be refreshed: division by zero" in (
        ran.stdout
    )
    assert "NOT verified" in ran.stdout
    assert "error: 1 materialized view(s) could not be refreshed in QA" in ran.stderr
    assert "public.item_score: division by zero" in ran.stderr
    md = next(tmp_path.glob("migrate-*.md")).read_text()
    assert "could NOT be refreshed" in md
    assert "- `public.item_score`: division by zero" in md
    assert "PROBLEMS FOUND" in md
    data = json.loads(next(tmp_path.glob("migrate-*.json")).read_text())
    assert data["ok"] is False
    assert data["materialized_views_not_refreshed"] == [
        {"view": "public.item_score", "reason": "division by zero"}
    ]
    assert data["materialized_views_refreshed"] == ["public.item_count"]
    # the tables are loaded and the other view refreshed all the same
    assert qa.scalar("SELECT n FROM item_count") == 2
    assert qa.scalar("SELECT count(*) FROM item") == 2


def test_exit_code_eight_is_documented() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert "materialized view" in readme.split("## Exit codes", 1)[1].split("\n## ", 1)[0]


# -- large objects (point 8) ---------------------------------------------------------------

DOCS = "CREATE TABLE doc (id INT PRIMARY KEY, title TEXT NOT NULL, body OID);"
BIG = os.urandom(3 * 1024 * 1024 + 12345)  # spans several chunks


def _prod_objects(prod: Database) -> list[int]:
    """A few large objects (empty, small, NUL bytes, a few MB) and rows referencing them."""
    oids: list[int] = []
    with prod.connect() as conn:
        for data in (b"", b"hello", b"\x00\x01\x00\xff" * 100, BIG):
            row = conn.execute("SELECT lo_from_bytea(0, %s)", (data,)).fetchone()
            assert row is not None
            oids.append(int(row[0]))
        for i, oid in enumerate(oids):
            conn.execute("INSERT INTO doc VALUES (%s, %s, %s)", (i, f"doc {i}", oid))
    return oids


def _objects(db: Database) -> dict[int, str]:
    """OID -> sha256 of the content, read through lo_get."""
    out: dict[int, str] = {}
    with db.connect() as conn:
        for (oid,) in conn.execute("SELECT oid FROM pg_largeobject_metadata").fetchall():
            row = conn.execute("SELECT lo_get(%s::oid)", (oid,), binary=True).fetchone()
            assert row is not None
            out[int(oid)] = hashlib.sha256(bytes(row[0])).hexdigest()
    return out


@pytest.mark.slow
def test_large_objects_round_trip_with_their_oids(prod: Database, qa: Database) -> None:
    prod.execute(DOCS)
    oids = _prod_objects(prod)
    qa.execute(DOCS)
    # QA's own: one under an OID production uses (as a crashed run would leave), one not
    qa.execute("SELECT lo_from_bytea(%s, 'stale'), lo_from_bytea(0, 'qa only')", (oids[1],))

    report = run_migrate(prod.url, qa.url)

    assert report.ok, report.to_dict()
    assert report.large_objects is not None
    assert (report.large_objects.production, report.large_objects.qa) == (4, 4)
    assert report.large_objects.bytes == 5 + 400 + len(BIG)
    assert _objects(qa) == _objects(prod)
    assert sorted(_objects(qa)) == sorted(oids)
    # the oid column points at the same bytes
    assert qa.scalar("SELECT length(lo_get(body)) FROM doc WHERE id = 3") == len(BIG)
    assert qa.scalar("SELECT lo_get(body) FROM doc WHERE id = 1") == b"hello"
    owners = qa.execute(
        "SELECT DISTINCT pg_get_userbyid(lomowner) = current_user FROM pg_largeobject_metadata"
    )
    assert owners == [(True,)]

    src, dst = pgferry.parse(prod.url, role="prod"), pgferry.parse(qa.url, role="qa")
    checked = verify(src, dst)
    assert checked.ok
    assert checked.large_objects is not None
    assert (checked.large_objects.production, checked.large_objects.qa) == (4, 4)

    # a rerun (what follows a killed one) ends the same
    assert run_migrate(prod.url, qa.url).ok
    assert _objects(qa) == _objects(prod)

    qa.execute("SELECT lo_unlink(%s)", (oids[0],))
    assert not verify(src, dst).ok
    ran = run_cli("verify", "--from", prod.url, "--to", qa.url)
    assert ran.code == 1
    assert "large objects: 4 in production, 3 in QA" in ran.stdout
    ran = run_cli("verify", "--from", prod.url, "--to", qa.url, "--no-large-objects")
    assert ran.code == 0, ran.stdout
    assert "large objects" not in ran.stdout


@pytest.mark.slow
def test_no_large_objects_says_how_many_were_left_behind(
    prod: Database, qa: Database, tmp_path: Path
) -> None:
    prod.execute(DOCS)
    _prod_objects(prod)
    qa.execute(DOCS)
    qa.execute("SELECT lo_from_bytea(0, 'qa only')")
    before = _objects(qa)

    ran = migrate_cli(prod, qa, "--yes", "--no-large-objects", "--report-dir", str(tmp_path))

    assert ran.code == 0, ran.stdout + ran.stderr
    assert "4 large object(s) of production were left behind (--no-large-objects)" in ran.stdout
    assert "large objects left behind: 4" in ran.stdout
    assert _objects(qa) == before  # QA's own are left alone
    data = json.loads(next(tmp_path.glob("migrate-*.json")).read_text())
    assert data["large_objects"]["left_behind"] == 4
    assert "left behind" in next(tmp_path.glob("migrate-*.md")).read_text()

    # the same from pgferry.toml
    (tmp_path / "pgferry.toml").write_text("[migrate]\nlarge_objects = false\n")
    assert load_config(tmp_path / "pgferry.toml").large_objects is False
    ran = migrate_cli(prod, qa, "--yes", "--no-report", cwd=tmp_path)
    assert ran.code == 0, ran.stdout + ran.stderr
    assert "left behind (--no-large-objects)" in ran.stdout
    assert _objects(qa) == before


def test_large_objects_the_role_cannot_read_stop_before_writing(
    prod: Database, qa: Database, prod_server: Server
) -> None:
    prod.execute(DOCS)
    _prod_objects(prod)
    qa.execute(DOCS)
    qa.execute("INSERT INTO doc VALUES (7, 'stale', NULL)")
    with prod_server.role("lo_reader") as role:
        ident = sql.Identifier(role)
        prod.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(ident))
        with psycopg.connect(prod.url_as(role, "secret-pw")) as conn:
            assert conn.execute("SELECT count(*) FROM pg_largeobject_metadata").fetchone() == (4,)
        with pytest.raises(PrivilegeError) as caught:
            run_migrate(prod.url_as(role, "secret-pw"), qa.url)
        assert "permission denied for large object" in caught.value.message
        assert caught.value.hint is not None and "--no-large-objects" in caught.value.hint
        assert caught.value.exit_code == 5
        assert qa.execute("SELECT id FROM doc") == [(7,)]
        # left behind on purpose, the rest goes through
        report = run_migrate(prod.url_as(role, "secret-pw"), qa.url, large_objects=False)
    assert report.ok
    assert qa.scalar("SELECT count(*) FROM doc") == 4


def _writing_large_objects(qa: Database) -> bool:
    return bool(
        qa.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = 'pgferry load' AND query LIKE '%lo_from_bytea%'"
        )
    )


@pytest.mark.slow
def test_a_run_killed_while_copying_large_objects_completes_on_rerun(
    prod: Database, qa: Database, tmp_path: Path
) -> None:
    prod.execute(DOCS)
    prod.execute(
        "SELECT lo_from_bytea(0, convert_to(repeat('x', 2000) || g, 'UTF8')) "
        "FROM generate_series(1, 4000) g"
    )
    qa.execute(DOCS)
    qa.execute("SELECT lo_from_bytea(0, 'qa only')")
    proc = spawn_migrate(prod.url, qa.url, "--no-backup", "--no-report", cwd=tmp_path)
    kill_mid_copy(proc, qa, when=_writing_large_objects, what="no large object written in QA")
    left = int(qa.scalar("SELECT count(*) FROM pg_largeobject_metadata"))
    assert left < 4000  # killed part way: QA holds only some of them
    report = run_migrate(prod.url, qa.url)
    assert report.ok, report.to_dict()
    assert _objects(qa) == _objects(prod)
