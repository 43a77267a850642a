"""Swapped ``--from`` and ``--to`` are caught before anything is written (issue 12 point 9).

pgferry marks each database it refreshes; a marked source is a copy, refused as
``--from``.  A target it never refreshed that looks like production next to the
source (more data, more sessions, busier) is refused under ``--yes`` unless
``--first-refresh``; at the prompt the signs are shown, and typing the name goes on.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psycopg
import pytest

from pgferry import swapped
from pgferry.errors import ExitCode, RefusedError
from tests.migrate_support import migrate_cli, run_migrate
from tests.pgtest import SUPERUSER_PASSWORD, Database, Server
from tests.test_migrate_prompt import _run_on_a_terminal

SCHEMA = "CREATE TABLE t (id int PRIMARY KEY, pad text);"


def _rows(db: Database, count: int) -> None:
    db.execute("TRUNCATE t")
    db.execute("INSERT INTO t SELECT g, repeat('x', 300) FROM generate_series(1, %s) g", (count,))


def _pair(prod: Database, qa: Database, *, qa_rows: int) -> None:
    """Production with 10 rows, QA with *qa_rows* (20000: about 7 MB, "more data")."""
    for db in (prod, qa):
        db.execute(SCHEMA)
    _rows(prod, 10)
    _rows(qa, qa_rows)


def _comment(db: Database) -> str | None:
    value = db.scalar(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
        (db.name,),
    )
    return None if value is None else str(value)


def _count(db: Database) -> int:
    return int(db.scalar("SELECT count(*) FROM t"))


def test_a_source_pgferry_refreshed_is_refused(
    prod: Database, qa: Database, qa_server: Server, tmp_path: Path
) -> None:
    _pair(prod, qa, qa_rows=1)
    assert migrate_cli(prod, qa, "--yes", "--no-report", cwd=tmp_path).code == 0
    comment = _comment(qa)
    assert comment is not None and comment.startswith(swapped.MARK)
    assert SUPERUSER_PASSWORD not in comment
    # the URLs swapped, with --yes: production would be overwritten by its copy
    ran = migrate_cli(qa, prod, "--yes", "--no-report", cwd=tmp_path)
    assert ran.code == ExitCode.REFUSED, ran.stderr
    assert "is not production" in ran.stderr and "swapped" in ran.stderr
    assert "Traceback" not in ran.stderr
    assert _count(prod) == 10 and _comment(prod) is None
    # a chain on purpose (staging into dev) says so
    dev = qa_server.create("dev")
    dev.execute(SCHEMA)
    with pytest.raises(RefusedError, match="not production"):
        run_migrate(qa.url, dev.url)
    run_migrate(qa.url, dev.url, from_copy=True)
    assert _count(dev) == 10


def test_a_target_with_more_data_needs_first_refresh(prod: Database, qa: Database) -> None:
    _pair(prod, qa, qa_rows=20000)
    with pytest.raises(RefusedError, match="more data than the source") as err:
        run_migrate(prod.url, qa.url)
    assert err.value.exit_code == ExitCode.REFUSED
    assert "--first-refresh" in (err.value.hint or "")
    assert _count(qa) == 20000 and _comment(qa) is None
    assert qa.scalar("SELECT to_regnamespace('pgferry')") is None
    dry = run_migrate(prod.url, qa.url, dry_run=True)  # a dry run shows, and refuses nothing
    assert any("more data" in c for c in dry.plan.cautions)
    report = run_migrate(prod.url, qa.url, first_refresh=True)
    assert report.ok and _count(qa) == 10
    # marked now: the same target may grow past production and is still refreshed
    _rows(qa, 20000)
    assert run_migrate(prod.url, qa.url).ok and _count(qa) == 10


@contextmanager
def _sessions(db: Database, count: int) -> Iterator[list[psycopg.Connection[object]]]:
    with ExitStack() as stack:
        yield [
            stack.enter_context(psycopg.connect(db.url, autocommit=True, application_name="app"))
            for _ in range(count)
        ]


def test_a_target_with_many_more_sessions_is_refused(prod: Database, qa: Database) -> None:
    _pair(prod, qa, qa_rows=10)
    with _sessions(qa, 6), pytest.raises(RefusedError, match="client sessions are connected"):
        run_migrate(prod.url, qa.url)
    assert _count(qa) == 10 and _comment(qa) is None


def test_a_target_taking_writes_is_refused(prod: Database, qa: Database) -> None:
    _pair(prod, qa, qa_rows=10)
    qa.execute("CREATE TABLE app_log (id bigserial PRIMARY KEY, at timestamptz DEFAULT now())")
    stop = threading.Event()

    def write() -> None:  # an app at work on what is in fact production
        with psycopg.connect(qa.url, autocommit=True, application_name="app") as conn:
            while not stop.is_set():
                conn.execute("INSERT INTO app_log DEFAULT VALUES")
                stop.wait(0.01)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        with pytest.raises(RefusedError, match="row changes in 3 s"):
            run_migrate(prod.url, qa.url)
    finally:
        stop.set()
        writer.join()
    assert _count(qa) == 10 and _comment(qa) is None


def test_the_prompt_shows_the_signs_and_typing_the_name_goes_on(
    prod: Database, qa: Database
) -> None:
    _pair(prod, qa, qa_rows=20000)
    code, out = _run_on_a_terminal(prod, qa, qa.name)
    assert code == 0, out
    assert "may be production" in out and "more data than the source" in out
    assert _count(qa) == 10
    comment = _comment(qa)
    assert comment is not None and comment.startswith(swapped.MARK)


def test_the_mark_keeps_qa_s_own_comment(prod: Database, qa: Database) -> None:
    _pair(prod, qa, qa_rows=1)
    qa.execute(f"COMMENT ON DATABASE {qa.name} IS 'shared QA: ask #qa before dropping'")
    run_migrate(prod.url, qa.url)
    run_migrate(prod.url, qa.url)
    comment = _comment(qa) or ""
    lines = comment.splitlines()
    assert lines[0] == "shared QA: ask #qa before dropping"
    assert len(lines) == 2 and lines[1].startswith(swapped.MARK), comment


def test_swap_checks_the_real_qa(prod: Database, qa: Database, tmp_path: Path) -> None:
    _pair(prod, qa, qa_rows=20000)
    ran = migrate_cli(prod, qa, "--yes", "--no-report", "--strategy", "swap", cwd=tmp_path)
    assert ran.code == ExitCode.REFUSED, ran.stderr
    assert "may be production" in ran.stderr
    left = qa.server.admin.scalar(
        "SELECT count(*) FROM pg_database WHERE datname LIKE %s", (f"{qa.name}__pgferry%",)
    )
    assert left == 0 and _count(qa) == 20000
    ran = migrate_cli(
        prod, qa, "--yes", "--no-report", "--strategy", "swap", "--first-refresh", cwd=tmp_path
    )
    assert ran.code == 0, ran.stderr
    assert _count(qa) == 10
    comment = _comment(qa)
    assert comment is not None and comment.startswith(swapped.MARK)


def test_marked_replaces_the_mark_and_a_copy_s_tag() -> None:
    line = f"{swapped.MARK} from h:5432/app as u at 2026-12-07T00:00:00Z"
    assert swapped.marked(None, line) == line
    assert swapped.marked('{"pgferry": 1, "kind": "backup"}', line) == line
    assert swapped.marked(f"ours\n\n{swapped.MARK} from old", line) == f"ours\n{line}"
    assert swapped.Use(0, '{"pgferry": 1}').refreshed is not None
    assert swapped.Use(0, "a team's note").refreshed is None
