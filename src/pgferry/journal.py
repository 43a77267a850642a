"""A crash-proof record, kept in QA itself, of every schema object pgferry sets aside.

When the target role may not set ``session_replication_role`` (only superusers
and roles granted it may), loading fast and in any order means dropping
foreign keys and disabling triggers for the duration.  Each one is written to
``pgferry.journal`` *in the same transaction* that drops or disables it, so
whatever kills pgferry (``kill -9``, a lost connection), the database itself
still knows what to put back, and :func:`restore` (run first by every pgferry
command that writes to a database) puts it back.

A load also writes a ``load`` row before its first write (:func:`begin_load`)
and removes it once QA holds all of it (:func:`end_load`): until then QA is
mid-refresh, and every command that reads QA says so (:func:`unfinished`).  In
replica mode the foreign keys production's snapshot satisfies stay in place
during the load, unchecked; each is journaled as ``kept``, and a load that does
not finish has them set aside and validated by :func:`restore` like the
others, so no key is left marked valid over rows that break it.

Each object comes back with what pg_dump shows for it (comments, tablespace,
``CLUSTER ON``, statistics targets: the ``details`` pgferry reads from QA's
archive before setting it aside, see :mod:`pgferry.details`).  An entry whose
table a later change removed is skipped, reported and dropped from the
journal.  Once the journal is empty its schema is dropped: a clean run leaves
QA with no object it did not hold before.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import psycopg
from psycopg import sql

from . import queries
from .catalog import Catalog, Constraint, Index, Name, RelKind, Trigger
from .errors import PrivilegeError, RefusedError, first_line

SCHEMA = "pgferry"


class Kind(StrEnum):
    """What a journal row records."""

    FK = "fk"  # a foreign key dropped for the load
    TRIGGER = "trigger"  # a trigger disabled for the load
    INDEX = "index"  # a secondary index dropped for the load
    LOAD = "load"  # a load in progress: QA is mid-refresh
    KEPT = "kept"  # a foreign key a replica-mode load left in place, unchecked


@dataclass(frozen=True)
class Entry:
    """One object set aside, with all it takes to put it back (nothing is parsed)."""

    id: int
    kind: Kind  # FK, TRIGGER or INDEX
    table: Name
    name: str
    #: FK: pg_get_constraintdef; TRIGGER: its tgenabled letter; INDEX: pg_get_indexdef
    definition: str
    validated: bool
    #: statements that give the object back what pg_dump shows for it beyond its definition
    #: (an index: its whole archive entry; a key: its comment); '' when not read
    details: str = ""
    #: the table a foreign key references (None for others, and in an older journal)
    ref_table: Name | None = None


@dataclass(frozen=True)
class Unfinished:
    """A load that began writing to QA and has not finished: QA is mid-refresh."""

    run_id: str
    started: datetime
    tables: int  # how many tables it empties
    mode: str

    def describe(self) -> str:
        return (
            f"pgferry migrate run {self.run_id} (started {self.started:%Y-%m-%d %H:%M} UTC, "
            f"{self.tables} tables) did not finish"
        )


#: What to run when QA is mid-refresh, said by every command that meets it.
MID_REFRESH_HINT = (
    "rerun pgferry migrate to finish the refresh, or pgferry rollback to return to the backup"
)


@dataclass(frozen=True)
class RestoreResult:
    restored: tuple[Entry, ...]
    not_validated: tuple[tuple[Entry, str], ...]  # FKs left NOT VALID, with the reason
    #: entries whose table (or column, or referenced table) no longer exists: reported,
    #: removed from the journal, with the reason
    skipped: tuple[tuple[Entry, str], ...] = ()
    #: loads still unfinished afterwards: QA is mid-refresh
    unfinished: tuple[Unfinished, ...] = ()


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


@contextmanager
def recovered(
    conn: psycopg.Connection[Any],
    *,
    before: Callable[[], None] | None = None,
    put_back: bool = True,
    around: AbstractContextManager[object] | None = None,
) -> Iterator[RestoreResult]:
    """Lock QA, put back what an interrupted run set aside, then act: how every command
    that writes to QA starts (``migrate``, ``sequences fix``, ``schema push``).

    *before* runs once the lock is held and before anything is written (refusals);
    *put_back* False (a dry run) writes nothing; *around* is entered around the
    putting back (a named step, a bounded lock wait).  Yields what was put back."""
    with exclusive(conn):
        if before is not None:
            before()
        result = RestoreResult((), ())
        if put_back:
            with around if around is not None else nullcontext():
                result = restore(conn)
        yield result


def pending(conn: psycopg.Connection[Any]) -> list[Entry]:
    """What an earlier run set aside and has not put back."""
    if not _exists(conn):
        return []
    rows = conn.execute(queries.load("journal_pending")).fetchall()
    return [
        Entry(
            r[0],
            Kind(r[1]),
            Name(r[2], r[3]),
            r[4],
            r[5],
            r[6],
            r[7],
            Name(r[8], r[9]) if r[8] is not None and r[9] is not None else None,
        )
        for r in rows
    ]


def unfinished(conn: psycopg.Connection[Any]) -> list[Unfinished]:
    """Loads that began writing to QA and did not finish (empty: QA is not mid-refresh).

    Reads only: every command that looks at QA calls it to say QA is mid-refresh."""
    if not _exists(conn):
        return []
    try:
        rows = conn.execute(queries.load("journal_loads")).fetchall()
    except psycopg.errors.InsufficientPrivilege:
        return []  # another role's journal: the writing commands will meet it
    return [Unfinished(r[0], r[1], len(json.loads(r[2] or "[]")), r[3]) for r in rows]


def mid_refresh(conn: psycopg.Connection[Any]) -> str | None:
    """One line saying QA is mid-refresh and what to run, or None when it is not."""
    loads = unfinished(conn)
    if not loads:
        return None
    return f"QA is mid-refresh: {loads[-1].describe()}; {MID_REFRESH_HINT}"


def _ensure(conn: psycopg.Connection[Any]) -> None:
    with conn.transaction():
        conn.execute(queries.load("journal_create"))


def begin_load(
    conn: psycopg.Connection[Any],
    run_id: str,
    tables: Collection[Name],
    *,
    mode: str,
    kept: Iterable[Constraint] = (),
) -> None:
    """Record, before the load's first write, that QA is mid-refresh, with the foreign
    keys the load leaves in place unchecked (replica mode)."""
    _ensure(conn)
    listed = json.dumps(sorted(str(t) for t in tables))
    with conn.transaction():
        conn.execute(
            queries.load("journal_add"),
            (run_id, Kind.LOAD, "", "", mode, listed, True, "", None, None),
        )
        for fk in kept:
            conn.execute(queries.load("journal_add"), _fk_row(run_id, Kind.KEPT, fk, ""))


def end_load(conn: psycopg.Connection[Any], run_id: str, tables: Collection[Name]) -> None:
    """QA holds the whole load: its kept keys hold, and QA is no longer mid-refresh
    (nor from an earlier unfinished load whose tables this one emptied and filled)."""
    with conn.transaction():
        conn.execute(
            queries.load("journal_end_load"),
            {"run": run_id, "tables": [str(t) for t in tables]},
        )


def _unkeep(conn: psycopg.Connection[Any]) -> None:
    """Set aside the keys an unfinished load left in place: they come back NOT VALID and
    are validated (or reported) like every other key, never left valid over orphans."""
    for r in conn.execute(queries.load("journal_kept")).fetchall():
        table = Name(r[1], r[2])
        with conn.transaction():
            if _missing(conn, [table]):
                conn.execute(queries.load("journal_done"), (r[0],))
                continue
            conn.execute(
                sql.SQL("ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}").format(
                    table.ident, sql.Identifier(r[3])
                )
            )
            conn.execute(queries.load("journal_unkeep"), (r[0],))


def _missing(conn: psycopg.Connection[Any], tables: Iterable[Name]) -> set[Name]:
    """Those of *tables* that no longer exist."""
    wanted = sorted(set(tables))
    if not wanted:
        return set()
    rows = conn.execute(
        queries.load("tables_missing"),
        ([t.schema for t in wanted], [t.name for t in wanted]),
    ).fetchall()
    return {Name(r[0], r[1]) for r in rows}


def drop_if_empty(conn: psycopg.Connection[Any]) -> bool:
    """Drop the journal's schema when nothing is set aside, no load is unfinished and the
    schema holds nothing else: QA keeps no object of pgferry's.  Whether it was dropped."""
    if not _exists(conn):
        return False
    try:
        with conn.transaction():
            row = conn.execute(queries.load("journal_count")).fetchone()
            if row is None or row[0] or row[1]:
                return False
            conn.execute(sql.SQL("DROP TABLE pgferry.journal"))
            conn.execute(sql.SQL("DROP SCHEMA pgferry"))
    except (psycopg.errors.InsufficientPrivilege, psycopg.errors.DependentObjectsStillExist):
        return False  # another role's schema, or someone put something there: left alone
    return True


