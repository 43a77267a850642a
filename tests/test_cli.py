"""The ``pgferry`` command: help everywhere, one-line errors with exit codes,
JSON for machines, and never a password on screen."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import click
import pytest

import pgferry
from pgferry.cli import cli, main
from pgferry.embedded import free_port
from pgferry.errors import ExitCode
from tests.pgtest import ROOT, SUPERUSER_PASSWORD, Database

# -- helpers ----------------------------------------------------------------------


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m pgferry ARGS`` in a child process, environment as the test left it."""
    return subprocess.run(
        [sys.executable, "-m", "pgferry", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        check=False,
    )


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``pgferry.cli.main(ARGS)`` in this process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    code = info.value.code
    assert isinstance(code, int), code
    return code, out, err


def assert_no_secret(*texts: str, secrets: tuple[str, ...] = (SUPERUSER_PASSWORD,)) -> None:
    for text in texts:
        for secret in secrets:
            assert secret not in text, text


def assert_error_lines(err: str) -> str:
    """stderr is one ``error:`` line and at most one ``hint:`` line; returns the error."""
    lines = err.rstrip("\n").splitlines()
    assert "Traceback" not in err
    assert 1 <= len(lines) <= 2, err
    assert lines[0].startswith("error: "), err
    if len(lines) == 2:
        assert lines[1].startswith("hint: "), err
    return lines[0]


def closed_port_url(dbname: str = "postgres") -> str:
    return f"postgresql://postgres:{SUPERUSER_PASSWORD}@127.0.0.1:{free_port()}/{dbname}"


# -- help -------------------------------------------------------------------------


def _walk(cmd: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    if isinstance(cmd, click.Group):
        for name in sorted(cmd.commands):
            yield from _walk(cmd.commands[name], (*path, name))


def _command(path: tuple[str, ...]) -> click.Command:
    cmd: click.Command = cli
    for name in path:
        assert isinstance(cmd, click.Group)
        cmd = cmd.commands[name]
    return cmd


def _params(path: tuple[str, ...]) -> list[click.Parameter]:
    """The command's parameters, --help included, in a context built as click builds
    it (a bare Context would make and cache a help option without -h)."""
    cmd: click.Command = cli
    ctx = click.Context(cli, info_name="pgferry", **cli.context_settings)
    for name in path:
        assert isinstance(cmd, click.Group)
        cmd = cmd.commands[name]
        ctx = click.Context(cmd, info_name=name, parent=ctx, **cmd.context_settings)
    params = cmd.get_params(ctx)
    assert any(isinstance(p, click.Option) and "-h" in p.opts for p in params)
    return params


COMMANDS = list(_walk(cli))


def test_the_command_tree_is_what_the_readme_shows() -> None:
    assert () in COMMANDS
    assert ("sequences", "check") in COMMANDS
    assert ("sequences", "fix") in COMMANDS


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "pgferry")
def test_every_command_and_option_has_help(path: tuple[str, ...]) -> None:
    cmd = _command(path)
    assert (cmd.help or "").strip(), f"pgferry {' '.join(path)} has no help text"
    for param in _params(path):
        if isinstance(param, click.Option):
            assert (param.help or "").strip(), f"{' '.join(path)} {param.opts} has no help"
        else:  # an argument: click gives it no help, so the command's text names it
            name = (param.name or "").replace("_", " ")
            assert name.lower() in (cmd.help or "").lower(), f"{param.name} undocumented"


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "pgferry")
def test_help_prints_for_every_command(
    capsys: pytest.CaptureFixture[str], path: tuple[str, ...]
) -> None:
    code, out, err = call(capsys, *path, "--help")
    assert code == 0
    assert err == ""
    assert out.startswith(f"Usage: {' '.join(('pgferry', *path))} ")
    cmd = _command(path)
    first_line = (cmd.help or "").strip().splitlines()[0]
    assert first_line.split()[0] in out
    for param in _params(path):
        if isinstance(param, click.Option):
            assert param.opts[-1] in out, param.opts
    # -h is the short form
    assert call(capsys, *path, "-h")[1] == out


def test_help_and_version_through_python_m() -> None:
    proc = run("--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Usage: pgferry [OPTIONS] COMMAND [ARGS]...")
    assert "sequences" in proc.stdout
    assert "--traceback" in proc.stdout
    assert proc.stderr == ""

    proc = run("--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"pgferry, version {pgferry.__version__}"


def test_no_command_shows_the_help_as_a_usage_error() -> None:
    proc = run()
    assert proc.returncode == ExitCode.USAGE
    assert "Usage: pgferry" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


def test_version_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = call(capsys, "--version")
    assert code == 0
    assert pgferry.__version__ in out


# -- usage errors -------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["--no-such-option"],
        ["sequences", "check", "--no-such-option"],
        ["sequences", "fix", "--all", "--bogus"],
        ["no-such-command"],
    ],
)
def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    code, out, err = call(capsys, *args)
    assert code == ExitCode.USAGE == 2
    assert "Traceback" not in err
    assert "Error:" in err
    assert out == ""


