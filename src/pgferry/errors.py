"""Every exception pgferry defines, the exit codes, and the one translator from psycopg.

Every error pgferry raises on purpose is a :class:`PgferryError`: it carries a
one-line ``message`` (what happened, to which object), an optional ``hint``
(what to do) and the process ``exit_code`` the CLI uses.  Anything else that
escapes is a bug and is reported as one.  The tree, with each class's exit code::

    Exception
    ├── PgferryError ........................ 3  ERROR (base; also "another error")
    │   ├── ConfigError ..................... 2  USAGE: a URL, option or config value
    │   ├── ConnectionFailed ................ 4  CONNECTION: cannot connect, or lost
    │   ├── PrivilegeError .................. 5  PERMISSION: a privilege the role lacks
    │   ├── RefusedError .................... 6  REFUSED: refused, to protect data
    │   │   └── SessionsOpen ................ 6  other sessions on a database
    │   │       └── LockWaitTimeout ......... 6  a lock not granted in lock_timeout
    │   ├── SchemaMismatch .................. 7  SCHEMA: the schemas differ, blocking
    │   │   └── PushFailed .................. 7  a schema push statement failed
    │   ├── CopyFailed ...................... 8  COPY: a table's rows (sqlstate, table,
    │   │                                          column, key)
    │   ├── RefreshFailed ................... 8  COPY: a materialized view's refresh
    │   ├── ServerLimit ..................... 9  RESOURCES: class 53 (locks, disk, memory)
    │   ├── DatabaseError ................... 3  a statement the server refused (sqlstate)
    │   ├── BackupError ..................... 3  a backup not taken, found or restored
    │   ├── ClusterError .................... 3  a throwaway cluster (pgferry.embedded)
    │   └── VerificationFailed .............. 1  FOUND: QA does not match production
    └── ValueError
        └── UrlProblem                           internal: pgferry.urls' parse error, made
                                                 a ConfigError by pgferry.endpoints
    KeyboardInterrupt
    └── Stopped ......................... 129/143  SIGHUP / SIGTERM, handled like Ctrl-C (130)

Errors are immutable once raised: code that knows more (a report was written, no
backup could be taken) raises a new error ``from`` the first, or uses
:meth:`PgferryError.with_hint`, which returns a copy.

psycopg's errors become pgferry's in one place, :func:`translate`: a statement the
server refused is a :class:`PrivilegeError`, :class:`ServerLimit` or
:class:`DatabaseError` with the server's own words (:func:`from_server`); a
connection that failed or was lost is a :class:`ConnectionFailed`.  The library's
entry points apply it (:func:`translating`, a context manager that is also a
decorator), so ``import pgferry`` callers see the classes and exit codes the CLI
prints.  The old import locations (``pgferry.backup.BackupError``,
``pgferry.databases.SessionsOpen``, ``pgferry.waits.LockWaitTimeout``,
``pgferry.embedded.ClusterError``, ``pgferry.urls.UrlProblem``,
``pgferry.schema.push.PushFailed``, ``pgferry.refresh.outcome.VerificationFailed``)
still work: those modules re-export them.
"""

from __future__ import annotations

import copy
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import IntEnum

import psycopg


