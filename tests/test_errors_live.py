"""Errors that must be one clear line with a documented exit code (issue 12, "Why" 9).

Each case is provoked for real on the test clusters: an unwritable report folder,
SIGTERM and SIGHUP mid-COPY, a full tablespace on QA, either side's session ended
mid-COPY (what a server restart does to it), a backup database the role may not
connect to, a rerun in the same second as an interrupted backup, and production
without ``EXECUTE`` on ``pg_control_system()``.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from psycopg import sql

import pgferry
from pgferry.safety import backup as backupmod
from tests.migrate_support import (
    copying,
    foreign_keys,
    give_database_to,
    journal_rows,
    migrate_cli,
    run_as,
    run_cli,
    spawn_cli,
)
from tests.pgtest import Database, Server

SCHEMA = """
CREATE TABLE parent (id BIGSERIAL PRIMARY KEY, payload TEXT NOT NULL);
CREATE TABLE child (
    id BIGSERIAL PRIMARY KEY,
    parent_id BIGINT NOT NULL REFERENCES parent (id),
    payload TEXT
);
CREATE INDEX child_payload ON child (payload);
"""


STALE = "INSERT INTO parent (payload) VALUES ('stale');"


def _small(prod: Database, qa: Database | None) -> None:
    """Both sides hold the schema; production ten rows, QA (when given) one stale row."""
    prod.execute(
        SCHEMA + "INSERT INTO parent (payload) SELECT 'p' || g FROM generate_series(1, 10) g;"
        "INSERT INTO child (parent_id, payload) SELECT g, 'c' FROM generate_series(1, 10) g;"
    )
    if qa is not None:
        qa.execute(SCHEMA + STALE)


def test_unwritable_report_folder_is_refused_before_qa_is_written(
    prod: Database, qa: Database, tmp_path: Path
) -> None:
    _small(prod, qa)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the report folder would go\n")
    folder = blocker / "runs"

    ran = migrate_cli(prod, qa, "--yes", "--report-dir", str(folder))

    assert ran.code == 2, ran.stderr + ran.stdout
    errors = [line for line in ran.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, ran.stderr
    assert str(folder) in errors[0]
    assert "Traceback" not in ran.stderr
    assert qa.execute("SELECT payload FROM parent") == [("stale",)]  # QA not touched


BIG = """
CREATE TABLE parent (id BIGSERIAL PRIMARY KEY, payload TEXT NOT NULL, tag INT);
CREATE INDEX parent_tag ON parent (tag);
CREATE TABLE child (id BIGSERIAL PRIMARY KEY, parent_id BIGINT NOT NULL REFERENCES parent (id));
"""


def _big(prod: Database, rows: int = 300_000) -> None:
    """A parent table big enough to be caught mid-COPY, and a child under a foreign key."""
    prod.execute(
        BIG + f"INSERT INTO parent (payload, tag) SELECT repeat('p', 150) || g, g % 100 "
        f"FROM generate_series(1, {rows}) g;"
        "INSERT INTO child (parent_id) SELECT g * 3 FROM generate_series(1, 1000) g; ANALYZE"
    )


def _indexes(db: Database) -> list[tuple[str, str]]:
    return [
        (r[0], r[1])
        for r in db.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"
        )
    ]


def _spawn(*args: str, cwd: Path) -> subprocess.Popen[str]:
    """``python -m pgferry ARGS`` in the background, stderr kept."""
    return spawn_cli(*args, cwd=cwd, stderr=subprocess.PIPE)


def _wait_for(proc: subprocess.Popen[str], ready: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 60
    while not ready():
        if proc.poll() is not None:
            pytest.fail(f"pgferry ended before {what}: {proc.communicate()[1]}")
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            pytest.fail(f"never saw {what}")
        time.sleep(0.02)


def _error_lines(stderr: str) -> list[str]:
    """What pgferry said, blank lines aside (click closes a terminal's ^C echo with one)."""
    return [line for line in stderr.splitlines() if line.strip()]


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_mid_copy_put_qa_back_and_report(
    prod: Database,
    qa: Database,
    qa_server: Server,
    tmp_path: Path,
    sig: signal.Signals,
    code: int,
) -> None:
    _big(prod)
    with qa_server.role("signal_test_app") as role:
        give_database_to(qa, role)
        run_as(qa, role, BIG)  # constraints mode: the key and the index are set aside
        qa_url = qa.url_as(role, "secret-pw")
        fks_before, indexes_before = foreign_keys(qa), _indexes(qa)
        runs = tmp_path / "runs"
        proc = _spawn(
            "migrate", "--from", prod.url, "--to", qa_url, "--yes", "--no-backup",
            "--jobs", "1", "--report-dir", str(runs), cwd=tmp_path,
        )  # fmt: skip
        try:
            _wait_for(proc, lambda: copying(qa), "a COPY into parent")
            assert journal_rows(qa), "nothing was set aside before the COPY"
            proc.send_signal(sig)
            _, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    assert proc.returncode == code, stderr
    said = _error_lines(stderr)
    assert len(said) == 1, stderr
    assert said[0].startswith(f"error: stopped by {sig.name}"), said
    reports = sorted(runs.glob("migrate-*.md"))
    assert len(reports) == 1, list(runs.iterdir()) if runs.exists() else "no report folder"
    assert str(reports[0]) in said[0]
    text = reports[0].read_text()
    assert "STOPPED" in text and sig.name in text, text
    assert _missing_objects(qa) == 0  # everything set aside was put back
    assert foreign_keys(qa) == fks_before
    assert _indexes(qa) == indexes_before


_tablespaces = itertools.count(1)


@pytest.fixture
def tiny_tablespace(qa_server: Server, qa: Database) -> Iterator[str]:
    """A 4 MB tmpfs as a tablespace of QA's cluster: a disk that fills for real.

    Needs root (to mount) and a QA cluster on this machine; skipped with the reason
    where the container forbids mounting.
    """
    if os.geteuid() != 0:
        pytest.skip("a small filesystem for the full-disk test needs root to mount it")
    folder = Path(tempfile.mkdtemp(prefix="pgferry-tiny-"))
    folder.chmod(0o755)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        folder.rmdir()
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    owner = qa_server.cluster.datadir.stat()
    os.chown(folder, owner.st_uid, owner.st_gid)
    name = f"tiny_{next(_tablespaces)}_{os.getpid()}"
    try:
        qa_server.admin.execute(
            sql.SQL("CREATE TABLESPACE {} LOCATION {}").format(
                sql.Identifier(name), sql.Literal(str(folder))
            )
        )
        yield name
    finally:
        qa.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        qa_server.admin.execute(
            sql.SQL("DROP TABLESPACE IF EXISTS {}").format(sql.Identifier(name))
        )
        subprocess.run(["umount", str(folder)], check=False)
        folder.rmdir()


def test_qa_out_of_disk_space_names_the_table(
    prod: Database, qa: Database, tiny_tablespace: str, tmp_path: Path
) -> None:
    _big(prod, rows=60_000)  # about 10 MB: more than the tablespace holds
    qa.execute(BIG)
    qa.execute(
        sql.SQL("ALTER TABLE parent SET TABLESPACE {}").format(sql.Identifier(tiny_tablespace))
    )

    ran = migrate_cli(prod, qa, "--yes", "--report-dir", str(tmp_path / "runs"))

    assert ran.code == 9, ran.stderr + ran.stdout
    said = _error_lines(ran.stderr)
    errors = [line for line in said if line.startswith("error:")]
    assert len(errors) == 1, ran.stderr
    assert "QA's server is out of disk space" in errors[0], errors
    assert "parent" in errors[0], errors
    assert "network" not in ran.stderr
    assert _missing_objects(qa) == 0


def _copying_out(prod: Database) -> bool:
    """Whether a pgferry worker runs COPY out of production's ``parent`` now."""
    return bool(
        prod.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = 'pgferry source worker' AND state = 'active' "
            "AND query ILIKE 'COPY%parent%'"
        )
    )


