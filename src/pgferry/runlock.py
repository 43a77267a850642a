"""One pgferry run per QA database at a time, whatever the strategy.

Every writing run (``migrate`` in place, ``migrate --strategy swap``, ``rollback``)
holds, for its whole length, an advisory lock keyed on a hash of QA's database
name, taken in the server's maintenance database (``postgres``, else
``template1``): a swap loads a sibling database and a rollback replaces QA's,
and both need QA without any session at moments, so the lock cannot live in QA
itself.  Only when no maintenance database can be reached (then no swap or
rollback can run either) is it taken in QA.  A second run is refused (exit 6)
naming the session that holds the lock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import psycopg

from . import queries
from .endpoints import Endpoint, connect
from .errors import ConnectionFailed, RefusedError
from .safety import databases


def key(dbname: str) -> int:
    """The lock's key for QA database *dbname*: a signed 64-bit hash of its name."""
    digest = hashlib.sha256(f"pgferry run:{dbname}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _session(target: Endpoint, what: str) -> psycopg.Connection[Any]:
    name = f"pgferry {what} lock"
    for dbname in databases.MAINTENANCE_DATABASES:
        with suppress(ConnectionFailed):
            return connect(
                databases.maintenance(target, dbname), autocommit=True, application_name=name
            )
    return connect(target, autocommit=True, application_name=name)


def _holder(conn: psycopg.Connection[Any], k: int) -> str:
    unsigned = k & 0xFFFFFFFFFFFFFFFF
    row = conn.execute(
        queries.load("run_lock_holder"), (unsigned >> 32, unsigned & 0xFFFFFFFF)
    ).fetchone()
    if row is None:
        return "a run that has just ended"
    pid, user, app, since = row
    shown = f" ({app})" if app else ""
    when = f", since {since:%Y-%m-%d %H:%M:%S %Z}" if since is not None else ""
    return f"pid {pid} {user}{shown}{when}"


@contextmanager
def held(target: Endpoint, what: str = "migrate") -> Iterator[None]:
    """Hold the run lock of *target*'s database for the block, or refuse (exit 6)."""
    dbname = target.dbname
    k = key(dbname)
    with _session(target, what) as conn:
        row = conn.execute("SELECT pg_catalog.pg_try_advisory_lock(%s)", (k,)).fetchone()
        if not (row and row[0]):
            raise RefusedError(
                f"another pgferry run is working on QA database {dbname} right now: "
                f"{_holder(conn, k)}; nothing was written",
                hint="wait for it to finish, then rerun (one migrate, swap or rollback per "
                "QA database at a time)",
            )
        try:
            yield
        finally:
            with suppress(psycopg.Error):  # a lost session has released it already
                conn.execute("SELECT pg_catalog.pg_advisory_unlock(%s)", (k,))
