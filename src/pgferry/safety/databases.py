"""Whole databases, handled from the server's maintenance database.

Backups by template, rollbacks and the swap strategy all create, rename and
drop databases.  Those statements cannot run while connected to the database
they act on, so they run from ``postgres`` (or ``template1``) on the same
server, as the same role.  What a copy made with ``CREATE DATABASE ...
TEMPLATE`` does not carry (database-level settings, privileges, comment) is
carried over explicitly.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import psycopg
from psycopg import conninfo as pgconninfo
from psycopg import sql

from .. import queries
from ..endpoints import Endpoint, connect
from ..errors import ConfigError, ConnectionFailed, PrivilegeError, first_line
from ..errors import SessionsOpen as SessionsOpen  # defined in pgferry.errors, kept here too

Conn = psycopg.Connection[Any]

#: Databases tried, in order, to reach a server without touching QA.
MAINTENANCE_DATABASES = ("postgres", "template1")

#: How long a statement that needs QA to itself waits for sessions to go away
#: (a client that just exited leaves its server process behind for a moment).
SESSION_GRACE_SECONDS = 3.0

#: Settings whose stored value is a list: written back as is, not quoted.
_LIST_SETTINGS = frozenset(
    {
        "search_path",
        "temp_tablespaces",
        "session_preload_libraries",
        "local_preload_libraries",
        "shared_preload_libraries",
        "datestyle",
    }
)


@dataclass(frozen=True)
class DatabaseInfo:
    name: str
    oid: int
    owner: str
    size: int
    superuser: bool
    createdb: bool
    owns: bool
    role: str
    server_version: int
    encoding: str
    collate: str
    ctype: str
    may_signal: bool
    locale_provider: str = "c"  # c (libc), i (ICU), b (builtin, PostgreSQL 17+)
    provider_locale: str | None = None

    @property
    def can_copy(self) -> bool:
        """May this role run ``CREATE DATABASE ... TEMPLATE <this database>``?"""
        return self.superuser or (self.createdb and self.owns)

    @property
    def why_not_copy(self) -> str:
        if self.can_copy:
            return ""
        if not self.createdb:
            return f"role {self.role} has neither CREATEDB nor superuser"
        return f"role {self.role} has CREATEDB but does not own database {self.name}"

    @property
    def server_major(self) -> int:
        return self.server_version // 10000


@dataclass(frozen=True)
class Session:
    pid: int
    user: str
    application: str
    state: str
    xact_seconds: float | None
    #: another role's session, whose state and times this role may not see
    hidden: bool = False
    #: whether this role may end it (pg_terminate_backend)
    may_end: bool = True
    superuser: bool = False
    since: datetime | None = None  # when the session started (None: hidden)

    def __str__(self) -> str:
        app = f" ({self.application})" if self.application else ""
        state = "state hidden" if self.hidden else self.state
        return f"pid {self.pid} {self.user}{app} {state}".rstrip()

    @property
    def why_not_end(self) -> str:
        """Why this role may not end it ("" when it may)."""
        if self.may_end:
            return ""
        if self.superuser:
            return "a superuser's session: only a superuser may end it"
        return "another role's session: needs membership of pg_signal_backend or of that role"


def maintenance(endpoint: Endpoint, dbname: str = "postgres") -> Endpoint:
    """The same server and role as *endpoint*, on database *dbname*."""
    params = pgconninfo.conninfo_to_dict(endpoint.conninfo)
    params["dbname"] = dbname
    return replace(endpoint, conninfo=pgconninfo.make_conninfo("", **params), schema=None)


def connect_maintenance(endpoint: Endpoint) -> Conn:
    """An autocommit session on the server's maintenance database."""
    failure: ConnectionFailed | None = None
    for name in MAINTENANCE_DATABASES:
        try:
            return connect(maintenance(endpoint, name), autocommit=True)
        except ConnectionFailed as exc:
            failure = failure or exc
    assert failure is not None
    raise ConnectionFailed(
        f"{failure.message} (pgferry needs the maintenance database postgres or template1 "
        "to create, rename or drop databases)",
        hint=failure.hint,
    )


def info(conn: Conn, dbname: str) -> DatabaseInfo:
    row = conn.execute(queries.load("database_info"), (dbname,)).fetchone()
    if row is None:
        raise ConfigError(f"database {dbname!r} does not exist on this server")
    return DatabaseInfo(dbname, *row)