class ExitCode(IntEnum):
    """Process exit codes, documented in the README."""

    OK = 0
    #: a check command (``sequences check``, ``verify``, ``schema diff``) found
    #: problems, or ``sequences fix`` left some it could not fix
    FOUND = 1
    #: bad command-line usage (click's own code)
    USAGE = 2
    #: an error not covered by a more specific code below
    ERROR = 3
    #: could not connect, or the connection was lost
    CONNECTION = 4
    #: the role lacks a privilege it needs
    PERMISSION = 5
    #: refused for safety (target is production, not confirmed, ...)
    REFUSED = 6
    #: the two schemas differ in a way that blocks the job
    SCHEMA = 7
    #: copying data failed: a table's rows, or a materialized view's refresh
    COPY = 8
    #: a server ran out of a resource (its lock table, disk space, memory) or allows
    #: too few locks for the job: the server's own message and hint say which
    RESOURCES = 9
    #: an unexpected error: a bug in pgferry
    BUG = 70
    #: stopped by SIGHUP (the terminal or session went away): 128 + 1, as a shell reports it
    HANGUP = 129
    #: interrupted by Ctrl-C (SIGINT)
    INTERRUPTED = 130
    #: stopped by SIGTERM (CI cancelling a job, systemd, Kubernetes): 128 + 15
    TERMINATED = 143


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised in the main thread by the CLI's handler.

    A :class:`KeyboardInterrupt` on purpose: every path that handles Ctrl-C runs for
    it too (psycopg cancels the statement in progress and keeps the session usable,
    the copy workers are stopped, what was set aside in QA is put back, the STOPPED
    report is written); only the message and the exit code differ.
    """

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.signame = signal.Signals(signum).name
        super().__init__(self.signame)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def interruption(exc: BaseException) -> str:
    """How a run was interrupted, for its message and report: "SIGTERM", "Ctrl-C"..."""
    return exc.signame if isinstance(exc, Stopped) else "Ctrl-C (SIGINT)"


class PgferryError(Exception):
    """Base of every error pgferry raises on purpose."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message

    def reworded(self, message: str, hint: str | None = None) -> PgferryError:
        """A copy of this error (same class, exit code and fields) saying *message*
        with *hint*: an error is never changed once raised."""
        new = copy.copy(self)
        new.args, new.message, new.hint = (message,), message, hint
        return new

    def with_hint(self, *more: str) -> PgferryError:
        """A copy of this error (same class, exit code and fields) whose hint goes on
        with *more*: an error is never changed once raised."""
        new = copy.copy(self)
        new.hint = "; ".join([*([self.hint] if self.hint else []), *more]) or None
        return new


class ConfigError(PgferryError):
    """A URL, option or config value that cannot be used."""

    exit_code = ExitCode.USAGE


class ConnectionFailed(PgferryError):
    """A server could not be reached or refused the login."""

    exit_code = ExitCode.CONNECTION


class PrivilegeError(PgferryError):
    """The role lacks a privilege on a named object."""

    exit_code = ExitCode.PERMISSION


class RefusedError(PgferryError):
    """pgferry refused to act, to protect data."""

    exit_code = ExitCode.REFUSED


class SchemaMismatch(PgferryError):
    """Production and QA schemas differ in a way that blocks the job."""

    exit_code = ExitCode.SCHEMA


class CopyFailed(PgferryError):
    """Copying a table's data failed; keeps where it failed."""

    exit_code = ExitCode.COPY

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        sqlstate: str | None = None,
        table: str | None = None,
        column: str | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.sqlstate = sqlstate
        self.table = table
        self.column = column
        self.key = key


class RefreshFailed(PgferryError):
    """A materialized view could not be refreshed in QA after the load."""

    exit_code = ExitCode.COPY


class DatabaseError(PgferryError):
    """A statement failed on the server for a reason not covered above."""

    def __init__(self, message: str, *, hint: str | None = None, sqlstate: str | None = None):
        super().__init__(message, hint=hint)
        self.sqlstate = sqlstate


class VerificationFailed(PgferryError):
    """The copy finished but QA does not match the snapshot."""

    exit_code = ExitCode.FOUND


class BackupError(PgferryError):
    """A backup could not be taken, found or restored."""


class ClusterError(PgferryError):
    """A throwaway cluster could not be created or started."""


class SessionsOpen(RefusedError):
    """Another session is connected to a database that must be alone for the step."""


class LockWaitTimeout(SessionsOpen):
    """A lock on QA was not granted within ``lock_timeout``: other sessions hold it."""


class PushFailed(SchemaMismatch):
    """A statement of the push failed: QA's schema is as it was."""


