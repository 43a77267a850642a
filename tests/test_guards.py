"""Issue 12, points 4 to 7: waits are bounded and named, other roles' sessions are seen
(and ended with --force), nothing passes vacuously, one run per QA at a time."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from pgferry import runlock
from tests.migrate_support import (
    foreign_keys,
    give_database_to,
    migrate_cli,
    run_as,
    run_cli,
    spawn_migrate,
)
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


# -- 5: other roles' sessions are seen, and ended with --force where the role may -------


@contextmanager
def _owned_by(qa: Database, prod: Database, role: str) -> Iterator[str]:
    """QA owned by *role* (CREATEDB, pg_signal_backend, no superuser), its tables too."""
    with qa.server.role(role, attrs="LOGIN CREATEDB") as name:
        qa.server.admin.execute(
            sql.SQL("GRANT pg_signal_backend TO {}").format(sql.Identifier(name))
        )
        give_database_to(qa, name)
        prod.execute(SCHEMA + PROD_DATA)
        run_as(qa, name, SCHEMA + QA_DATA)
        yield qa.url_as(name, "secret-pw")


@contextmanager
def _app_session(qa: Database, role: str = "pf_guard_app") -> Iterator[psycopg.Connection[Any]]:
    """An idle session of another role on QA, as a running app holds."""
    with qa.server.role(role) as name:
        conn = psycopg.connect(qa.url_as(name, "secret-pw"), application_name="the-app")
        try:
            yield conn
        finally:
            conn.close()


def _alive(qa: Database, pid: int) -> bool:
    return bool(
        qa.server.admin.scalar("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,))
    )


@pytest.mark.slow
def test_another_roles_session_is_seen_and_ended_with_force(
    prod: Database, qa: Database, tmp_path: Path
) -> None:
    (tmp_path / "pgferry.toml").write_text('[backup]\nmethod = "template"\n')
    with _owned_by(qa, prod, "pf_guard_owner") as owner_url, _app_session(qa) as app:
        pid = app.info.backend_pid
        ran = run_cli("preflight", "--from", prod.url, "--to", owner_url, "--json", cwd=tmp_path)
        line = {c["check"]: c for c in json.loads(ran.stdout)["checks"]}["sessions"]
        assert line["mark"] == "fail", line  # a template backup needs QA alone
        assert f"pid {pid} pf_guard_app (the-app)" in line["reason"]
        assert "may not see" in line["reason"]
        refused = migrate_cli(prod, owner_url, "--yes", "--no-report", backup=True, cwd=tmp_path)
        assert refused.code == 6, refused.stderr
        assert f"pid {pid}" in refused.stderr and "--force" in refused.stderr
        assert _alive(qa, pid)
        ran = migrate_cli(
            prod, owner_url, "--yes", "--no-report", "--force", backup=True, cwd=tmp_path
        )
        assert ran.code == 0, ran.stderr
        assert not _alive(qa, pid)
    assert qa.scalar("SELECT count(*) FROM parent") == 20


def test_force_names_the_sessions_it_may_not_end(
    prod: Database, qa: Database, tmp_path: Path
) -> None:
    (tmp_path / "pgferry.toml").write_text('[backup]\nmethod = "template"\n')
    with (
        _owned_by(qa, prod, "pf_guard_owner") as owner_url,
        psycopg.connect(qa.url, application_name="a-superuser") as su,
    ):
        pid = su.info.backend_pid
        ran = migrate_cli(
            prod, owner_url, "--yes", "--no-report", "--force", backup=True, cwd=tmp_path
        )
        assert ran.code == 5, ran.stderr
        assert f"pid {pid}" in ran.stderr and "only a superuser may end it" in ran.stderr
        assert _alive(qa, pid)
    assert qa.scalar("SELECT count(*) FROM parent") == 1


# -- 4: every wait is bounded and named ------------------------------------------------


@contextmanager
def _reading(qa: Database, table: str, seconds: int = 20) -> Iterator[int]:
    """An app's query running on *table* (ACCESS SHARE held until it ends): its pid."""
    conn = psycopg.connect(qa.url, autocommit=True, application_name="the-reader")
    try:
        conn.pgconn.send_query(
            f"SELECT pg_sleep({seconds}), (SELECT count(*) FROM {table})".encode()
        )
        deadline = time.monotonic() + 10
        while not qa.scalar(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE l.pid = %s AND c.relname = %s AND l.granted",
            (conn.info.backend_pid, table),
        ):
            assert time.monotonic() < deadline, "the app's query never took its lock"
            time.sleep(0.05)
        yield conn.info.backend_pid
    finally:
        conn.cancel_safe()
        conn.close()


