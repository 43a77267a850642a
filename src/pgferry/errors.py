"""One exception base, a subclass per case a user acts on, and the exit codes.

Every error pgferry raises on purpose is a :class:`PgferryError`: it carries a
one-line ``message`` (what happened, to which object), an optional ``hint``
(what to do) and the process ``exit_code`` the CLI uses.  Anything else that
escapes is a bug and is reported as one.
"""

from __future__ import annotations

from enum import IntEnum


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
    #: an unexpected error: a bug in pgferry
    BUG = 70
    #: interrupted by Ctrl-C
    INTERRUPTED = 130


class PgferryError(Exception):
    """Base of every error pgferry raises on purpose."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


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
