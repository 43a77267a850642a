"""pgferry.errors holds every exception, draws them in its docstring, and translates
psycopg's errors in one place (issue 13 point 3).  No server needed."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import psycopg
import pytest

import pgferry
from pgferry import errors
from pgferry.errors import ExitCode, first_line, translate, translating

#: None left: every exception pgferry defines is in pgferry.errors.
NOT_YET_MOVED: set[str] = set()


def _modules() -> list[str]:
    names = ["pgferry"]
    for info in pkgutil.walk_packages(pgferry.__path__, "pgferry."):
        if not info.name.endswith("__main__"):
            names.append(info.name)
    return names


def test_every_exception_class_is_defined_in_pgferry_errors() -> None:
    elsewhere = set()
    for name in _modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == name
                and name != "pgferry.errors"
            ):
                elsewhere.add(f"{name}.{value.__name__}")
    assert elsewhere == NOT_YET_MOVED


def test_the_tree_in_the_docstring_names_every_class() -> None:
    doc = errors.__doc__ or ""
    for value in vars(errors).values():
        if inspect.isclass(value) and issubclass(value, BaseException):
            assert value.__name__ in doc, value.__name__


def test_the_old_import_locations_still_work() -> None:
    from pgferry.backup import BackupError
    from pgferry.databases import SessionsOpen
    from pgferry.embedded import ClusterError
    from pgferry.schema.push import PushFailed
    from pgferry.urls import UrlProblem
    from pgferry.waits import LockWaitTimeout

    assert BackupError is errors.BackupError
    assert SessionsOpen is errors.SessionsOpen
    assert ClusterError is errors.ClusterError
    assert PushFailed is errors.PushFailed
    assert UrlProblem is errors.UrlProblem
    assert LockWaitTimeout is errors.LockWaitTimeout


def test_a_lost_connection_and_a_refused_statement_translate_as_the_cli_prints() -> None:
    lost = translate(psycopg.OperationalError("server closed the connection unexpectedly\nmore"))
    assert isinstance(lost, pgferry.ConnectionFailed)
    assert lost.exit_code == ExitCode.CONNECTION
    assert (
        lost.message
        == "the connection failed or was lost: server closed the connection unexpectedly"
    )
    denied = translate(psycopg.errors.InsufficientPrivilege("permission denied for table t"))
    assert isinstance(denied, pgferry.PrivilegeError)
    assert denied.exit_code == ExitCode.PERMISSION
    assert "permission denied for table t" in denied.message


def test_only_the_outermost_block_translates() -> None:
    raw = psycopg.OperationalError("gone")
    seen: list[BaseException] = []
    with pytest.raises(pgferry.ConnectionFailed) as caught, translating():
        try:
            with translating():
                raise raw
        except BaseException as exc:  # what the outer entry point's own handler sees
            seen.append(exc)
            raise
    assert seen == [raw]
    assert caught.value.__cause__ is raw


def test_pgferry_errors_pass_through_untouched() -> None:
    mine = pgferry.RefusedError("no")
    with pytest.raises(pgferry.RefusedError) as caught, translating():
        raise mine
    assert caught.value is mine


def test_with_hint_returns_a_copy_and_leaves_the_raised_error_as_it_was() -> None:
    first = pgferry.CopyFailed("copying t failed", hint="rerun", table="t")
    more = first.with_hint("what was done: r.md")
    assert (first.message, first.hint) == ("copying t failed", "rerun")
    assert isinstance(more, pgferry.CopyFailed) and more is not first
    assert (more.message, more.hint, more.table) == (
        "copying t failed",
        "rerun; what was done: r.md",
        "t",
    )
    assert pgferry.ConfigError("x").with_hint("y").hint == "y"


@pytest.mark.parametrize(
    ("text", "default", "expected"),
    [
        ("ERROR one\nDETAIL: two", None, "ERROR one"),
        ("\n  first  \nsecond", None, "first"),
        ("", "in use", "in use"),
        ("", None, ""),
    ],
)
def test_first_line(text: str, default: str | None, expected: str) -> None:
    assert first_line(text, default) == expected


def test_first_line_of_an_empty_error_is_its_class_name() -> None:
    assert first_line(psycopg.OperationalError("")) == "OperationalError"