def sessions(conn: Conn, dbname: str, ignore: Sequence[int] = ()) -> list[Session]:
    """Other sessions on *dbname* (not this one, nor the pids in *ignore*)."""
    found = [Session(*r) for r in conn.execute(queries.load("database_sessions"), (dbname,))]
    return [s for s in found if s.pid not in ignore]


def clear_sessions(conn: Conn, dbname: str, *, force: bool, why: str) -> None:
    """Make sure no other session is on *dbname*: wait a moment, then end them with
    *force*, else raise :class:`SessionsOpen` saying *why* the database must be alone."""
    deadline = time.monotonic() + SESSION_GRACE_SECONDS
    while (found := sessions(conn, dbname)) and time.monotonic() < deadline:
        if force:
            break
        time.sleep(0.1)
    if not found:
        return
    if not force:
        listed = ", ".join(str(s) for s in found[:5])
        raise SessionsOpen(
            f"{len(found)} other session(s) are connected to {dbname} ({listed}); {why}",
            hint="stop the application (or its connection pool) for a moment, or pass "
            "--force to end those sessions (pg_terminate_backend)",
        )
    terminate(conn, dbname)


def terminate(conn: Conn, dbname: str, ignore: Sequence[int] = ()) -> int:
    """End every other session on *dbname* (but those in *ignore*); return how many were
    ended.  Those this role may not end are tried last and named in a
    :class:`~pgferry.errors.PrivilegeError`, with why, once the others are ended."""
    ended = 0
    refused: list[tuple[Session, str]] = []
    for s in sessions(conn, dbname, ignore):
        if not s.may_end:
            refused.append((s, s.why_not_end))
            continue
        try:
            row = conn.execute("SELECT pg_catalog.pg_terminate_backend(%s)", (s.pid,)).fetchone()
        except psycopg.errors.InsufficientPrivilege as exc:
            refused.append((s, (exc.diag.message_primary or str(exc)).strip()))
            continue
        ended += bool(row and row[0])
    if refused:
        listed = "; ".join(f"{s}: {why}" for s, why in refused[:5])
        raise PrivilegeError(
            f"--force ended {ended} session(s) on {dbname} but may not end {len(refused)}: "
            f"{listed}",
            hint="end them yourself (stop the app), or GRANT pg_signal_backend TO this role "
            "(a superuser's session only a superuser may end)",
        )
    deadline = time.monotonic() + SESSION_GRACE_SECONDS
    while sessions(conn, dbname, ignore) and time.monotonic() < deadline:
        time.sleep(0.05)
    return ended


def _retry_in_use(conn: Conn, dbname: str, force: bool, why: str, statement: Any) -> None:
    """Run *statement*; when a session slipped in meanwhile, clear them and try again."""
    for attempt in range(3):
        clear_sessions(conn, dbname, force=force, why=why)
        try:
            conn.execute(statement)
            return
        except psycopg.errors.ObjectInUse as exc:
            if attempt == 2:
                raise _still_in_use(dbname, exc, why) from None
    raise AssertionError("unreachable")  # pragma: no cover


def _still_in_use(dbname: str, exc: psycopg.Error, why: str) -> SessionsOpen:
    """New sessions kept arriving: a refusal (exit 6), not a lost connection."""
    first = first_line(exc, "in use")
    return SessionsOpen(
        f"{dbname} kept getting new sessions while pgferry needed it alone ({first})",
        hint=(why + "; " if why else "") + "stop the application's connections for a moment, "
        "or pass --force to end them",
    )


def create_copy(
    conn: Conn,
    new: str,
    template: str,
    *,
    owner: str | None = None,
    force: bool = False,
    why: str = "",
    size: int | None = None,
) -> None:
    """``CREATE DATABASE new TEMPLATE template``: *template* must have no other session.

    The copy's strategy is the cheaper one for *template*'s size (see
    :func:`copy_strategy`; *size*, when the caller knows it)."""
    strategy = copy_strategy(conn, template, size)
    statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}{}{}").format(
        sql.Identifier(new),
        sql.Identifier(template),
        sql.SQL(" OWNER {}").format(sql.Identifier(owner)) if owner else sql.SQL(""),
        sql.SQL(" STRATEGY {}").format(sql.SQL(strategy)) if strategy else sql.SQL(""),
    )
    reason = why or f"CREATE DATABASE ... TEMPLATE {template} needs it alone"
    _retry_in_use(conn, template, force, reason, statement)


