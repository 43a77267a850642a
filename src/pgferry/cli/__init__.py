"""The ``pgferry`` command: parse arguments, call the library, render the result.

One handler turns every error into ``error: ...`` plus a hint and the
documented exit code; the traceback is shown only with ``--traceback``.
"""

from __future__ import annotations

import io
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Sequence
from types import FrameType
from typing import Any

import click
import psycopg

from ..endpoints import mask
from ..errors import ExitCode, PgferryError, Stopped, first_line, translate
from .app import cli

__all__ = ["cli", "main"]


def _say(line: str) -> None:
    click.echo(mask(line), err=True)


def _stop_on_signals() -> dict[int, Any]:
    """SIGTERM (CI, systemd, Kubernetes) and SIGHUP stop a run the way Ctrl-C does.

    Python's default for both is to die at once: no message, no report, and what a
    migrate set aside left for the next run to put back.  The handler raises
    :class:`~pgferry.errors.Stopped` in the main thread once; a second signal while
    the run puts things back is ignored (kill -9 still ends it, and the journal still
    holds whatever was not yet put back).  Only the main thread may set handlers: called
    from another (an app running the CLI in a worker), it sets none.  Returns the
    handlers it replaced, for :func:`main` to put back.
    """
    if threading.current_thread() is not threading.main_thread():
        return {}
    raised = False

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal raised
        if not raised:
            raised = True
            raise Stopped(signum)

    previous: dict[int, Any] = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        previous[sig] = signal.signal(sig, handler)
    return previous


def _interrupted(exc: BaseException) -> int:
    """The one line and the exit code for Ctrl-C, SIGTERM or SIGHUP (click turns an
    interrupt into Abort, with the interrupt as its cause)."""
    cause = exc if isinstance(exc, KeyboardInterrupt) else exc.__cause__ or exc.__context__
    reported = getattr(cause, "report_path", None)
    done = f"; what was done: {reported}" if reported else ""
    if isinstance(cause, Stopped):
        _say(f"error: stopped by {cause.signame}{done}")
        return cause.exit_code
    _say(f"error: interrupted{' by Ctrl-C' if isinstance(cause, KeyboardInterrupt) else ''}{done}")
    return int(ExitCode.INTERRUPTED)


def main(args: Sequence[str] | None = None) -> None:
    """Run the CLI and exit with a documented code; the process's own signal handlers
    are back in place when it returns (or raises SystemExit)."""
    previous = _stop_on_signals()
    try:
        _main(args)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _main(args: Sequence[str] | None) -> None:
    argv = list(sys.argv[1:] if args is None else args)
    show_tb = "--traceback" in argv or os.environ.get("PGFERRY_TRACEBACK") == "1"
    if not show_tb:  # psycopg's "error ignored terminating <Copy>": the error itself is said
        logging.getLogger("psycopg").addHandler(logging.NullHandler())
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
        error = translate(exc)  # the library's entry points raise the same
        _say(f"error: {error.message}")
        if error.hint:
            _say(f"hint: {error.hint}")
        sys.exit(int(error.exit_code))
    except (click.exceptions.Abort, KeyboardInterrupt) as exc:
        sys.exit(_interrupted(exc))
    except Exception as exc:
        if show_tb:
            _say(traceback.format_exc().rstrip())
        _say(f"error: unexpected {type(exc).__name__}: {first_line(exc, '')}")
        _say("hint: this is a bug in pgferry; rerun with --traceback and report what it prints")
        sys.exit(int(ExitCode.BUG))
    sys.exit(int(code or 0))
