"""Every wait for a lock on QA is bounded, and its expiry names who holds the lock.

pgferry's DDL on QA (setting foreign keys, indexes and triggers aside and putting
them back, TRUNCATE) needs locks an application's open transaction can hold for
as long as it likes.  The session's ``lock_timeout`` bounds each wait; when it
expires, :class:`LockWaitTimeout` (exit 6, like other sessions in the way)
names the sessions holding locks on the tables involved, from ``pg_locks`` and
``pg_stat_activity``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

from . import defaults, queries
from .catalog import Name
from .errors import ConfigError
from .errors import LockWaitTimeout as LockWaitTimeout  # defined in pgferry.errors

#: How long one statement of pgferry's waits for a lock on QA, unless told otherwise.
DEFAULT_LOCK_TIMEOUT = defaults.LOCK_TIMEOUT

_TIMEOUT = re.compile(r"^\s*\d+\s*(ms|s|min|h)?\s*$")


def valid_timeout(value: str, where: str = "--lock-timeout") -> str:
    """*value* when PostgreSQL reads it as a duration pgferry accepts ("60s", "500ms",
    "2min", "1h", a bare number of milliseconds), else a :class:`ConfigError`."""
    if not _TIMEOUT.match(value) or int(re.sub(r"\D", "", value)) <= 0:
        raise ConfigError(
            f"{where} must be a positive duration such as 60s, 500ms or 2min, not {value!r}"
        )
    return value.strip()


def bound(conn: psycopg.Connection[Any], timeout: str) -> None:
    """Bound every lock wait of *conn*'s statements to *timeout* (for the session)."""
    conn.execute(
        sql.SQL("SELECT pg_catalog.set_config('lock_timeout', {}, false)").format(
            sql.Literal(timeout)
        )
    )


def holders(conn: psycopg.Connection[Any], tables: Collection[Name] = ()) -> list[str]:
    """The sessions holding locks on *tables* (on any table of QA when none of them
    holds one of those), one description each: pid, role, application, state, since."""
    rows = conn.execute(queries.load("lock_holders")).fetchall()
    wanted = set(tables)
    chosen = [r for r in rows if Name(r[5], r[6]) in wanted] or rows
    found: dict[int, tuple[Any, ...]] = {}
    on: dict[int, list[str]] = {}
    for r in chosen:
        found.setdefault(r[0], r)
        on.setdefault(r[0], []).append(str(Name(r[5], r[6])))
    out = []
    for pid, (_, user, app, state, since, *_rest) in found.items():
        shown = f" ({app})" if app else ""
        what = state or "state hidden"
        when = f" since {since:%H:%M:%S %Z}".rstrip() if since is not None else ""
        tables_on = ", ".join(sorted(set(on[pid]))[:3])
        out.append(f"pid {pid} {user}{shown} {what}{when} on {tables_on}")
    return out


def timed_out(
    conn: psycopg.Connection[Any], tables: Collection[Name], timeout: str, doing: str
) -> LockWaitTimeout:
    try:
        held = holders(conn, tables)
    except psycopg.Error:  # the session is gone too: say what is known
        held = []
    who = "; ".join(held[:5]) or "sessions that have ended since"
    return LockWaitTimeout(
        f"waited {timeout} for a lock on QA to {doing}, held by: {who}",
        hint="stop the app (or end its open transaction) during the refresh and rerun: what "
        "pgferry set aside is put back now or by the next run; --lock-timeout waits longer",
    )


@contextmanager
def named(
    conn: psycopg.Connection[Any], tables: Collection[Name], timeout: str, doing: str
) -> Iterator[None]:
    """Turn a lock wait that timed out in the block into a :class:`LockWaitTimeout`."""
    try:
        yield
    except psycopg.errors.LockNotAvailable:
        raise timed_out(conn, tables, timeout, doing) from None
