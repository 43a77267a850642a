"""``pgferry backup`` / ``backups`` / ``rollback`` on the real QA cluster.

Each test builds a small application in QA, records its state (per-table
fingerprints, sequence positions, ``pg_dump --schema-only``), backs it up,
damages it, rolls back, and compares.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import psycopg
import pytest

import pgferry
from pgferry.errors import ExitCode
from pgferry.safety import backup as backupmod
from pgferry.safety.restore import rollback
from tests.backup_support import SCHEMA, build_app, damage, databases_named, state
from tests.migrate_support import (
    give_database_to,
    kill_mid_copy,
    migrate_cli,
    run_as,
    run_cli,
    run_migrate,
    spawn_migrate,
)
from tests.pgtest import Database, Server
from tests.test_migrate_live import QA_STALE
from tests.test_migrate_live import SCHEMA as LIVE_SCHEMA
from tests.test_migrate_live import _prod as live_prod


def _ep(url: str) -> pgferry.Endpoint:
    return pgferry.parse(url, role="qa")


@pytest.mark.slow
@pytest.mark.parametrize("method", ["template", "dump"])
def test_backup_then_rollback_restores_qa_exactly(
    qa: Database, method: str, tmp_path: Path
) -> None:
    build_app(qa)
    before = state(qa)
    made = backupmod.backup(_ep(qa.url), "first", method=method, folder=tmp_path)
    assert made.method == method and made.size > 0
    damage(qa)
    assert state(qa) != before

    done = rollback(_ep(qa.url), folder=tmp_path)
    assert done.backup.name == "first"
    assert state(qa) == before
    # the backup survives its rollback: a second bad day rolls back the same way
    assert [b.name for b in backupmod.list_backups(_ep(qa.url), tmp_path)] == ["first"]
    damage(qa)
    rollback(_ep(qa.url), "first", folder=tmp_path)
    assert state(qa) == before


def test_dump_rollback_in_place_for_a_role_without_createdb(
    qa: Database, qa_server: Server, tmp_path: Path
) -> None:
    with qa_server.role("bk_app") as role:
        give_database_to(qa, role)
        run_as(
            qa,
            role,
            "CREATE TABLE t (id SERIAL PRIMARY KEY, v TEXT);"
            "INSERT INTO t (v) SELECT 'v' || g FROM generate_series(1, 100) g;",
        )
        url = qa.url_as(role, "secret-pw")
        before = state(qa)
        made = backupmod.backup(_ep(url), folder=tmp_path)
        assert made.method == "dump"
        assert "CREATEDB" in made.reason
        run_as(
            qa,
            role,
            "DELETE FROM t WHERE id > 10; SELECT nextval('t_id_seq');"
            "CREATE TABLE later (x INT); CREATE SCHEMA extra; CREATE TABLE extra.y (z INT);",
        )
        done = rollback(_ep(url), folder=tmp_path)
        assert "in place" in done.how
        assert state(qa) == before


def test_a_failed_in_place_rollback_leaves_qa_as_it_was(
    qa: Database, qa_server: Server, tmp_path: Path
) -> None:
    """The drops of what came after the backup and the replay are one transaction."""
    with qa_server.role("bk_app2") as role:
        give_database_to(qa, role)
        run_as(qa, role, "CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 50)")
        url = qa.url_as(role, "secret-pw")
        made = backupmod.backup(_ep(url), folder=tmp_path)
        run_as(qa, role, "CREATE TABLE later (x int); INSERT INTO t VALUES (51)")
        after = state(qa)
        for data in (Path(made.location) / "archive").glob("*.dat*"):
            if data.name != "toc.dat":
                data.unlink()  # the archive lost its table data
        with pytest.raises(backupmod.BackupError) as err:
            rollback(_ep(url), folder=tmp_path)
        assert "QA is as it was" in err.value.message
        assert state(qa) == after  # "later" and row 51 are still there


@pytest.mark.slow
def test_template_backup_refuses_while_sessions_are_open_unless_forced(
    qa: Database, tmp_path: Path
) -> None:
    build_app(qa)
    with qa.connect() as other:
        other.execute("SELECT 1")
        ran = run_cli("backup", "--db", qa.url, "--method", "template", "--name", "x", cwd=tmp_path)
        assert ran.code == ExitCode.REFUSED, ran.stderr
        assert "other session" in ran.stderr and "--force" in ran.stderr
        assert "s3cr3t" not in ran.stderr + ran.stdout
        # auto falls back to a dump and says why
        ran = run_cli("backup", "--db", qa.url, "--name", "y", cwd=tmp_path)
        assert ran.code == 0, ran.stderr
        assert "dump" in ran.stdout and "--force" in ran.stdout
        ran = run_cli(
            "backup",
            "--db",
            qa.url,
            "--method",
            "template",
            "--force",
            "--name",
            "z",
            cwd=tmp_path,
        )
        assert ran.code == 0, ran.stderr
        with pytest.raises(psycopg.OperationalError):
            other.execute("SELECT 1")
    listed = run_cli("backups", "--db", qa.url, "--json", cwd=tmp_path)
    assert listed.code == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["method"]) for r in rows] == [("y", "dump"), ("z", "template")]


@pytest.mark.slow
def test_cli_rollback_asks_unless_yes_and_restores(qa: Database, tmp_path: Path) -> None:
    build_app(qa)
    before = state(qa)
    assert run_cli("backup", "--db", qa.url, "--name", "b1", cwd=tmp_path).code == 0
    damage(qa)
    ran = run_cli("rollback", "--db", qa.url, cwd=tmp_path)
    assert ran.code == ExitCode.REFUSED and "--yes" in ran.stderr
    ran = run_cli("rollback", "--db", qa.url, "--backup", "b1", "--yes", cwd=tmp_path)
    assert ran.code == 0, ran.stderr
    assert state(qa) == before
    missing = run_cli("rollback", "--db", qa.url, "--backup", "nope", "--yes", cwd=tmp_path)
    assert missing.code == ExitCode.ERROR and "b1" in missing.stderr


def test_retention_keeps_the_newest(qa: Database, tmp_path: Path) -> None:
    build_app(qa)
    for name in ("a1", "a2", "a3"):
        backupmod.backup(_ep(qa.url), name, method="template", keep=2, folder=tmp_path)
    assert [b.name for b in backupmod.list_backups(_ep(qa.url), tmp_path)] == ["a2", "a3"]
    assert databases_named(qa, f"{qa.name}__pgferry_") == [
        f"{qa.name}__pgferry_a2",
        f"{qa.name}__pgferry_a3",
    ]


def test_retention_never_removes_the_backup_just_taken(qa: Database, tmp_path: Path) -> None:
    """An older backup made in the same second (or by a machine whose clock is ahead)
    sorts after the new one by time: the new one is still the one kept."""
    build_app(qa)
    backupmod.backup(_ep(qa.url), "zz_from_the_future", method="template", folder=tmp_path)
    made = backupmod.backup(_ep(qa.url), "aa_now", method="template", keep=1, folder=tmp_path)
    listed = [b.name for b in backupmod.list_backups(_ep(qa.url), tmp_path)]
    assert listed == [made.name] == ["aa_now"]


@pytest.mark.slow
def test_a_backup_retention_cannot_remove_is_left_and_the_run_goes_on(
    qa: Database, tmp_path: Path
) -> None:
    build_app(qa)
    backupmod.backup(_ep(qa.url), "old", method="template", folder=tmp_path)
    notes: list[str] = []
    with psycopg.connect(qa.server.cluster.url(f"{qa.name}__pgferry_old")):  # someone looks
        made = backupmod.backup(
            _ep(qa.url), "new", method="template", keep=1, folder=tmp_path, say=notes.append
        )
    assert made.name == "new"
    assert any("retention: backup old left in place" in n for n in notes), notes
    assert {b.name for b in backupmod.list_backups(_ep(qa.url), tmp_path)} == {"old", "new"}


def test_an_interrupted_backup_is_listed_as_incomplete_and_removed_by_retention(
    qa: Database, tmp_path: Path
) -> None:
    build_app(qa)
    backupmod.backup(_ep(qa.url), "good", method="template", folder=tmp_path)
    # what a backup killed between CREATE DATABASE and its COMMENT leaves behind
    qa.server.admin.execute(f'CREATE DATABASE "{qa.name}__pgferry_x"')
    listed = backupmod.list_backups(_ep(qa.url), tmp_path)
    assert [(b.name, b.method) for b in listed] == [
        (f"{qa.name}__pgferry_x", "incomplete"),
        ("good", "template"),
    ]
    assert backupmod.find(_ep(qa.url), None, tmp_path).name == "good"
    backupmod.backup(_ep(qa.url), "next", method="template", keep=2, folder=tmp_path)
    assert [b.name for b in backupmod.list_backups(_ep(qa.url), tmp_path)] == ["good", "next"]


def test_a_swap_stopped_before_tagging_the_old_qa_leaves_a_usable_backup(
    qa: Database, tmp_path: Path
) -> None:
    from pgferry.safety import databases

    build_app(qa)
    before = state(qa)
    # what a swap killed between its rename and its COMMENT leaves: QA's old self, untagged
    old = databases.derived_name(qa.name, "__pgferry_old_20260101T000000")
    qa.server.admin.execute(f'CREATE DATABASE "{old}" TEMPLATE "{qa.name}"')
    listed = backupmod.list_backups(_ep(qa.url), tmp_path)
    assert [(b.name, b.method) for b in listed] == [(old, "swap")]
    damage(qa)
    rollback(_ep(qa.url), folder=tmp_path)
    assert state(qa) == before


def test_an_interrupted_backup_of_a_long_named_qa_is_found_too(
    qa_server: Server, tmp_path: Path
) -> None:
    from pgferry.safety import databases

    long = "qa_" + "x" * 56  # 59 bytes: every copy's name is cut and carries a hash
    qa_server.admin.execute(f'CREATE DATABASE "{long}"')
    leftover = databases.derived_name(long, "__pgferry_20260101_000000")
    qa_server.admin.execute(f'CREATE DATABASE "{leftover}"')
    try:
        listed = backupmod.list_backups(_ep(qa_server.cluster.url(long)), tmp_path)
        assert [(b.name, b.method) for b in listed] == [(leftover, "incomplete")]
    finally:
        for name in (leftover, long):
            qa_server.admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


def test_database_settings_and_grants_survive_a_rollback(
    qa: Database, qa_server: Server, tmp_path: Path
) -> None:
    build_app(qa)
    with qa_server.role("bk_reader") as reader:
        qa.server.admin.execute(
            f"ALTER DATABASE \"{qa.name}\" SET work_mem = '8MB';"
            f'ALTER DATABASE "{qa.name}" CONNECTION LIMIT 50;'
            f'REVOKE ALL ON DATABASE "{qa.name}" FROM PUBLIC;'
            f'GRANT CONNECT ON DATABASE "{qa.name}" TO {reader};'
            f'ALTER ROLE {reader} IN DATABASE "{qa.name}" SET search_path = public, "$user"'
        )
        props = (
            "SELECT datacl::text, datconnlimit, "
            "(SELECT array_agg(setconfig::text ORDER BY setrole) "
            "FROM pg_db_role_setting s WHERE s.setdatabase = d.oid) "
            "FROM pg_database d WHERE datname = %s"
        )
        wanted = qa.server.admin.execute(props, (qa.name,))
        backupmod.backup(_ep(qa.url), "p", method="template", folder=tmp_path)
        rollback(_ep(qa.url), folder=tmp_path)
        assert qa.server.admin.execute(props, (qa.name,)) == wanted


# -- migrate's own backup ---------------------------------------------------------


@pytest.mark.slow
def test_migrate_backs_up_first_and_its_rollback_restores_qa(
    prod: Database, qa: Database, tmp_path: Path
) -> None:
    build_app(prod)
    prod.execute('INSERT INTO "Client" ("name") VALUES (\'only in prod\')')
    qa.execute(SCHEMA)
    qa.execute("INSERT INTO \"Client\" (\"name\") VALUES ('qa row'); SELECT nextval('ticket_seq')")
    before = state(qa)
    ran = migrate_cli(prod, qa, "--yes", "--report-dir", str(tmp_path), backup=True, cwd=tmp_path)
    assert ran.code == 0, ran.stderr
    assert "pgferry rollback --backup" in ran.stdout
    report = json.loads(next(tmp_path.glob("migrate-*.json")).read_text())
    assert report["backup"]["method"] == "template"
    assert report["rollback_command"].startswith("pgferry rollback --backup ")
    assert "roll back with" in next(tmp_path.glob("migrate-*.md")).read_text()
    assert state(qa) != before

    ran = run_cli("rollback", "--db", qa.url, "--yes", cwd=tmp_path)
    assert ran.code == 0, ran.stderr
    assert state(qa) == before


@pytest.mark.slow
def test_migrate_killed_mid_load_then_rollback_restores_the_state_before(
    prod: Database, qa: Database, tmp_path: Path
) -> None:
    live_prod(prod, parents=200_000, width=120)
    qa.execute(LIVE_SCHEMA)
    qa.execute(QA_STALE)
    before = state(qa)
    proc = spawn_migrate(prod.url, qa.url, "--jobs", "2", "--no-report", cwd=tmp_path)
    kill_mid_copy(proc, qa)
    assert qa.scalar("SELECT count(*) FROM parent") == 0  # the kill landed mid-load
    ran = run_cli("rollback", "--db", qa.url, "--yes", cwd=tmp_path)
    assert ran.code == 0, ran.stderr
    assert state(qa) == before


def test_migrate_stops_before_writing_when_no_backup_can_be_taken(
    prod: Database, qa: Database, qa_server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_app(prod)
    with qa_server.role("bk_nocreatedb") as role:
        give_database_to(qa, role)
        run_as(qa, role, SCHEMA)
        before = state(qa)
        # a machine without any pg_dump new enough (the finder is not the database)
        monkeypatch.setattr(backupmod, "suitable_tool", lambda name, major: None)
        with pytest.raises(backupmod.BackupError) as caught:
            run_migrate(prod.url, qa.url_as(role, "secret-pw"), backup=True)
        assert "nothing was written" in caught.value.message
        assert "CREATEDB" in caught.value.message
        assert "--no-backup" in (caught.value.hint or "")
        assert state(qa) == before


@pytest.mark.slow
@pytest.mark.parametrize("delays", [(0.15, 0.4, 0.7, 1.1)])
def test_migrate_killed_at_any_point_leaves_a_way_back(
    prod: Database, qa: Database, tmp_path: Path, delays: tuple[float, ...]
) -> None:
    """Wherever kill -9 lands (the preflight, the backup, the load, the checks afterwards,
    or after the end), QA is either untouched or the newest backup rolls it back."""
    live_prod(prod, parents=100_000, width=100)
    qa.execute(LIVE_SCHEMA)
    qa.execute(QA_STALE)
    before = state(qa)
    for delay in delays:
        proc = spawn_migrate(prod.url, qa.url, "--no-report", cwd=tmp_path)
        try:
            time.sleep(delay)
        finally:
            proc.kill()
            proc.wait()
        listed = backupmod.list_backups(_ep(qa.url), tmp_path / "pgferry-backups")
        if any(b.method != "incomplete" for b in listed):
            ran = run_cli("rollback", "--db", qa.url, "--yes", cwd=tmp_path)
            assert ran.code == 0, (delay, ran.stderr)
        assert state(qa) == before, f"killed after {delay} s"


@pytest.mark.slow
def test_rollback_refuses_a_protected_target(qa: Database, tmp_path: Path) -> None:
    build_app(qa)
    assert run_cli("backup", "--db", qa.url, cwd=tmp_path).code == 0
    damage(qa)
    damaged = state(qa)
    (tmp_path / "pgferry.toml").write_text(f'[target]\nprotected = ["{qa.name}"]\n')
    ran = run_cli("rollback", "--db", qa.url, "--yes", cwd=tmp_path)
    assert ran.code == ExitCode.REFUSED and "protected" in ran.stderr, ran.stderr
    assert state(qa) == damaged


def test_a_dump_rollback_keeps_an_icu_database_icu(qa_server: Server, tmp_path: Path) -> None:
    if qa_server.major < 15:
        pytest.skip("a database-level ICU locale needs PostgreSQL 15+")
    name = "qa_icu_rollback"
    qa_server.admin.execute(
        f"CREATE DATABASE {name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' "
        "LOCALE 'C.UTF-8' ENCODING 'UTF8'"
    )
    db = Database(qa_server, name)
    build_app(db)
    before = state(db)
    looks = (
        "SELECT datlocprovider::text, coalesce(to_jsonb(d) ->> 'datlocale', "
        "to_jsonb(d) ->> 'daticulocale') FROM pg_database d WHERE datname = %s"
    )
    wanted = qa_server.admin.execute(looks, (name,))
    backupmod.backup(_ep(db.url), "icu", method="dump", folder=tmp_path)
    damage(db)
    rollback(_ep(db.url), folder=tmp_path)
    assert wanted == [("i", "en-US")]
    assert qa_server.admin.execute(looks, (name,)) == wanted
    assert state(db) == before


def test_unnamed_backups_in_the_same_second_get_a_suffix(qa: Database, tmp_path: Path) -> None:
    build_app(qa)
    ep = _ep(qa.url)
    first = backupmod.backup(ep, method="template", folder=tmp_path)
    second = backupmod.backup(ep, method="template", folder=tmp_path)
    # the same second gets a suffix; a later one its own time
    assert second.name == first.name + "_2" or second.name > first.name
    with pytest.raises(pgferry.PgferryError, match="exists already"):
        backupmod.backup(ep, first.name, method="template", folder=tmp_path)


@pytest.mark.slow
def test_a_createdb_owner_backs_up_by_template_and_rolls_back(
    prod: Database, qa: Database, qa_server: Server, tmp_path: Path
) -> None:
    """No superuser: CREATEDB and ownership of QA are enough for template copies and a
    swap; a setting it may not carry over (another role's, in QA) is named, not fatal."""
    build_app(prod)
    with qa_server.role("bk_owner", attrs="LOGIN CREATEDB") as role, qa_server.role("bk_other"):
        give_database_to(qa, role)
        run_as(qa, role, SCHEMA)
        run_as(qa, role, "INSERT INTO ticket (body) VALUES ('qa')")
        qa_server.admin.execute(
            f"ALTER DATABASE \"{qa.name}\" SET work_mem = '7MB';"
            f"ALTER ROLE bk_other IN DATABASE \"{qa.name}\" SET work_mem = '5MB'"
        )
        url = qa.url_as(role, "secret-pw")
        before = state(qa)
        made = backupmod.backup(_ep(url), "own", folder=tmp_path)
        assert made.method == "template", made.reason
        run_as(qa, role, "DELETE FROM ticket")
        done = rollback(_ep(url), folder=tmp_path)
        assert state(qa) == before
        assert [m for m in done.not_carried if "bk_other" in m], done.not_carried
        setting = qa.scalar(
            "SELECT setconfig::text FROM pg_db_role_setting s JOIN pg_database d "
            "ON d.oid = s.setdatabase WHERE d.datname = current_database() AND setrole = 0"
        )
        assert setting == "{work_mem=7MB}"
        assert (
            qa.scalar(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
            )
            == role
        )
        ran = migrate_cli(prod, url, "--yes", "--strategy", "swap", cwd=tmp_path)
        assert ran.code == 0, ran.stderr
        assert qa.scalar("SELECT count(*) FROM ticket") == prod.scalar(
            "SELECT count(*) FROM ticket"
        )


@pytest.mark.parametrize("threshold", [0, 10**15])
def test_a_template_copy_reads_files_for_a_large_database(
    qa: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threshold: int
) -> None:
    from pgferry.safety import databases

    build_app(qa)
    before = state(qa)
    monkeypatch.setattr(databases, "FILE_COPY_FROM", threshold)  # "large" here, no 256 MiB load
    with databases.connect_maintenance(_ep(qa.url)) as conn:
        assert databases.copy_strategy(conn, qa.name) == ("FILE_COPY" if threshold == 0 else None)
    backupmod.backup(_ep(qa.url), "sized", method="template", folder=tmp_path)
    damage(qa)
    rollback(_ep(qa.url), "sized", folder=tmp_path)
    assert state(qa) == before


def test_a_size_this_role_may_not_read_means_the_default_strategy(qa: Database) -> None:
    from pgferry.safety import databases

    with databases.connect_maintenance(_ep(qa.url)) as conn:
        assert databases.copy_strategy(conn, "no_such_database") is None
        assert databases.copy_strategy(conn, qa.name, size=databases.FILE_COPY_FROM) == (
            "FILE_COPY"
        )