def test_bad_usage_through_python_m() -> None:
    proc = run("sequences", "check", "--no-such-option")
    assert proc.returncode == 2
    assert "No such option" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_usage_error_does_not_repeat_a_password(capsys: pytest.CaptureFixture[str]) -> None:
    url = closed_port_url()
    # the URL given where no argument is expected: click quotes it back
    code, out, err = call(capsys, "sequences", "check", url)
    assert code == 2
    assert "unexpected extra argument" in err
    assert "postgresql://postgres:***@127.0.0.1" in err
    assert_no_secret(out, err)


def test_unreadable_url_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"postgresql://postgres:{SUPERUSER_PASSWORD}@127.0.0.1/db?no_such_param=1"
    code, out, err = call(capsys, "sequences", "check", "--db", url)
    assert code == ExitCode.USAGE
    line = assert_error_lines(err)
    assert "no_such_param" in line
    assert_no_secret(out, err)


# -- connection errors -----------------------------------------------------------------


def test_refused_connection_is_one_line_and_exit_4() -> None:
    url = closed_port_url("appdb")
    proc = run("sequences", "check", "--db", url)
    assert proc.returncode == ExitCode.CONNECTION == 4
    assert proc.stdout == ""
    line = assert_error_lines(proc.stderr)
    port = url.rsplit(":", 1)[1].split("/")[0]
    assert (
        line == f"error: cannot connect to 127.0.0.1:{port}/appdb as postgres: Connection refused"
    )
    assert "hint: is the server running" in proc.stderr
    assert_no_secret(proc.stdout, proc.stderr)


def test_traceback_flag_shows_the_traceback() -> None:
    url = closed_port_url()
    for args, env in (
        (["--traceback", "sequences", "check", "--db", url], {}),
        (["sequences", "check", "--db", url], {"PGFERRY_TRACEBACK": "1"}),
    ):
        proc = run(*args, env=env)
        assert proc.returncode == 4
        assert "Traceback (most recent call last)" in proc.stderr
        assert "ConnectionFailed" in proc.stderr
        lines = proc.stderr.rstrip("\n").splitlines()
        assert lines[-2].startswith("error: cannot connect to")
        assert lines[-1].startswith("hint: ")
        assert_no_secret(proc.stdout, proc.stderr)