#: from this size on, a copy reads the template's files (STRATEGY FILE_COPY) rather
#: than writing all of it into WAL (WAL_LOG, PostgreSQL 15's default): measured by
#: bench/createdb_bench.py on stock settings, FILE_COPY took 0.4-0.6x the time of
#: WAL_LOG and the checkpoint it leaves from 74 MiB up, and wrote no WAL; below
#: about 200 MiB its two forced checkpoints can cost more on a server with many
#: dirty buffers, so small databases keep the default
FILE_COPY_FROM = 256 * 1024 * 1024


def copy_strategy(conn: Conn, template: str, size: int | None = None) -> str | None:
    """``FILE_COPY`` for a template of :data:`FILE_COPY_FROM` bytes or more on
    PostgreSQL 15+, else ``None`` (the server's default, the only one before 15).
    *size*: the template's, when the caller has read it; else it is read here, and
    a size this role may not read means the default."""
    if conn.info.server_version < 150000:
        return None
    if size is None:
        row = conn.execute(queries.load("database_size_of"), (template,)).fetchone()
        size = int(row[0]) if row is not None and row[0] is not None else None
    return "FILE_COPY" if size is not None and size >= FILE_COPY_FROM else None


_PROVIDERS = {"i": ("icu", "ICU_LOCALE"), "b": ("builtin", "BUILTIN_LOCALE")}


def create_empty(conn: Conn, new: str, like: DatabaseInfo) -> None:
    """An empty database with *like*'s owner, encoding and locale (from template0), ICU
    or builtin locale provider included: collations must sort as they did."""
    provider: sql.Composable = sql.SQL("")
    if like.locale_provider in _PROVIDERS and like.provider_locale:
        name, option = _PROVIDERS[like.locale_provider]
        provider = sql.SQL(" LOCALE_PROVIDER {} {} {}").format(
            sql.SQL(name), sql.SQL(option), sql.Literal(like.provider_locale)
        )
    conn.execute(
        sql.SQL(
            "CREATE DATABASE {} TEMPLATE template0 OWNER {} ENCODING {} LC_COLLATE {} LC_CTYPE {}{}"
        ).format(
            sql.Identifier(new),
            sql.Identifier(like.owner),
            sql.Literal(like.encoding),
            sql.Literal(like.collate),
            sql.Literal(like.ctype),
            provider,
        )
    )


def rename_all(
    conn: Conn, renames: Sequence[tuple[str, str]], *, force: bool = False, why: str = ""
) -> None:
    """Rename databases in one transaction: every name changes, or none does."""
    reason = why or "a database cannot be renamed while sessions are connected to it"
    for attempt in range(3):
        for old, _ in renames:
            clear_sessions(conn, old, force=force, why=reason)
        try:
            with conn.transaction():
                for old, new in renames:
                    conn.execute(
                        sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                            sql.Identifier(old), sql.Identifier(new)
                        )
                    )
            return
        except psycopg.errors.ObjectInUse as exc:
            if attempt == 2:
                raise _still_in_use(renames[0][0], exc, reason) from None


def row_changes(conn: Conn, name: str) -> int:
    """Rows inserted, updated and deleted in database *name* since its statistics began
    (what sessions have reported so far: an idle one reports within seconds)."""
    row = conn.execute(
        "SELECT coalesce(tup_inserted + tup_updated + tup_deleted, 0) "
        "FROM pg_catalog.pg_stat_database WHERE datname = %s",
        (name,),
    ).fetchone()
    return int(row[0]) if row else 0


def drop(conn: Conn, name: str, *, force: bool = False) -> None:
    clear_sessions(conn, name, force=force, why="a database cannot be dropped while in use")
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def tag(conn: Conn, name: str, meta: dict[str, Any]) -> None:
    """Write *meta* as the database's comment (JSON), so pgferry can list it later."""
    body = json.dumps({"pgferry": 1, **meta})  # "pgferry" first: the listing matches it
    conn.execute(
        sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(name), sql.Literal(body))
    )


def tagged(conn: Conn) -> Iterator[tuple[str, dict[str, Any], int | None]]:
    """(name, meta, size) of every database pgferry tagged; size ``None`` where this role
    may not connect to it (nor read every database's statistics)."""
    for name, meta, size in conn.execute(queries.load("database_tagged")):
        try:
            data = json.loads(meta)
        except ValueError:
            continue
        if isinstance(data, dict):
            yield str(name), data, None if size is None else int(size)


