"""``pgferry migrate`` on a schema of thousands of tables, at the default
``max_locks_per_transaction`` (64).

The server's lock table holds ``max_locks_per_transaction * (max_connections +
max_prepared_transactions)`` entries for every session together (6,400 on the
test clusters); emptying 2,500 tables with a primary key and a TOAST table each
in one ``TRUNCATE`` would need about 10,000.  pgferry works in batches that fit,
and says which setting to raise where one statement must hold every lock.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from pgferry.catalog import Name
from pgferry.errors import ExitCode, from_server
from pgferry.locks import (
    LockBudget,
    _groups,
    _too_big,
    read_budget,
    truncate_batches,
    truncate_locks,
)
from tests.migrate_support import (
    assert_same_content,
    build_many_tables,
    foreign_keys,
    give_database_to,
    journal_rows,
    migrate_cli,
)
from tests.pgtest import Database, Server

#: Tables for the app-role run: more than half the lock table in one statement. The
#: superuser run on 5,000 tables is in test_schema_big, after its push.
OWNED_TABLES = 1200


@pytest.mark.slow
def test_big_schema_app_role_constraints_mode_in_batches(
    prod_server: Server, qa_server: Server
) -> None:
    prod = prod_server.create("big_prod_owned")
    build_many_tables(prod, OWNED_TABLES, rows=True)
    qa = qa_server.create("big_qa_owned")
    with qa_server.role("big_app") as owner:
        give_database_to(qa, owner)
        build_many_tables(qa, OWNED_TABLES, rows=False, owner=owner)
        qa.execute("INSERT INTO t7 VALUES (99, 'stale QA row', NULL)")

        ran = migrate_cli(
            prod, qa.url_as(owner, "secret-pw"), "--yes", "--jobs", "2", "--json", timeout=300
        )

        assert ran.code == 0, ran.stderr
        assert_same_content(prod, qa)
        assert journal_rows(qa) is None
        assert sorted(foreign_keys(qa)) == sorted(foreign_keys(prod))
        indexes = qa.scalar("SELECT count(*) FROM pg_indexes WHERE indexname LIKE 't%_v'")
        assert indexes == OWNED_TABLES // 25


def _failing_view(prod: Database, qa: Database, state: str, message: str, hint: str) -> None:
    """A materialized view whose refresh in QA fails with a real server error *state*."""
    prod.execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)")
    prod.execute("CREATE MATERIALIZED VIEW mv AS SELECT 1 AS one")
    qa.execute("CREATE TABLE t (id int PRIMARY KEY)")
    qa.execute(
        sql.SQL(
            "CREATE FUNCTION boom() RETURNS int LANGUAGE plpgsql AS $f$BEGIN "
            "RAISE EXCEPTION USING MESSAGE = {m}, ERRCODE = {s}, HINT = {h}; END$f$"
        ).format(m=sql.Literal(message), s=sql.Literal(state), h=sql.Literal(hint))
    )
    qa.execute("CREATE MATERIALIZED VIEW mv AS SELECT boom() AS one WITH NO DATA")


def test_out_of_shared_memory_reaches_the_user_verbatim_with_the_report(
    prod: Database, qa: Database, tmp_path: Path
) -> None:
    hint = "You might need to increase max_locks_per_transaction."
    _failing_view(prod, qa, "53200", "out of shared memory", hint)

    ran = migrate_cli(prod, qa, "--yes", "--report-dir", str(tmp_path))

    assert ran.code == ExitCode.RESOURCES == 9, ran.stderr
    assert "connection failed" not in ran.stderr and "network" not in ran.stderr
    assert "error: out of shared memory (SQLSTATE 53200)" in ran.stderr
    assert f"the server's hint: {hint}" in ran.stderr
    assert "raise max_locks_per_transaction on QA's server" in ran.stderr
    assert "what was done: " in ran.stderr
    md = next(tmp_path.glob("migrate-*.md")).read_text()
    assert "**STOPPED**" in md and "out of shared memory" in md
    data = json.loads(next(tmp_path.glob("migrate-*.json")).read_text())
    assert data["ok"] is False and "53200" in data["error"]


def test_disk_full_says_so_not_the_network(prod: Database, qa: Database, tmp_path: Path) -> None:
    _failing_view(prod, qa, "53100", "could not extend file: No space left on device", "Check.")

    ran = migrate_cli(prod, qa, "--yes", "--report-dir", str(tmp_path))

    assert ran.code == ExitCode.RESOURCES, ran.stderr
    assert "error: QA's server is out of disk space: could not extend file" in ran.stderr
    assert "network" not in ran.stderr
    assert "the server's hint: Check." in ran.stderr


def test_other_server_error_is_not_a_lost_connection(qa: Database) -> None:
    with psycopg.connect(qa.url) as conn, pytest.raises(psycopg.Error) as caught:
        conn.execute("SELECT 1/0")
    refused = from_server(caught.value)
    assert refused is not None and refused.exit_code == ExitCode.ERROR
    assert refused.message == "the server refused a statement: division by zero (SQLSTATE 22012)"


def test_one_group_too_big_for_the_lock_table_refuses_before_writing(qa: Database) -> None:
    for i in range(3):
        qa.execute(f"CREATE TABLE g{i} (id int PRIMARY KEY, v text)")
    tables = [Name("public", f"g{i}") for i in range(3)]
    with psycopg.connect(qa.url, autocommit=True) as conn:
        assert read_budget(conn).slots == 64 * 100
        assert truncate_locks(conn, tables) == dict.fromkeys(tables, 4)
        assert truncate_batches(conn, tables) == [tables]
    # on a server that lets one transaction take 5 locks, a tied pair of 8 cannot be split
    small = LockBudget(1, 10, 0)
    assert small.per_transaction == 5
    assert small.setting_for(9) == 64
    assert LockBudget(64, 100, 0).setting_for(14_000) == 320
    err = _too_big(tables[:2], 8, small)
    assert err.exit_code == ExitCode.RESOURCES
    assert "nothing was written" in err.message
    assert err.hint is not None and "raise max_locks_per_transaction to 64" in err.hint


def test_groups_keep_tied_tables_together() -> None:
    a, b, c, d = (Name("public", x) for x in "abcd")
    assert _groups([a, b, c, d], [(a, c), (d, c)]) == [[a, c, d], [b]]
