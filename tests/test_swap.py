"""``pgferry migrate --strategy swap``: QA changes in one rename, or not at all."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import psycopg
import pytest

from tests.backup_support import SCHEMA, build_app, databases_named, state
from tests.migrate_support import (
    assert_same_content,
    give_database_to,
    migrate_cli,
    run_as,
    run_cli,
)
from tests.pgtest import Database, Server


def _app(prod: Database, qa: Database) -> None:
    build_app(prod)
    qa.execute(SCHEMA)
    qa.execute("INSERT INTO \"Client\" (\"name\") VALUES ('qa only'); SELECT nextval('ticket_seq')")
    qa.execute(f"ALTER DATABASE \"{qa.name}\" SET work_mem = '9MB'")


@pytest.mark.slow
def test_swap_switches_qa_and_keeps_the_old_one(
    prod: Database, qa: Database, tmp_path: Path
) -> None:
    _app(prod, qa)
    before = state(qa)
    ran = migrate_cli(
        prod, qa, "--yes", "--strategy", "swap", "--report-dir", str(tmp_path), cwd=tmp_path
    )
    assert ran.code == 0, ran.stderr
    assert "pgferry rollback --backup old_" in ran.stdout
    assert_same_content(prod, qa, [("public", t) for t in ("Client", "Order", "ticket")])
    # the settings of QA follow the name, not the files
    assert (
        qa.scalar(
            "SELECT setconfig::text FROM pg_db_role_setting s JOIN pg_database d "
            "ON d.oid = s.setdatabase WHERE d.datname = current_database()"
        )
        == "{work_mem=9MB}"
    )
    assert databases_named(qa, f"{qa.name}__pgferry_next") == []
    listed = json.loads(run_cli("backups", "--db", qa.url, "--json", cwd=tmp_path).stdout)
    assert [b["method"] for b in listed] == ["swap"]
    old = Database(qa.server, listed[0]["location"])
    assert state(old) == before
    # the instant way back
    ran = run_cli("rollback", "--db", qa.url, "--yes", cwd=tmp_path)
    assert ran.code == 0, ran.stderr
    assert state(qa) == before


@pytest.mark.slow
def test_a_failed_load_leaves_qa_untouched_and_no_sibling(
    prod: Database, qa: Database, tmp_path: Path
) -> None:
    _app(prod, qa)
    # QA's own rule that production's rows break: the COPY into the sibling fails
    qa.execute('ALTER TABLE "Order" ADD CONSTRAINT small CHECK ("total" < 10) NOT VALID')
    before = state(qa)
    ran = migrate_cli(prod, qa, "--yes", "--strategy", "swap", cwd=tmp_path)
    assert ran.code == 8, ran.stderr
    assert state(qa) == before
    assert databases_named(qa, f"{qa.name}__pgferry_") == []


@pytest.mark.slow
def test_swap_explains_what_it_needs(
    prod: Database, qa: Database, qa_server: Server, tmp_path: Path
) -> None:
    build_app(prod)
    with qa_server.role("swap_app") as role:
        give_database_to(qa, role)
        run_as(qa, role, SCHEMA)
        before = state(qa)
        ran = migrate_cli(
            prod, qa.url_as(role, "secret-pw"), "--yes", "--strategy", "swap", cwd=tmp_path
        )
    assert ran.code == 5, ran.stderr
    assert "CREATEDB" in ran.stderr and "without --strategy swap" in ran.stderr
    assert state(qa) == before


@pytest.mark.slow
def test_swap_refuses_while_sessions_are_open_unless_forced(
    prod: Database, qa: Database, tmp_path: Path
) -> None:
    _app(prod, qa)
    with qa.connect() as app:
        app.execute("SELECT 1")
        ran = migrate_cli(prod, qa, "--yes", "--strategy", "swap", cwd=tmp_path)
        assert ran.code == 6, ran.stderr
        assert "--force" in ran.stderr
        ran = migrate_cli(prod, qa, "--yes", "--strategy", "swap", "--force", cwd=tmp_path)
        assert ran.code == 0, ran.stderr
    assert_same_content(prod, qa, [("public", "Client")])


@pytest.mark.slow
def test_an_app_reading_qa_sees_the_old_state_then_the_new_never_a_half_load(
    prod: Database, qa: Database, tmp_path: Path
) -> None:
    _app(prod, qa)
    old = qa.scalar('SELECT count(*) FROM "Client"')
    new = prod.scalar('SELECT count(*) FROM "Client"')
    assert old != new
    seen: list[int] = []
    stop = threading.Event()

    def app() -> None:  # short sessions, as a pooled app's requests
        while not stop.is_set():
            try:
                with psycopg.connect(qa.url, connect_timeout=2) as conn:
                    row = conn.execute('SELECT count(*) FROM "Client"').fetchone()
                    seen.append(int(row[0]) if row else -1)
            except psycopg.Error:
                pass  # ended by --force, or QA renamed away for an instant
            time.sleep(0.05)

    reader = threading.Thread(target=app, daemon=True)
    reader.start()
    try:
        ran = migrate_cli(prod, qa, "--yes", "--strategy", "swap", "--force", cwd=tmp_path)
    finally:
        stop.set()
        reader.join(timeout=10)
    assert ran.code == 0, ran.stderr
    assert set(seen) <= {old, new}, sorted(set(seen))
    assert seen and seen[0] == old  # it read QA while the sibling was loaded
    assert qa.scalar('SELECT count(*) FROM "Client"') == new


def test_declining_the_swap_makes_nothing(prod: Database, qa: Database) -> None:
    """The question comes before the sibling is made or any session ended."""
    import pgferry
    from pgferry.errors import RefusedError
    from pgferry.migrate import MigrateOptions
    from pgferry.swap import migrate_swap

    _app(prod, qa)
    before = state(qa)
    asked: list[str] = []

    def decline(plan: object, dbname: str) -> bool:
        asked.append(dbname)
        assert databases_named(qa, f"{qa.name}__pgferry_") == []  # nothing made yet
        return False

    try:
        migrate_swap(
            pgferry.parse(prod.url, role="prod"),
            pgferry.parse(qa.url, role="qa"),
            MigrateOptions(backup=False),
            confirm=decline,
        )
    except RefusedError as exc:
        assert "not confirmed" in exc.message
    else:
        raise AssertionError("a declined swap went on")
    assert asked == [qa.name]
    assert databases_named(qa, f"{qa.name}__pgferry_") == []
    assert state(qa) == before


def test_writes_to_qa_during_the_load_are_said_to_stay_with_the_old_database(
    prod: Database, qa: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pgferry
    from pgferry import swap
    from pgferry.migrate import MigrateOptions
    from pgferry.refresh.pipeline import Refresh

    if qa.server.major < 15:
        pytest.skip("pg_stat_force_next_flush() needs PostgreSQL 15+")
    _app(prod, qa)
    real = Refresh.load  # the load step, run on the sibling

    def load_while_the_app_writes(*args: object, **kwargs: object) -> object:
        with qa.connect() as app:  # the app, still on QA, inserts a row meanwhile
            app.execute('INSERT INTO "Client" ("name") VALUES (\'written during the load\')')
            app.execute("SELECT pg_stat_force_next_flush()")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Refresh, "load", load_while_the_app_writes)
    report = swap.migrate_swap(
        pgferry.parse(prod.url, role="prod"),
        pgferry.parse(qa.url, role="qa"),
        MigrateOptions(backup=False),
    )
    (notice,) = [n for n in report.notices if "row change" in n]
    assert "not in the new QA" in notice and report.backup is not None
    assert report.backup.location in notice
    found = "SELECT count(*) FROM \"Client\" WHERE name = 'written during the load'"
    assert qa.scalar(found) == 0
    assert Database(qa.server, report.backup.location).scalar(found) == 1