@pytest.mark.slow
def test_an_app_lock_during_set_aside_ends_in_a_bounded_named_wait(
    prod: Database, qa: Database
) -> None:
    with _owned_by(qa, prod, "pf_guard_owner") as owner_url, _reading(qa, "child") as pid:
        ran = migrate_cli(prod, owner_url, "--yes", "--no-report", "--lock-timeout", "1s")
        assert ran.code == 6, ran.stderr
        assert "waited 1s for a lock on QA" in ran.stderr
        assert f"pid {pid}" in ran.stderr and "(the-reader)" in ran.stderr
        assert "stop the app" in ran.stderr
    # the foreign key set aside before the wait is back, QA's rows too
    assert [fk[1] for fk in foreign_keys(qa)] == ["child_parent_id_fkey"]
    assert qa.scalar("SELECT count(*) FROM parent") == 1


@pytest.mark.slow
def test_an_app_lock_during_truncate_is_named_too(prod: Database, qa: Database) -> None:
    _pair(prod, qa)
    with _reading(qa, "other") as pid:
        ran = migrate_cli(prod, qa, "--yes", "--no-report", "--lock-timeout", "500ms")
        assert ran.code == 6, ran.stderr
        assert "waited 500ms for a lock on QA to empty its tables" in ran.stderr
        assert f"pid {pid}" in ran.stderr and "public.other" in ran.stderr
    assert qa.scalar("SELECT count(*) FROM other") == 1


# -- 6c: one run per QA at a time ----------------------------------------------------


def test_a_run_holding_qas_lock_refuses_in_place_and_swap(prod: Database, qa: Database) -> None:
    _pair(prod, qa)
    with psycopg.connect(qa.server.admin.url, autocommit=True, application_name="other-run") as h:
        assert h.execute("SELECT pg_try_advisory_lock(%s)", (runlock.key(qa.name),)).fetchone()
        for strategy in ("refresh", "swap"):
            ran = migrate_cli(prod, qa, "--yes", "--no-report", "--strategy", strategy)
            assert ran.code == 6, (strategy, ran.stderr)
            assert f"pid {h.info.backend_pid}" in ran.stderr and "(other-run)" in ran.stderr
    assert qa.scalar("SELECT count(*) FROM parent") == 1 and _copies_of(qa) == []


def test_swap_is_refused_while_an_in_place_run_works(
    prod: Database, qa: Database, tmp_path: Path
) -> None:
    _pair(prod, qa)
    with _reading(qa, "other", seconds=30) as reader:
        first = spawn_migrate(
            prod.url, qa.url, "--no-backup", "--lock-timeout", "30s", cwd=tmp_path
        )
        try:
            deadline = time.monotonic() + 30
            while not qa.scalar(  # the in-place run waits for the app's lock, holding QA's
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND pid <> %s", (reader,)
            ):
                assert time.monotonic() < deadline and first.poll() is None
                time.sleep(0.1)
            ran = migrate_cli(prod, qa, "--yes", "--no-report", "--strategy", "swap")
            assert ran.code == 6, ran.stderr
            assert "(pgferry migrate lock)" in ran.stderr
        finally:
            first.kill()
            first.wait()
    assert _copies_of(qa) == []


# -- 6b: QA-side row-level security and a missing CREATE, refused before writing -------


def test_qa_side_row_level_security_is_refused_before_writing(
    prod: Database, qa: Database, tmp_path: Path
) -> None:
    with _owned_by(qa, prod, "pf_guard_owner") as owner_url:
        run_as(
            qa,
            "pf_guard_owner",
            "ALTER TABLE parent ENABLE ROW LEVEL SECURITY; ALTER TABLE parent FORCE ROW LEVEL "
            "SECURITY; CREATE POLICY few ON parent USING (id < 10)",
        )
        ran = migrate_cli(prod, owner_url, "--yes", "--no-report", backup=True, cwd=tmp_path)
    assert ran.code == 5, ran.stderr
    assert "row-level security on public.parent in QA" in ran.stderr
    assert "nothing was written" in ran.stderr
    assert _copies_of(qa) == [] and not (tmp_path / "pgferry-backups").exists()
    assert qa.scalar("SELECT count(*) FROM parent") == 1


def test_a_role_without_create_on_qa_is_refused_before_writing(
    prod: Database, qa: Database, tmp_path: Path
) -> None:
    prod.execute(SCHEMA + PROD_DATA)
    with qa.server.role("pf_guard_nocreate") as role:
        qa.execute(sql.SQL("GRANT CREATE ON SCHEMA public TO {}").format(sql.Identifier(role)))
        run_as(qa, role, SCHEMA + QA_DATA)
        ran = migrate_cli(
            prod, qa.url_as(role, "secret-pw"), "--yes", "--no-report", backup=True, cwd=tmp_path
        )
    assert ran.code == 5, ran.stderr
    assert f"CREATE on database {qa.name}" in ran.stderr and "nothing was written" in ran.stderr
    assert not (tmp_path / "pgferry-backups").exists() and _copies_of(qa) == []
    assert qa.scalar("SELECT count(*) FROM parent") == 1
    assert qa.scalar("SELECT to_regnamespace('pgferry')") is None
