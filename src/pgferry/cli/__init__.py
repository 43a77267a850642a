"""The ``pgferry`` command: parse arguments, call the library, render the result.

One handler turns every error into ``error: ...`` plus a hint and the
documented exit code; the traceback is shown only with ``--traceback``.
"""

from __future__ import annotations

import io
import os
import sys
import traceback
from collections.abc import Sequence

import click
import psycopg

from ..endpoints import mask
from ..errors import ExitCode, PgferryError, from_server
from .app import cli

__all__ = ["cli", "main"]


def _say(line: str) -> None:
    click.echo(mask(line), err=True)


def main(args: Sequence[str] | None = None) -> None:
    """Run the CLI and exit with a documented code."""
    argv = list(sys.argv[1:] if args is None else args)
    show_tb = "--traceback" in argv or os.environ.get("PGFERRY_TRACEBACK") == "1"
    if "--traceback" in argv[1:]:  # accepted anywhere, not only before the command
        argv = ["--traceback", *[a for a in argv if a != "--traceback"]]
    try:
        code = cli.main(args=argv, prog_name="pgferry", standalone_mode=False)
    except PgferryError as exc:
        if show_tb:
            _say(traceback.format_exc().rstrip())
        _say(f"error: {exc.message}")
        if exc.hint:
            _say(f"hint: {exc.hint}")
        sys.exit(int(exc.exit_code))
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        shown = io.StringIO()  # usage errors repeat arguments: a URL may be one
        exc.show(file=shown)
        _say(shown.getvalue().rstrip("\n"))
        sys.exit(exc.exit_code)
    except psycopg.Error as exc:  # a server error no step turned into a PgferryError
        if show_tb:
            _say(traceback.format_exc().rstrip())
        refused = from_server(exc)
        if refused is not None:  # the server refused a statement; the session is fine
            _say(f"error: {refused.message}")
            if refused.hint:
                _say(f"hint: {refused.hint}")
            sys.exit(int(refused.exit_code))
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        _say(f"error: the connection failed or was lost: {first}")
        _say("hint: check the network and the server, then rerun: the run is safe to repeat")
        sys.exit(int(ExitCode.CONNECTION))
    except (click.exceptions.Abort, KeyboardInterrupt):
        _say("error: interrupted")
        sys.exit(int(ExitCode.INTERRUPTED))
    except Exception as exc:
        if show_tb:
            _say(traceback.format_exc().rstrip())
        first = (str(exc).strip().splitlines() or [""])[0]
        _say(f"error: unexpected {type(exc).__name__}: {first}")
        _say("hint: this is a bug in pgferry; rerun with --traceback and report what it prints")
        sys.exit(int(ExitCode.BUG))
    sys.exit(int(code or 0))