def _owner_error(
    exc: psycopg.errors.InsufficientPrivilege, table: Name, what: str
) -> PrivilegeError:
    return PrivilegeError(
        f"cannot {what} on {table}: {first_line(exc)}",
        hint="run as the tables' owner, or let this role set session_replication_role "
        "(superuser, or on PostgreSQL 15+: GRANT SET ON PARAMETER session_replication_role)",
    )


def _fk_row(run_id: str, kind: Kind, fk: Constraint, details: str) -> tuple[Any, ...]:
    """The journal_add parameters of a foreign key: its definition as it comes back (the
    state it returns in is ``validated``) and the table it references."""
    ref = fk.ref_table
    return (
        run_id,
        kind,
        fk.table.schema,
        fk.table.name,
        fk.name,
        fk.definition.removesuffix(" NOT VALID"),
        fk.validated,
        details,
        ref.schema if ref else None,
        ref.name if ref else None,
    )


def set_aside(
    conn: psycopg.Connection[Any],
    run_id: str,
    foreign_keys: Iterable[Constraint],
    triggers: Iterable[Trigger],
    indexes: Iterable[Index] = (),
    *,
    details: Mapping[tuple[Name, str], str] | None = None,
) -> list[Entry]:
    """Drop *foreign_keys* and *indexes*, disable *triggers*, journaling each in the
    same transaction that sets it aside, with its *details* (by table and name: the
    statements that give it back what pg_dump shows for it, see :mod:`pgferry.details`)."""
    details = details or {}
    _ensure(conn)
    for ix in indexes:
        try:
            with conn.transaction():
                conn.execute(
                    queries.load("journal_add"),
                    (
                        run_id,
                        Kind.INDEX,
                        ix.table.schema,
                        ix.table.name,
                        ix.name,
                        ix.definition,
                        True,
                        details.get((ix.table, ix.name), ""),
                        None,
                        None,
                    ),
                )
                conn.execute(
                    sql.SQL("DROP INDEX {}").format(sql.Identifier(ix.table.schema, ix.name))
                )
        except psycopg.errors.InsufficientPrivilege as exc:
            raise _owner_error(
                exc, ix.table, f"drop index {ix.name} until the load is done"
            ) from None
    for fk in foreign_keys:
        try:
            with conn.transaction():
                conn.execute(
                    queries.load("journal_add"),
                    _fk_row(run_id, Kind.FK, fk, details.get((fk.table, fk.name), "")),
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
                        Kind.TRIGGER,
                        trg.table.schema,
                        trg.table.name,
                        trg.name,
                        trg.enabled,
                        True,
                        "",
                        None,
                        None,
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


#: What a later change to QA's schema makes of an entry: its table, a column or the
#: table a key references is gone.  The entry is skipped, reported and forgotten.
_VANISHED = (
    psycopg.errors.UndefinedTable,
    psycopg.errors.UndefinedColumn,
    psycopg.errors.UndefinedObject,
    psycopg.errors.InvalidSchemaName,
)


def _vanished_reason(exc: psycopg.Error) -> str:
    return f"skipped, no longer applies: {(exc.diag.message_primary or str(exc)).strip()}"


def rebuild_index(conn: psycopg.Connection[Any], entry: Entry) -> None:
    """Create a set-aside index again (one sorted build, far cheaper than keeping it up
    to date row by row during the load), with its details, and forget it, in one
    transaction."""
    with conn.transaction():
        exists = conn.execute(
            queries.load("relation_kind"), (entry.table.schema, entry.name)
        ).fetchone()
        if not exists:
            # pg_dump's own statements where they were read (tablespace, CLUSTER ON,
            # statistics targets, comment), else pg_get_indexdef's
            conn.execute(sql.SQL(entry.details or entry.definition))
        conn.execute(queries.load("journal_done"), (entry.id,))


def _forget(conn: psycopg.Connection[Any], entry: Entry) -> None:
    with conn.transaction():
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
    if not _exists(conn):
        return RestoreResult((), ())
    _unkeep(conn)
    entries = pending(conn)
    if not entries:
        left = tuple(unfinished(conn))
        drop_if_empty(conn)
        return RestoreResult((), (), unfinished=left)
    skipped: list[tuple[Entry, str]] = []
    gone = _missing(conn, {e.table for e in entries})
    for e in entries:
        if e.table in gone:
            _forget(conn, e)
            skipped.append((e, f"skipped: table {e.table} no longer exists"))
    entries = [e for e in entries if e.table not in gone]
    for e in (e for e in entries if e.kind is Kind.INDEX):
        try:
            rebuild_index(conn, e)
        except _VANISHED as exc:
            _forget(conn, e)
            skipped.append((e, _vanished_reason(exc)))
    for e in (e for e in entries if e.kind is Kind.TRIGGER):
        try:
            with conn.transaction():
                conn.execute(
                    sql.SQL("ALTER TABLE {} {} {}").format(
                        e.table.ident,
                        sql.SQL(_ENABLE.get(e.definition, "ENABLE TRIGGER")),
                        sql.Identifier(e.name),
                    )
                )
                conn.execute(queries.load("journal_done"), (e.id,))
        except _VANISHED as exc:
            _forget(conn, e)
            skipped.append((e, _vanished_reason(exc)))
    fks = [e for e in entries if e.kind is Kind.FK]
    tables = {e.table for e in fks}
    tables |= {e.ref_table for e in fks if e.ref_table is not None}
    tables -= _missing(conn, tables)  # a referenced table that is gone: the key is skipped
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
                    if e.details:  # its comment, as pg_dump has it
                        conn.execute(sql.SQL(e.details))
                if not e.validated or e.table in partitioned:
                    conn.execute(queries.load("journal_done"), (e.id,))
        except _VANISHED as exc:  # the table it references, or a column, is gone
            _forget(conn, e)
            skipped.append((e, _vanished_reason(exc)))
            continue
        except psycopg.errors.IntegrityError as exc:
            # Only where it cannot come back NOT VALID (a partitioned table before
            # PostgreSQL 18) and the data do not satisfy it yet: it stays in the
            # journal, and the next restore (after the next load) adds it.
            reason = (exc.diag.message_primary or str(exc)).strip()
            failed.append((e, f"not put back yet, kept in {SCHEMA}.journal: {reason}"))
    dropped = {e.id for e, _ in skipped}
    to_validate = [
        e for e in fks if e.validated and e.table not in partitioned and e.id not in dropped
    ]
    failed += _validate(conn, to_validate, connect=connect, jobs=jobs)
    left = tuple(unfinished(conn))
    drop_if_empty(conn)
    restored = tuple(e for e in entries if e.id not in dropped)
    return RestoreResult(restored, tuple(failed), tuple(skipped), left)


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
