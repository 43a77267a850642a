"""Library calls raise the documented pgferry errors, with the CLI's exit codes
(issue 13 point 3): a bad URL, a refused connection, a lost session and a missing
privilege, each provoked for real."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest
from psycopg import sql

import pgferry
from pgferry.embedded import free_port
from pgferry.errors import ExitCode
from tests.migrate_support import run_cli
from tests.pgtest import Database, Server

SCHEMA = (
    "CREATE TABLE secret (id BIGSERIAL PRIMARY KEY, v TEXT);INSERT INTO secret (v) VALUES ('x');"
)


def test_a_bad_url_is_a_config_error_without_the_password() -> None:
    with pytest.raises(pgferry.ConfigError) as caught:
        pgferry.parse("postgresql://app:hunter2@db.example:notaport/app", role="qa")
    assert caught.value.exit_code == ExitCode.USAGE
    assert "hunter2" not in str(caught.value)


def test_a_refused_connection_is_connection_failed_from_every_entry_point(
    prod: Database,
) -> None:
    src = pgferry.parse(prod.url, role="prod")
    closed = pgferry.parse(f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere", role="qa")
    calls: dict[str, Callable[[], object]] = {
        "connect": lambda: pgferry.connect(closed),
        "run_verify": lambda: pgferry.run_verify(src, closed),
        "schema_diff": lambda: pgferry.schema_diff(src, closed),
        "push": lambda: pgferry.push(src, closed, dry_run=True),
        "list_backups": lambda: pgferry.list_backups(closed),
        "run_backup": lambda: pgferry.run_backup(closed),
        "run_migrate": lambda: pgferry.run_migrate(src, closed, pgferry.MigrateOptions()),
    }
    for name, call in calls.items():
        with pytest.raises(pgferry.ConnectionFailed) as caught:
            call()
        assert caught.value.exit_code == ExitCode.CONNECTION, name
        assert "127.0.0.1" in caught.value.message, (name, caught.value.message)


def test_a_lost_session_is_connection_failed_not_a_psycopg_error(
    qa: Database, qa_server: Server
) -> None:
    qa.execute(SCHEMA)
    calls: dict[str, Callable[[psycopg.Connection[tuple[object, ...]]], object]] = {
        "read_catalog": pgferry.read_catalog,
        "check_sequences": pgferry.check_sequences,
        "fix_sequences": pgferry.fix_sequences,
    }
    for name, call in calls.items():
        conn = pgferry.connect(pgferry.parse(qa.url, role="qa"), autocommit=True)
        try:
            qa_server.admin.execute("SELECT pg_terminate_backend(%s)", [conn.info.backend_pid])
            with pytest.raises(pgferry.ConnectionFailed) as caught:
                call(conn)
        finally:
            conn.close()
        assert caught.value.exit_code == ExitCode.CONNECTION, name
        assert isinstance(caught.value.__cause__, psycopg.OperationalError), name
        assert caught.value.hint, name


def test_a_missing_privilege_is_privilege_error_as_the_cli_says(
    prod: Database, qa: Database, qa_server: Server
) -> None:
    prod.execute(SCHEMA)
    qa.execute(SCHEMA)
    with qa_server.role("lib_no_select") as role:
        qa.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(role)))
        qa.execute(sql.SQL("REVOKE ALL ON secret FROM {}").format(sql.Identifier(role)))
        qa_url = qa.url_as(role, "secret-pw")
        with pytest.raises(pgferry.PrivilegeError) as caught:
            pgferry.run_verify(
                pgferry.parse(prod.url, role="prod"),
                pgferry.parse(qa_url, role="qa"),
                inserts=False,
                large_objects=False,
            )
        ran = run_cli("verify", "--from", prod.url, "--to", qa_url, "--no-insert-check")
    assert caught.value.exit_code == ExitCode.PERMISSION
    assert "secret" in caught.value.message
    assert isinstance(caught.value.__cause__, psycopg.errors.InsufficientPrivilege)
    assert ran.code == caught.value.exit_code, ran.stderr
    assert f"error: {caught.value.message}" in ran.stderr.splitlines()