def test_wrong_password_is_masked_everywhere(
    prod: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = "Wr0ng-Pa55-for-cli"
    url = prod.url_as("postgres", wrong)
    code, out, err = call(capsys, "sequences", "check", "--db", url)
    assert code == 4
    line = assert_error_lines(err)
    assert "password authentication failed" in line
    assert f"/{prod.name} as postgres" in line
    assert_no_secret(out, err, secrets=(wrong, SUPERUSER_PASSWORD))

    code, out, err = call(capsys, "--traceback", "sequences", "fix", "--db", url, "--json")
    assert code == 4
    assert "Traceback" in err
    assert_no_secret(out, err, secrets=(wrong, SUPERUSER_PASSWORD))


def test_password_from_the_environment_is_masked(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", closed_port_url())
    code, out, err = call(capsys, "sequences", "check")
    assert code == 4
    assert_error_lines(err)
    assert_no_secret(out, err)


def test_prod_url_in_fix_from_is_masked(prod: Database, capsys: pytest.CaptureFixture[str]) -> None:
    prod.execute("CREATE TABLE t (id serial PRIMARY KEY)")
    code, out, err = call(
        capsys, "sequences", "fix", "--db", prod.url, "--from", closed_port_url(), "--dry-run"
    )
    assert code == 4
    line = assert_error_lines(err)
    assert line.startswith("error: cannot connect to production database 127.0.0.1:")
    assert_no_secret(out, err)


# -- sequences check: output ----------------------------------------------------------

REPORT_KEYS = {
    "database",
    "source",
    "dry_run",
    "applied",
    "healthy",
    "counts",
    "sequences",
    "hints",
}
COUNT_KEYS = {"sequences", "problems", "fixed", "skipped"}
SEQUENCE_KEYS = {
    "sequence",
    "type",
    "increment",
    "columns",
    "status",
    "data_extreme",
    "extreme_column",
    "next_value",
    "source_next_value",
    "new_next_value",
    "note",
}


def _behind(db: Database) -> None:
    db.execute(
        'CREATE TABLE "Order" (id serial PRIMARY KEY, note text);'
        "CREATE TABLE ok (id serial PRIMARY KEY);"
        """INSERT INTO "Order" (id, note) SELECT g, 'x' FROM generate_series(1, 42) g;"""
    )


def _parse_report(out: str) -> dict[str, Any]:
    data = json.loads(out)
    assert set(data) == REPORT_KEYS
    assert set(data["counts"]) == COUNT_KEYS
    for seq in data["sequences"]:
        assert set(seq) == SEQUENCE_KEYS
    return dict(data)


def test_check_json_when_behind(qa: Database) -> None:
    _behind(qa)
    proc = run("sequences", "check", "--db", qa.url, "--json")
    assert proc.returncode == ExitCode.FOUND == 1, proc.stderr
    data = _parse_report(proc.stdout)
    assert data["database"] == qa.name
    assert data["healthy"] is False
    assert data["counts"] == {"sequences": 2, "problems": 1, "fixed": 0, "skipped": 0}
    by_name = {s["sequence"]: s for s in data["sequences"]}
    order = by_name['public."Order_id_seq"']
    assert order["status"] == "behind"
    assert order["columns"] == ['public."Order".id']
    assert (order["data_extreme"], order["next_value"]) == (42, 1)
    assert by_name["public.ok_id_seq"]["status"] == "ok"
    assert_no_secret(proc.stdout, proc.stderr)


def test_check_json_when_healthy(prod: Database, capsys: pytest.CaptureFixture[str]) -> None:
    prod.execute("CREATE TABLE t (id serial PRIMARY KEY); INSERT INTO t DEFAULT VALUES")
    code, out, err = call(capsys, "sequences", "check", "--db", prod.url, "--json")
    assert code == 0, err
    data = _parse_report(out)
    assert data["healthy"] is True
    assert data["counts"]["problems"] == 0
    assert [s["status"] for s in data["sequences"]] == ["ok"]
    assert_no_secret(out, err)


def test_fix_dry_run_json(qa: Database, capsys: pytest.CaptureFixture[str]) -> None:
    _behind(qa)
    code, out, err = call(capsys, "sequences", "fix", "--db", qa.url, "--dry-run", "--json")
    assert code == 0, err
    data = _parse_report(out)
    assert data["dry_run"] is True
    assert data["applied"] is False
    order = next(s for s in data["sequences"] if s["sequence"] == 'public."Order_id_seq"')
    assert order["new_next_value"] == 43
    # and nothing moved
    assert qa.scalar('SELECT last_value FROM "Order_id_seq"') == 1
    assert_no_secret(out, err)


def test_check_table_output(qa: Database, capsys: pytest.CaptureFixture[str]) -> None:
    _behind(qa)
    code, out, err = call(capsys, "sequences", "check", "--db", qa.url)
    assert code == 1
    assert 'public."Order_id_seq"' in out
    assert "behind" in out
    assert "public.ok_id_seq" not in out  # healthy ones only with --all
    assert f"2 sequences in {qa.name}: 1 ok, 1 behind" in out
    assert "pgferry sequences fix" in err
    assert_no_secret(out, err)

    code, out, err = call(capsys, "sequences", "check", "--db", qa.url, "--all")
    assert "public.ok_id_seq" in out
    assert_no_secret(out, err)


def test_schema_from_a_prisma_url(qa: Database, capsys: pytest.CaptureFixture[str]) -> None:
    _behind(qa)
    qa.execute("CREATE SCHEMA app; CREATE TABLE app.t (id serial PRIMARY KEY)")
    url = qa.url + "?schema=app&connection_limit=5&pgbouncer=true"
    code, out, err = call(capsys, "sequences", "check", "--db", url, "--json")
    assert code == 0, err  # public."Order" is behind, but only app is looked at
    data = _parse_report(out)
    assert [s["sequence"] for s in data["sequences"]] == ["app.t_id_seq"]
    assert_no_secret(out, err)


# -- signal handlers --------------------------------------------------------------


def test_main_puts_the_process_s_signal_handlers_back(capsys: pytest.CaptureFixture[str]) -> None:
    import signal

    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}
    code, _, _ = call(capsys, "--version")
    assert code == 0
    assert {sig: signal.getsignal(sig) for sig in before} == before


def test_main_runs_in_a_worker_thread() -> None:
    """Only the main thread may set signal handlers: from another, main sets none."""
    import threading

    codes: list[object] = []

    def work() -> None:
        try:
            main(["--version"])
        except SystemExit as exc:
            codes.append(exc.code)
        except BaseException as exc:  # ValueError: signal only works in main thread
            codes.append(exc)

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    assert codes == [0]
