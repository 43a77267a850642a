"""Production's schema on QA's own server: a scratch database, and running archive entries.

Two servers of different versions write the same object differently (a CHECK
``IN (...)`` became ``= ANY (ARRAY[...])``, view bodies lost their qualifiers),
so comparing production's text with QA's finds drift that is not there.
:func:`scratch_database` makes a database on QA's server, production's schema
is restored into it with :func:`apply_entries`, and the comparison reads two
databases of one server.  A scratch database is tagged (its comment) and
dropped afterwards; one left by a killed run is dropped by the next
(:func:`sweep`).

:func:`apply_entries` also pushes an empty QA: entries run in batches that fit
the server's lock table (``max_locks_per_transaction``), each batch as one
script, and entry by entry (in savepoints) only when a batch fails, so that
what QA's server refuses is named, with what depends on it held back.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import psycopg

from ..endpoints import Endpoint
from ..errors import ConnectionFailed, first_line
from ..safety import databases
from .archive import Archive, Entry

Conn = psycopg.Connection[Any]

PREFIX = "pgferry_scratch_"

#: A scratch database this old with no session is a leftover, whoever made it.
STALE_SECONDS = 600

#: SQLSTATEs of a statement naming what is not there (yet): undefined object, table,
#: function, schema, column, parameter. Such an entry waits for the others.
NOT_YET = frozenset({"42704", "42P01", "42883", "3F000", "42703", "42P02"})


@dataclass(frozen=True)
class Applied:
    """What running a set of entries did."""

    refused: tuple[tuple[Entry, str], ...] = ()  # QA's server refused it: its error
    held_back: tuple[tuple[Entry, str], ...] = ()  # needs something refused
    transactions: int = 0

    @property
    def left_out(self) -> set[int]:
        return {e.id for e, _ in (*self.refused, *self.held_back)}


def lock_budget(conn: Conn) -> int:
    """How many entries one transaction may run on *conn*'s server: a share of its lock
    table, which every session shares (each new relation holds a lock until commit)."""
    row = conn.execute(
        "SELECT current_setting('max_locks_per_transaction')::int"
        " * (current_setting('max_connections')::int"
        " + current_setting('max_prepared_transactions')::int)"
    ).fetchone()
    slots = int(row[0]) if row else 6400
    return max(50, slots // 8)


def apply_entries(
    conn: Conn,
    archive: Archive,
    entries: Sequence[Entry],
    target_settings: Collection[str],
    *,
    budget: int,
    then: Callable[[], None] = lambda: None,
) -> Applied:
    """Run *entries* on *conn* (autocommit off inside; on again after), in batches of
    *budget*; *then* runs in the last transaction (Prisma's history, say).

    An entry the server refuses is rolled back alone and reported; entries that
    then fail for want of it are held back.  Nothing else is left out.
    """
    batches = [list(entries[i : i + budget]) for i in range(0, len(entries), budget)] or [[]]
    refused: list[tuple[Entry, str]] = []
    held: list[tuple[Entry, str]] = []
    conn.autocommit = False
    try:
        for n, batch in enumerate(batches):
            with conn.transaction():
                conn.execute("SET LOCAL check_function_bodies = off")
                try:
                    with conn.transaction():
                        if batch:
                            conn.execute(archive.script(batch, target_settings=target_settings))
                except psycopg.Error:
                    r, h = _one_by_one(conn, archive, batch, target_settings)
                    refused += r
                    held += h
                if n == len(batches) - 1:
                    then()
    finally:
        conn.autocommit = True
    return Applied(tuple(refused), tuple(held), len(batches))


def _one_by_one(
    conn: Conn, archive: Archive, batch: list[Entry], target_settings: Collection[str]
) -> tuple[list[tuple[Entry, str]], list[tuple[Entry, str]]]:
    """Each entry in a savepoint; one naming what a later one makes is tried again after
    the rest, until a round makes no progress."""
    refused: list[tuple[Entry, str]] = []
    todo = batch
    while todo:
        waiting: list[tuple[Entry, str]] = []
        for entry in todo:
            try:
                with conn.transaction():
                    conn.execute(archive.script([entry], target_settings=target_settings))
            except psycopg.Error as exc:
                if exc.sqlstate in NOT_YET:
                    waiting.append((entry, first_line(exc)))
                else:
                    refused.append((entry, first_line(exc)))
        if len(waiting) == len(todo):
            return refused, waiting
        todo = [e for e, _ in waiting]
    return refused, []


def cannot_create(conn: Conn, target: Endpoint) -> str:
    """Why this role cannot make a scratch database on QA's server ('' when it can)."""
    info = databases.info(conn, target.dbname)
    if info.superuser or info.createdb:
        return ""
    return f"role {info.role} may not create databases on QA's server (no CREATEDB)"


def sweep(conn: Conn) -> list[str]:
    """Drop scratch databases left by runs that died: tagged, no session on them, and
    either made on this host by a process that is gone, or older than STALE_SECONDS."""
    dropped: list[str] = []
    me = socket.gethostname()
    for name, meta, _ in list(databases.tagged(conn)):
        if meta.get("kind") != "scratch" or not name.startswith(PREFIX):
            continue
        age = time.time() - float(meta.get("created", 0) or 0)
        gone = meta.get("host") == me and not _alive(int(meta.get("pid", 0) or 0))
        if not (gone or age > STALE_SECONDS) or databases.sessions(conn, name):
            continue
        with contextlib.suppress(psycopg.Error):
            databases.drop(conn, name, force=True)
            dropped.append(name)
    return dropped


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class Scratch:
    endpoint: Endpoint | None  # None: no scratch database could be made
    reason: str = ""  # why not
    swept: tuple[str, ...] = ()  # leftovers of earlier runs dropped first


@contextmanager
def scratch_database(target: Endpoint) -> Iterator[Scratch]:
    """An empty database on QA's server with QA's encoding and locale, dropped at the end."""
    try:
        admin = databases.connect_maintenance(target)
    except ConnectionFailed as exc:  # then: compare across servers
        yield Scratch(None, f"QA's maintenance database could not be reached ({exc})")
        return
    try:
        reason = cannot_create(admin, target)
        if reason:
            yield Scratch(None, reason)
            return
        swept = tuple(sweep(admin))
        name = f"{PREFIX}{os.getpid()}_{secrets.token_hex(3)}"
        like = databases.info(admin, target.dbname)
        try:
            databases.create_empty(admin, name, replace(like, owner=like.role))
        except psycopg.Error as exc:
            yield Scratch(None, f"CREATE DATABASE was refused: {first_line(exc)}", swept)
            return
        try:
            databases.tag(
                admin,
                name,
                {
                    "kind": "scratch",
                    "of": target.dbname,
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "created": time.time(),
                },
            )
            yield Scratch(databases.maintenance(target, name), "", swept)
        finally:
            with contextlib.suppress(psycopg.Error):
                databases.drop(admin, name, force=True)
    finally:
        admin.close()