class UrlProblem(ValueError):
    """A URL pgferry will not hand to libpq; ``reason`` and ``shown`` hold no password."""

    def __init__(self, reason: str, shown: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.shown = shown


class ServerLimit(PgferryError):
    """A server ran out of a resource, or its settings allow too little for the job."""

    exit_code = ExitCode.RESOURCES

    def __init__(self, message: str, *, hint: str | None = None, sqlstate: str | None = None):
        super().__init__(message, hint=hint)
        self.sqlstate = sqlstate


#: SQLSTATEs that mean the session is gone: the connection class and the shutdowns.
_SESSION_LOST = ("08", "57P01", "57P02", "57P03")


def connection_lost(exc: psycopg.Error) -> bool:
    """Whether *exc* means the session is gone (no SQLSTATE, class 08, a shutdown),
    rather than a statement the server refused while the connection stays usable."""
    state = exc.sqlstate
    if state is None:
        return isinstance(exc, psycopg.OperationalError)
    return state.startswith(_SESSION_LOST)


def first_line(exc: BaseException | str, default: str | None = None) -> str:
    """The first non-blank line of an error's text, stripped: for a server error, its
    message without the DETAIL, HINT and CONTEXT lines psycopg adds.  *default* (the
    exception's class name when not given) when the text is empty."""
    text = exc if isinstance(exc, str) else str(exc)
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    if default is not None:
        return default
    return "" if isinstance(exc, str) else type(exc).__name__


def server_says(exc: psycopg.Error) -> tuple[str, str | None]:
    """The server's primary message and its HINT, verbatim."""
    diag = exc.diag
    message = (diag.message_primary or first_line(exc)).strip()
    hint = diag.message_hint.strip() if diag.message_hint else None
    return message, hint


def _advice(state: str, server: str) -> str | None:
    """pgferry's advice for a class-53 SQLSTATE, where the server's own hint is not enough."""
    if state == "53200":
        return (
            f"{server}'s lock table is full: raise max_locks_per_transaction on {server} "
            "(to twice its value, say) and restart it, then rerun"
        )
    if state == "53100":
        return f"free disk space on {server} (or give it more), then rerun: it is safe to repeat"
    if state == "53300":
        return f"too many sessions: lower --jobs, or raise max_connections on {server}"
    return None


def from_server(
    exc: psycopg.Error, *, doing: str = "", server: str = "the server"
) -> PgferryError | None:
    """The :class:`PgferryError` for a statement the server refused, or ``None`` when
    the connection itself failed (that is :class:`ConnectionFailed`'s case).

    The server's message and HINT are kept verbatim; class 53 (insufficient
    resources: out of shared memory, disk full, too many connections) is a
    :class:`ServerLimit`, privileges a :class:`PrivilegeError`, anything else
    a :class:`DatabaseError`, each with the SQLSTATE.
    """
    if connection_lost(exc):
        return None
    message, server_hint = server_says(exc)
    state = exc.sqlstate or ""
    where = f"{doing}: " if doing else ""
    said = f"the server's hint: {server_hint}" if server_hint else None
    hint = "; ".join(h for h in (said, _advice(state, server)) if h) or None
    if state == "53100":
        return ServerLimit(
            f"{where}{server} is out of disk space: {message} (SQLSTATE {state})",
            hint=hint,
            sqlstate=state,
        )
    if state.startswith("53"):
        return ServerLimit(f"{where}{message} (SQLSTATE {state})", hint=hint, sqlstate=state)
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return PrivilegeError(
            f"{where}permission denied: {message}",
            hint=hint or "grant the privilege named above to this role, or run as the owner",
        )
    code = f" (SQLSTATE {state})" if state else ""
    return DatabaseError(
        f"{where}the server refused a statement: {message}{code}",
        hint=hint,
        sqlstate=state,
    )


#: What the CLI has always said for a connection that failed or was lost mid-command.
LOST_HINT = "check the network and the server, then rerun: the run is safe to repeat"


def translate(exc: psycopg.Error, *, doing: str = "", server: str = "the server") -> PgferryError:
    """The one :class:`PgferryError` for a psycopg error: a statement the server
    refused is :func:`from_server`'s class (exit 3, 5 or 9), a connection that failed
    or was lost a :class:`ConnectionFailed` (exit 4).  The CLI prints exactly this."""
    refused = from_server(exc, doing=doing, server=server)
    if refused is not None:
        return refused
    where = f"{doing}: " if doing else ""
    return ConnectionFailed(
        f"{where}the connection failed or was lost: {first_line(exc)}", hint=LOST_HINT
    )


#: How many :func:`translating` blocks the current thread is inside: only the outermost
#: translates, so an entry point calling another (``migrate`` calls ``fix_sequences``)
#: keeps handling the server's errors itself, with its own words, as before.
_DEPTH: ContextVar[int] = ContextVar("pgferry_translating", default=0)


@contextmanager
def translating(*, doing: str = "", server: str = "the server") -> Iterator[None]:
    """Raise :func:`translate`'s error, ``from`` the original, for a psycopg error in
    the block.  Also a decorator (``@translating()``): the library's entry points
    use it, so a caller never sees a raw psycopg error.  pgferry's own errors pass;
    a block inside another (an entry point another calls) leaves it to the outer one."""
    outermost = _DEPTH.get() == 0
    token = _DEPTH.set(_DEPTH.get() + 1)
    try:
        yield
    except psycopg.Error as exc:
        if not outermost:
            raise
        raise translate(exc, doing=doing, server=server) from exc
    finally:
        _DEPTH.reset(token)