_END_SESSION = """
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
WHERE datname = current_database() AND application_name = %s AND query ILIKE 'COPY%%parent%%'
"""


@pytest.mark.slow
@pytest.mark.parametrize("side", ["production", "QA"])
def test_a_session_ended_mid_copy_is_one_line_naming_the_side(
    prod: Database, qa: Database, tmp_path: Path, side: str
) -> None:
    """pg_terminate_backend of the COPY's session is what a server restart does to it
    (SQLSTATE 57P01, then the socket closes)."""
    _big(prod)
    qa.execute(BIG)
    proc = _spawn(
        "migrate", "--from", prod.url, "--to", qa.url, "--yes", "--no-backup",
        "--jobs", "1", "--report-dir", str(tmp_path / "runs"), cwd=tmp_path,
    )  # fmt: skip
    try:
        if side == "production":
            _wait_for(proc, lambda: _copying_out(prod), "a COPY out of production")
            ended = prod.scalar(_END_SESSION, ("pgferry source worker",))
        else:
            _wait_for(proc, lambda: copying(qa), "a COPY into QA")
            ended = qa.scalar(_END_SESSION, ("pgferry load",))
        assert ended == 1
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    assert proc.returncode == 4, stderr
    said = _error_lines(stderr)
    errors = [line for line in said if line.startswith("error:")]
    assert len(errors) == 1, stderr
    assert f"{side}'s server closed the connection during the COPY of public.parent" in errors[0]
    assert not [line for line in said if not line.startswith(("error:", "hint:"))], stderr
    assert _missing_objects(qa) == 0