def untagged(conn: Conn, base: str, suffix: str) -> Iterator[tuple[str, int | None]]:
    """(name, size) of databases named like :func:`derived_name` (*base*, *suffix*...) that
    pgferry never tagged; for a long *base*, by the cut and the hash its copies carry.
    Size ``None`` as for :func:`tagged`."""
    marker = f"_{_digest(base)}{suffix}"
    params = (base + suffix, base.encode()[:8].decode(errors="ignore"), marker)
    for name, size in conn.execute(queries.load("database_untagged"), params):
        yield str(name), None if size is None else int(size)


def carry_properties(conn: Conn, source: str, target: str) -> list[str]:
    """Give *target* the settings, privileges, comment and connection limit *source* has;
    return what this role may not carry over (``ALTER ROLE ... IN DATABASE`` for another
    role, say)."""
    rows = conn.execute(queries.load("database_properties"), {"db": source}).fetchall()
    ident = sql.Identifier(target)
    missed: list[str] = []
    for kind, role, value, extra in rows:
        statement = _property_statement(ident, kind, role, value, extra)
        try:
            conn.execute(statement)
        except psycopg.errors.InsufficientPrivilege as exc:
            first = first_line(exc, "permission denied")
            missed.append(f"{statement.as_string(conn)}: {first}")
    return missed


def _property_statement(
    ident: sql.Identifier, kind: str, role: str | None, value: str | None, extra: str | None
) -> sql.Composed:
    if kind == "setting":
        name, _, setting = str(value).partition("=")
        shown: sql.Composable = (
            sql.SQL(setting) if name.lower() in _LIST_SETTINGS else sql.Literal(setting)
        )
        head = (
            sql.SQL("ALTER ROLE {} IN DATABASE {}").format(sql.Identifier(role), ident)
            if role
            else sql.SQL("ALTER DATABASE {}").format(ident)
        )
        return sql.SQL("{} SET {} TO {}").format(head, sql.Identifier(name), shown)
    if kind == "acl":
        return sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(ident)
    if kind == "grant":
        return sql.SQL("GRANT {} ON DATABASE {} TO {}{}").format(
            sql.SQL(str(value)),
            ident,
            sql.Identifier(role) if role else sql.SQL("PUBLIC"),
            sql.SQL(" WITH GRANT OPTION" if extra else ""),
        )
    if kind == "connlimit":
        return sql.SQL("ALTER DATABASE {} CONNECTION LIMIT {}").format(
            ident, sql.Literal(int(str(value)))
        )
    return sql.SQL("COMMENT ON DATABASE {} IS {}").format(ident, sql.Literal(value))


@contextmanager
def maintenance_session(endpoint: Endpoint) -> Iterator[Conn]:
    conn = connect_maintenance(endpoint)
    try:
        yield conn
    finally:
        conn.close()


def derived_name(base: str, suffix: str) -> str:
    """*base* + *suffix*, within PostgreSQL's 63 bytes: a long *base* is cut and gets a
    short hash of its full name, so two long names never meet."""
    whole = base + suffix
    if len(whole.encode()) <= 63:
        return whole
    digest = _digest(base)
    room = 63 - len(suffix.encode()) - len(digest) - 1
    if room < 8:
        return valid_name(whole)
    cut = base.encode()[:room].decode(errors="ignore")
    return f"{cut}_{digest}{suffix}"


def _digest(base: str) -> str:
    return hashlib.sha1(base.encode()).hexdigest()[:6]


def valid_name(name: str, what: str = "database name") -> str:
    """Refuse names PostgreSQL would cut (63 bytes) instead of silently using another."""
    if len(name.encode()) > 63:
        raise ConfigError(
            f"the {what} {name!r} is longer than PostgreSQL's 63 bytes",
            hint="pass a shorter --name",
        )
    return name


__all__ = [
    "FILE_COPY_FROM",
    "MAINTENANCE_DATABASES",
    "SESSION_GRACE_SECONDS",
    "Conn",
    "DatabaseInfo",
    "Session",
    "SessionsOpen",
    "carry_properties",
    "clear_sessions",
    "connect_maintenance",
    "copy_strategy",
    "create_copy",
    "create_empty",
    "derived_name",
    "drop",
    "info",
    "maintenance",
    "maintenance_session",
    "rename_all",
    "row_changes",
    "sessions",
    "tag",
    "tagged",
    "terminate",
    "untagged",
    "valid_name",
]
