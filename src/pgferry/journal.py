"""A crash-proof record, kept in QA itself, of every schema object pgferry sets aside.

When the target role may not set ``session_replication_role`` (only superusers
and roles granted it may), loading fast and in any order means dropping
foreign keys and disabling triggers for the duration.  Each one is written to
``pgferry.journal`` *in the same transaction* that drops or disables it, so
whatever kills pgferry (``kill -9``, a lost connection), the database itself
still knows what to put back, and :func:`restore` (run first by every pgferry
command that writes to a database) puts it back.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from . import queries
from .catalog import Catalog, Constraint, Index, Name, RelKind, Trigger
from .errors import PrivilegeError, RefusedError

SCHEMA = "pgferry"


@dataclass(frozen=True)
class Entry:
    id: int
    kind: str  # "fk", "trigger" or "index"
    table: Name
    name: str
    definition: (
        str  # fk: pg_get_constraintdef; trigger: its tgenabled letter; index: pg_get_indexdef
    )
    validated: bool


@dataclass(frozen=True)
class RestoreResult:
    restored: tuple[Entry, ...]
    not_validated: tuple[tuple[Entry, str], ...]  # FKs left NOT VALID, with the reason


def _exists(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("SELECT to_regclass('pgferry.journal') IS NOT NULL").fetchone()
    return bool(row and row[0])


#: The advisory lock a writing pgferry command holds on QA for its whole run.
LOCK_KEY = 0x7067666572727931  # "pgferry1"


@contextmanager
def exclusive(conn: psycopg.Connection[Any]) -> Iterator[None]:
    """Hold QA's pgferry lock for the block: two runs must not restore each other's journal."""
    row = conn.execute("SELECT pg_catalog.pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()
    if not (row and row[0]):
        raise RefusedError(
            "another pgferry run is working on this database right now",
            hint="wait for it to finish (see pg_stat_activity, application_name pgferry)",
        )
    try:
        yield
    finally:
        with suppress(psycopg.Error):  # a lost session has released it already
            conn.execute("SELECT pg_catalog.pg_advisory_unlock(%s)", (LOCK_KEY,))


def pending(conn: psycopg.Connection[Any]) -> list[Entry]:
    """What an earlier run set aside and has not put back."""
    if not _exists(conn):
        return []
    rows = conn.execute(queries.load("journal_pending")).fetchall()
    return [Entry(r[0], r[1], Name(r[2], r[3]), r[4], r[5], r[6]) for r in rows]


def _ensure(conn: psycopg.Connection[Any]) -> None:
    with conn.transaction():
        conn.execute(queries.load("journal_create"))


def _owner_error(
    exc: psycopg.errors.InsufficientPrivilege, table: Name, what: str
) -> PrivilegeError:
    return PrivilegeError(
        f"cannot {what} on {table}: {str(exc).strip().splitlines()[0]}",
        hint="run as the tables' owner, or let this role set session_replication_role "
        "(superuser, or on PostgreSQL 15+: GRANT SET ON PARAMETER session_replication_role)",
    )


def set_aside(
    conn: psycopg.Connection[Any],
    run_id: str,
    foreign_keys: Iterable[Constraint],
    triggers: Iterable[Trigger],
    indexes: Iterable[Index] = (),
) -> list[Entry]:
    """Drop *foreign_keys* and *indexes*, disable *triggers*, journaling each in the
    same transaction that sets it aside."""
    _ensure(conn)
    for ix in indexes:
        try:
            with conn.transaction():
                conn.execute(
                    queries.load("journal_add"),
                    (run_id, "index", ix.table.schema, ix.table.name, ix.name, ix.definition, True),
                )
                conn.execute(
                    sql.SQL("DROP INDEX {}").format(sql.Identifier(ix.table.schema, ix.name))
                )
        except psycopg.errors.InsufficientPrivilege as exc:
            raise _owner_error(
                exc, ix.table, f"drop index {ix.name} until the load is done"
            ) from None
    for fk in foreign_keys:
        definition = fk.definition.removesuffix(" NOT VALID")
        try:
            with conn.transaction():
                conn.execute(
                    queries.load("journal_add"),
                    (
                        run_id,
                        "fk",
                        fk.table.schema,
                        fk.table.name,
                        fk.name,
                        definition,
                        fk.validated,
                    ),
                )
                conn.execute(
                    sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                        fk.table.ident, sql.Identifier(fk.name)
                    )
                )
        except psycopg.errors.InsufficientPrivilege as exc:
            raise _owner_error(exc, fk.table, f"drop foreign key {fk.name}") from None
    for trg in triggers:
        try:
            with conn.transaction():
                conn.execute(
                    queries.load("journal_add"),
                    (
                        run_id,
                        "trigger",
                        trg.table.schema,
                        trg.table.name,
                        trg.name,
                        trg.enabled,
                        True,
                    ),
                )
                conn.execute(
                    sql.SQL("ALTER TABLE {} DISABLE TRIGGER {}").format(
                        trg.table.ident, sql.Identifier(trg.name)
                    )
                )
        except psycopg.errors.InsufficientPrivilege as exc:
            raise _owner_error(exc, trg.table, f"disable trigger {trg.name}") from None
    return pending(conn)


def rebuild_index(conn: psycopg.Connection[Any], entry: Entry) -> None:
    """Create a set-aside index again (one sorted build, far cheaper than keeping it up
    to date row by row during the load) and forget it, in one transaction."""
    with conn.transaction():
        exists = conn.execute(
            queries.load("relation_kind"), (entry.table.schema, entry.name)
        ).fetchone()
        if not exists:
            conn.execute(sql.SQL(entry.definition))  # a statement from pg_get_indexdef
        conn.execute(queries.load("journal_done"), (entry.id,))


_ENABLE = {"O": "ENABLE TRIGGER", "A": "ENABLE ALWAYS TRIGGER", "R": "ENABLE REPLICA TRIGGER"}


def restore(
    conn: psycopg.Connection[Any],
    catalog: Catalog | None = None,
    *,
    analyzed: bool = False,
    connect: Callable[[], psycopg.Connection[Any]] | None = None,
    jobs: int = 1,
) -> RestoreResult:
    """Put back everything the journal holds: indexes, triggers, then foreign keys.

    Foreign keys come back ``NOT VALID`` (instant) and are then validated after
    ``ANALYZE`` of their tables (validating fresh tables without statistics can
    take 100x longer).  One that fails validation stays ``NOT VALID`` and is
    reported: the constraint is never lost.  A foreign key that was validated
    leaves the journal only once it is validated again, so neither a crash
    during validation nor data that do not satisfy it yet (an interrupted load)
    lose the fact that it was: the next restore validates it again.
    """
    entries = pending(conn)
    if not entries:
        return RestoreResult((), ())
    for e in (e for e in entries if e.kind == "index"):
        rebuild_index(conn, e)
    for e in (e for e in entries if e.kind == "trigger"):
        with conn.transaction():
            conn.execute(
                sql.SQL("ALTER TABLE {} {} {}").format(
                    e.table.ident,
                    sql.SQL(_ENABLE.get(e.definition, "ENABLE TRIGGER")),
                    sql.Identifier(e.name),
                )
            )
            conn.execute(queries.load("journal_done"), (e.id,))
    fks = [e for e in entries if e.kind == "fk"]
    tables = {e.table for e in fks}
    tables |= {ref for e in fks if (ref := _referenced(e)) is not None}
    for t in sorted(tables) if not analyzed else ():
        with conn.transaction():
            conn.execute(sql.SQL("ANALYZE {}").format(t.ident))
    partitioned = _partitioned(conn, [e.table for e in fks], catalog)
    failed: list[tuple[Entry, str]] = []
    for e in fks:
        not_valid = sql.SQL("") if e.table in partitioned else sql.SQL(" NOT VALID")
        try:
            with conn.transaction():
                row = conn.execute(
                    queries.load("constraint_exists"), (e.table.schema, e.table.name, e.name)
                ).fetchone()
                if not (row and row[0]):
                    conn.execute(
                        sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}{}").format(
                            e.table.ident,
                            sql.Identifier(e.name),
                            sql.SQL(e.definition),  # text from pg_get_constraintdef
                            not_valid,
                        )
                    )
                if not e.validated or e.table in partitioned:
                    conn.execute(queries.load("journal_done"), (e.id,))
        except psycopg.errors.IntegrityError as exc:
            # Only where it cannot come back NOT VALID (a partitioned table before
            # PostgreSQL 18) and the data do not satisfy it yet: it stays in the
            # journal, and the next restore (after the next load) adds it.
            reason = (exc.diag.message_primary or str(exc)).strip()
            failed.append((e, f"not put back yet, kept in {SCHEMA}.journal: {reason}"))
    to_validate = [e for e in fks if e.validated and e.table not in partitioned]
    failed += _validate(conn, to_validate, connect=connect, jobs=jobs)
    return RestoreResult(tuple(entries), tuple(failed))


def _validate_one(conn: psycopg.Connection[Any], e: Entry) -> str | None:
    """VALIDATE one foreign key and forget it, in one transaction; the reason on failure."""
    try:
        with conn.transaction():
            conn.execute(
                sql.SQL("ALTER TABLE {} VALIDATE CONSTRAINT {}").format(
                    e.table.ident, sql.Identifier(e.name)
                )
            )
            conn.execute(queries.load("journal_done"), (e.id,))
    except psycopg.OperationalError:
        raise  # a lost connection is not a verdict on the data
    except psycopg.Error as exc:
        return (exc.diag.message_primary or str(exc)).strip()
    return None


def _validate(
    conn: psycopg.Connection[Any],
    entries: list[Entry],
    *,
    connect: Callable[[], psycopg.Connection[Any]] | None,
    jobs: int,
) -> list[tuple[Entry, str]]:
    """Validate foreign keys, a table's keys in one session and tables side by side.

    Validations of one table take the same lock and would queue anyway; those of
    different tables scan different data and run in parallel with *connect*.
    """
    by_table: dict[Name, list[Entry]] = {}
    for e in entries:
        by_table.setdefault(e.table, []).append(e)
    groups = sorted(by_table.values(), key=len, reverse=True)
    workers = min(jobs, len(groups)) if connect is not None else 1

    def run(session: psycopg.Connection[Any], share: list[list[Entry]]) -> list[tuple[Entry, str]]:
        out = []
        for group in share:
            for e in group:
                if (why := _validate_one(session, e)) is not None:
                    out.append((e, why))
        return out

    if workers <= 1 or connect is None:
        return run(conn, groups)
    shares = [groups[k::workers] for k in range(workers)]
    failed: list[tuple[Entry, str]] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:

        def in_own_session(share: list[list[Entry]]) -> list[tuple[Entry, str]]:
            with connect() as session:
                return run(session, share)

        for part in pool.map(in_own_session, shares):
            failed += part
    return failed


_IDENT = r'"(?:[^"]|"")*"|[^"\s.(]+'
_QUALIFIED = re.compile(rf"\s*({_IDENT})\.({_IDENT})")


def _unquote(ident: str) -> str:
    return ident[1:-1].replace('""', '"') if ident.startswith('"') else ident


def _referenced(e: Entry) -> Name | None:
    """The table a foreign key's definition references (``REFERENCES "a.b"."c(d)"(id)``)."""
    marker = " REFERENCES "
    if marker not in e.definition:
        return None
    m = _QUALIFIED.match(e.definition.split(marker, 1)[1])
    return Name(_unquote(m.group(1)), _unquote(m.group(2))) if m else None


def _partitioned(
    conn: psycopg.Connection[Any], tables: list[Name], catalog: Catalog | None
) -> set[Name]:
    """Partitioned tables among *tables*: PostgreSQL before 18 refuses NOT VALID FKs on them."""
    if catalog is not None:
        return {t for t in tables if (c := catalog.table(t)) and c.kind is RelKind.PARTITIONED}
    out: set[Name] = set()
    for t in set(tables):
        row = conn.execute(queries.load("relation_kind"), (t.schema, t.name)).fetchone()
        if row and row[0] == "p":
            out.add(t)
    return out