@pytest.mark.slow
def test_a_backup_database_the_role_may_not_connect_to_does_not_stop_the_others(
    prod: Database, qa: Database, qa_server: Server, tmp_path: Path
) -> None:
    """Another QA's backup, revoked from this role, is none of this QA's business: its
    backups, a migrate with its backup and a rollback all work past it."""
    other = qa_server.create("other_qa")
    other.execute("CREATE TABLE t (x int)")
    theirs = backupmod.backup(
        pgferry.parse(other.url, role="qa"), "theirs", method="template", folder=tmp_path
    )
    revoke = sql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(
        sql.Identifier(theirs.location)
    )
    qa_server.admin.execute(revoke)
    _small(prod, None)
    try:
        with qa_server.role("noconnect_app", attrs="LOGIN CREATEDB") as role:
            give_database_to(qa, role)
            run_as(qa, role, SCHEMA + STALE)
            url = qa.url_as(role, "secret-pw")
            folder = ("--folder", str(tmp_path / "dumps"))

            taken = run_cli("backup", "--db", url, "--name", "mine", *folder, cwd=tmp_path)
            assert taken.code == 0, taken.stderr
            listed = run_cli("backups", "--db", url, "--json", *folder, cwd=tmp_path)
            assert listed.code == 0, listed.stderr
            assert [b["name"] for b in json.loads(listed.stdout)] == ["mine"]
            ran = migrate_cli(prod, url, "--yes", "--report-dir", str(tmp_path), backup=True)
            assert ran.code == 0, ran.stderr + ran.stdout
            back = run_cli(
                "rollback", "--db", url, "--backup", "mine", "--yes", *folder, cwd=tmp_path
            )
            assert back.code == 0, back.stderr + back.stdout
            assert qa.execute("SELECT payload FROM parent") == [("stale",)]
    finally:
        drop = sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(theirs.location))
        qa_server.admin.execute(drop)


def test_a_backup_in_the_same_second_as_an_interrupted_one_gets_its_own_name(
    qa: Database, qa_server: Server, tmp_path: Path
) -> None:
    """An interrupted template backup leaves ``<qa>__pgferry_<time>`` untagged; a rerun in
    that second must not pick the same name.  Leftovers are made for the next seconds so
    the backup below surely falls into one of them."""
    qa.execute(SCHEMA + STALE)
    start = time.time()
    leftovers = [
        backupmod.template_name(qa.name, time.strftime("%Y%m%d_%H%M%S", time.gmtime(start + i)))
        for i in range(6)
    ]
    for name in leftovers:
        qa_server.admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name))
        )
    assert time.time() < start + 5, "the leftovers took too long to make"
    try:
        made = backupmod.backup(
            pgferry.parse(qa.url, role="qa"), method="template", folder=tmp_path
        )
        assert made.location not in leftovers
        listed = backupmod.list_backups(pgferry.parse(qa.url, role="qa"), tmp_path)
        assert made.name in [b.name for b in listed if b.method == "template"]
    finally:
        for name in leftovers:
            drop = sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name))
            qa_server.admin.execute(drop)


@pytest.mark.slow
def test_the_same_database_check_works_without_pg_control_system(
    prod: Database, qa: Database, prod_server: Server, tmp_path: Path
) -> None:
    """Production's role without EXECUTE on pg_control_system() (revoked in this database
    only: functions are per database): a migrate to QA runs, and production reached as
    QA through another spelling of its URL is still refused."""
    _small(prod, qa)
    prod.execute("REVOKE EXECUTE ON FUNCTION pg_catalog.pg_control_system() FROM PUBLIC")
    with prod_server.role("no_control_reader") as role:
        prod.execute(
            sql.SQL(
                "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {0};"
                "GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO {0}"
            ).format(sql.Identifier(role))
        )
        reader = prod.url_as(role, "secret-pw")
        assert not prod.scalar(
            "SELECT has_function_privilege(%s, 'pg_catalog.pg_control_system()', 'EXECUTE')",
            (role,),
        )

        ran = migrate_cli(reader, qa, "--yes", "--report-dir", str(tmp_path))
        assert ran.code == 0, ran.stderr + ran.stdout
        assert qa.scalar("SELECT count(*) FROM parent") == 10

        itself = prod.url.replace("127.0.0.1", "localhost")
        for source, target in ((reader, itself), (reader, reader)):
            ran = migrate_cli(source, target, "--yes", "--report-dir", str(tmp_path))
            assert ran.code == 6, ran.stderr + ran.stdout
            assert "is the production database itself" in ran.stderr
    assert prod.scalar("SELECT count(*) FROM parent") == 10


def _missing_objects(qa: Database) -> int:
    """Journaled objects not back in QA (a stopped run keeps its mid-refresh row, and a key
    its data do not satisfy yet is back NOT VALID, still journaled to be validated)."""
    if journal_rows(qa) is None:
        return 0
    return int(
        qa.scalar(
            "SELECT count(*) FROM pgferry.journal j WHERE j.kind IN ('index', 'trigger') "
            "OR (j.kind = 'fk' AND NOT EXISTS (SELECT FROM pg_constraint c "
            "WHERE c.conname = j.name AND c.conrelid = to_regclass("
            "quote_ident(j.table_schema) || '.' || quote_ident(j.table_name))))"
        )
    )
