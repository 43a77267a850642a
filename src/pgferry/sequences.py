"""Find sequences whose next value collides with the data, and move them past it.

This ends Prisma's ``Unique constraint failed on the fields: (id)`` after a
copy.  Sequences and the columns they feed come from the catalog (OWNED BY,
identity, and any ``DEFAULT nextval(...)``), never from guessed names.  For
each sequence the extreme of every column it feeds is read (max, or min for a
descending sequence); the sequence is then set so its next value clears all of
them, and, given production's position, is not behind it either.  A sequence is
never moved backwards.

The work is batched: one statement reads the state and the extremes of a
batch of sequences, one statement sets a batch, each batch its own
transaction, so thousands of tables take seconds and stay inside the server's
lock table.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, TypeVar

import psycopg
from psycopg import sql

from . import queries
from .catalog import Catalog, ColumnRef, Feed, Name, RelKind, read_catalog
from .catalog import Sequence as CatalogSequence
from .catalog.reader import SEQUENCE_PARTS
from .errors import (
    DatabaseError,
    PrivilegeError,
    connection_lost,
    first_line,
    translate,
    translating,
)

#: Sequences read or set per statement (and per transaction).  Each takes a
#: lock per table and sequence it touches; 500 stays well inside the default
#: lock table (max_locks_per_transaction 64 x max_connections 100 = 6,400).
BATCH_SIZE = 500

#: Sequences whose state and data extremes are read per statement.
READ_BATCH = 50

_T = TypeVar("_T")

_NUMERIC_TYPES = frozenset(Name("pg_catalog", t) for t in ("int2", "int4", "int8", "numeric"))


class Status(StrEnum):
    OK = "ok"
    BEHIND = "behind"  # next value is at or below the data: the next insert collides
    BEHIND_SOURCE = "behind production"  # clear of the data, behind production's position
    OUT_OF_RANGE = "out of range"  # the value it needs is past MINVALUE/MAXVALUE
    FIXED = "fixed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class SequenceState:
    """What pgferry found (and did) for one sequence."""

    sequence: CatalogSequence
    status: Status
    feeds: tuple[Feed, ...] = ()  # the columns compared against
    last_value: int | None = None
    is_called: bool | None = None
    data_extreme: int | None = None  # max (ascending) or min (descending) over the feeds
    extreme_at: ColumnRef | None = None  # the column holding it
    source_next: int | None = None  # production's next value
    next_value: int | None = None  # before
    target_next: int | None = None  # what fix sets (None: no change needed)
    note: str = ""

    @property
    def name(self) -> Name:
        return self.sequence.name

    @property
    def needs_change(self) -> bool:
        return self.target_next is not None and self.status in (
            Status.BEHIND,
            Status.BEHIND_SOURCE,
        )

    @property
    def is_problem(self) -> bool:
        return self.status in (Status.BEHIND, Status.BEHIND_SOURCE, Status.OUT_OF_RANGE)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sequence": str(self.name),
            "type": self.sequence.data_type,
            "increment": self.sequence.increment,
            "columns": [str(f.column) for f in self.feeds],
            "status": self.status.value,
            "data_extreme": self.data_extreme,
            "extreme_column": str(self.extreme_at) if self.extreme_at else None,
            "next_value": self.next_value,
            "source_next_value": self.source_next,
            "new_next_value": self.target_next,
            "note": self.note,
        }


@dataclass(frozen=True)
class SequenceReport:
    """The outcome of :func:`check_sequences` or :func:`fix_sequences`."""

    database: str
    states: tuple[SequenceState, ...]
    dry_run: bool = False
    applied: bool = False
    source: str | None = None
    hints: tuple[str, ...] = field(default=())

    @property
    def behind(self) -> list[SequenceState]:
        """Sequences still behind (for check: now; for fix: left unfixed)."""
        return [s for s in self.states if s.is_problem]

    @property
    def fixed(self) -> list[SequenceState]:
        return [s for s in self.states if s.status is Status.FIXED]

    @property
    def skipped(self) -> list[SequenceState]:
        return [s for s in self.states if s.status is Status.SKIPPED]

    @property
    def healthy(self) -> bool:
        return not self.behind

    def to_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "source": self.source,
            "dry_run": self.dry_run,
            "applied": self.applied,
            "healthy": self.healthy,
            "counts": {
                "sequences": len(self.states),
                "problems": len(self.behind),
                "fixed": len(self.fixed),
                "skipped": len(self.skipped),
            },
            "sequences": [s.to_dict() for s in self.states],
            "hints": list(self.hints),
        }


# -- selecting what to look at ------------------------------------------------


def _selected(
    catalog: Catalog, schemas: Iterable[str] | None, tables: Collection[Name] | None = None
) -> Iterator[CatalogSequence]:
    """The sequences in *schemas*; with *tables*, only those feeding a column of them."""
    wanted = set(schemas) if schemas else None
    for seq in catalog.sequences:
        if tables is not None and not any(f.column.table in tables for f in seq.feeds):
            continue
        if (
            wanted is None
            or seq.name.schema in wanted
            or any(f.column.table.schema in wanted for f in seq.feeds)
        ):
            yield seq


def _usable_feeds(catalog: Catalog, seq: CatalogSequence) -> tuple[list[Feed], list[str]]:
    """The feeds to compare against, and notes on the ones left out."""
    notes: list[str] = []
    usable: list[Feed] = []
    for feed in seq.feeds:
        table = catalog.table(feed.column.table)
        column = table.column(feed.column.column) if table else None
        if table is None or column is None:
            continue
        if feed.is_expression:
            notes.append(
                f"{feed.column} uses it in an expression default ({feed.default}): left alone"
            )
        elif table.kind not in (RelKind.TABLE, RelKind.PARTITIONED):
            notes.append(f"{feed.column} is on a {table.kind.name.lower()}: not compared")
        elif column.base_type not in _NUMERIC_TYPES:
            notes.append(f"{feed.column} is {column.type}: not compared")
        else:
            usable.append(feed)
    # A query on a parent reads its partitions and inheritance children too:
    # drop a feed whose ancestor is fed through the same column name.
    fed = {(f.column.table, f.column.column) for f in usable}
    usable = [
        f
        for f in usable
        if not any((a, f.column.column) in fed for a in catalog.ancestors(f.column.table))
    ]
    return usable, notes


def _check_read_privileges(
    catalog: Catalog, plans: Sequence[tuple[CatalogSequence, list[Feed]]]
) -> None:
    missing: list[str] = []
    for seq, feeds in plans:
        if not seq.can_select:
            missing.append(f"SELECT on sequence {seq.name}")
        for f in feeds:
            table = catalog.table(f.column.table)
            if table is not None and not table.can_select:
                missing.append(f"SELECT on table {table.name}")
    if missing:
        unique = list(dict.fromkeys(missing))
        more = f" (and {len(unique) - 3} more)" if len(unique) > 3 else ""
        raise PrivilegeError(
            f"role {catalog.role} lacks {', '.join(unique[:3])}{more}",
            hint=f"ask the owner or a superuser to GRANT {unique[0].replace(' on ', ' ON ', 1)} "
            f"TO {catalog.role}",
        )


# -- reading state ------------------------------------------------------------


def _batches(items: Sequence[_T], size: int = BATCH_SIZE) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _run(
    conn: psycopg.Connection[Any], query: sql.SQL | sql.Composed, params: Any = None
) -> list[Any]:
    """Execute as one transaction; turn server errors into pgferry errors.

    In autocommit mode the statement is its own transaction already: no
    BEGIN/COMMIT round trips (they triple the cost over a network).
    """
    try:
        if conn.autocommit:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else []
        with conn.transaction():
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else []
    except psycopg.errors.InsufficientPrivilege as exc:
        raise PrivilegeError(
            first_line(exc),
            hint="grant the privilege named above to this role, or run as the objects' owner",
        ) from None
    except psycopg.Error as exc:
        if connection_lost(exc):  # not a statement refused: the session is gone
            raise translate(exc) from exc
        diag = exc.diag
        raise DatabaseError(
            (diag.message_primary or str(exc)).strip(), sqlstate=diag.sqlstate
        ) from None


def _state_query(batch: Sequence[tuple[int, tuple[CatalogSequence, list[Feed]]]]) -> sql.Composed:
    parts = []
    for i, (seq, feeds) in batch:
        extremes = [
            sql.SQL("(SELECT {agg}({col})::numeric FROM {table})").format(
                agg=sql.SQL("max" if seq.ascending else "min"),
                col=sql.Identifier(f.column.column),
                table=f.column.table.ident,
            )
            for f in feeds
        ]
        parts.append(
            sql.SQL(
                "SELECT {i}::int, s.last_value::numeric, s.is_called, "
                "ARRAY[{extremes}]::numeric[] FROM {seq} AS s"
            ).format(i=sql.Literal(i), extremes=sql.SQL(", ").join(extremes), seq=seq.name.ident)
        )
    return sql.SQL(" UNION ALL ").join(parts)


Connector = Callable[[], "psycopg.Connection[Any]"]
_State = tuple[int, bool, list[int | None]]


def _read_batches(
    conn: psycopg.Connection[Any],
    batches: Sequence[Sequence[tuple[int, tuple[CatalogSequence, list[Feed]]]]],
    out: dict[int, _State],
) -> None:
    for batch in batches:
        for i, last_value, is_called, extremes in _run(conn, _state_query(batch)):
            out[i] = (
                int(last_value),
                bool(is_called),
                [None if v is None else int(v) for v in extremes],
            )


def _read_states(
    conn: psycopg.Connection[Any],
    plans: Sequence[tuple[CatalogSequence, list[Feed]]],
    *,
    connect: Connector | None = None,
    jobs: int = 1,
) -> dict[int, _State]:
    """State and data extremes of every planned sequence, a batch per statement.

    Planning a statement with many ``max()`` subqueries costs more than linearly,
    so reads go :data:`READ_BATCH` sequences at a time (measured: 50 per
    statement reads 5,000 tables about twice as fast as 200).  Given *connect*,
    up to *jobs* sessions read batches side by side: the server's work is
    opening each table, which parallelises.
    """
    out: dict[int, _State] = {}
    batches = list(_batches(list(enumerate(plans)), READ_BATCH))
    extra = min(jobs, len(batches) // 4 + 1) - 1 if connect is not None else 0
    if extra <= 0 or connect is None:
        _read_batches(conn, batches, out)
        return out
    sessions = [connect() for _ in range(extra)]
    try:
        shares = [batches[k :: extra + 1] for k in range(extra + 1)]
        parts: list[dict[int, _State]] = [{} for _ in shares]
        with ThreadPoolExecutor(max_workers=extra) as pool:
            futures = [
                pool.submit(_read_batches, session, share, part)
                for session, share, part in zip(sessions, shares[1:], parts[1:], strict=True)
            ]
            _read_batches(conn, shares[0], parts[0])
            for f in futures:
                f.result()
    finally:
        for session in sessions:
            session.close()
    for part in parts:
        out.update(part)
    return out


def _next_of(seq: CatalogSequence, last_value: int, is_called: bool) -> int:
    return last_value + seq.increment if is_called else last_value


def read_positions(
    conn: psycopg.Connection[Any], catalog: Catalog | None = None
) -> dict[Name, int]:
    """Every sequence's next value in the database of *conn* (read-only)."""
    catalog = catalog or read_catalog(conn, parts=SEQUENCE_PARTS)
    plans: list[tuple[CatalogSequence, list[Feed]]] = [
        (s, []) for s in catalog.sequences if s.can_select
    ]
    states = _read_states(conn, plans)
    return {
        seq.name: _next_of(seq, states[i][0], states[i][1])
        for i, (seq, _) in enumerate(plans)
        if i in states
    }


# -- deciding -------------------------------------------------------------------


def _assess(
    seq: CatalogSequence,
    feeds: list[Feed],
    notes: list[str],
    state: tuple[int, bool, list[int | None]],
    source_next: int | None,
) -> SequenceState:
    last_value, is_called, extremes = state
    pick = max if seq.ascending else min
    found = [(v, f.column) for v, f in zip(extremes, feeds, strict=True) if v is not None]
    extreme, extreme_at = pick(found, key=lambda p: p[0]) if found else (None, None)
    current = _next_of(seq, last_value, is_called)

    candidates = [current]
    if extreme is not None:
        candidates.append(extreme + seq.increment)
    if source_next is not None:
        candidates.append(source_next)
    target = pick(candidates)

    if extreme is not None and (current <= extreme if seq.ascending else current >= extreme):
        status = Status.BEHIND
    elif target != current:
        status = Status.BEHIND_SOURCE
    else:
        status = Status.OK
    if not feeds and not notes:
        notes.append("feeds no column")
    base = SequenceState(
        sequence=seq,
        status=status,
        feeds=tuple(feeds),
        last_value=last_value,
        is_called=is_called,
        data_extreme=extreme,
        extreme_at=extreme_at,
        source_next=source_next,
        next_value=current,
        target_next=target if target != current else None,
        note="; ".join(notes),
    )
    if not seq.min_value <= target <= seq.max_value:
        return replace(
            base,
            status=Status.OUT_OF_RANGE,
            target_next=None,
            note=_range_note(seq, target, extreme, extreme_at),
        )
    return base


def _range_note(
    seq: CatalogSequence, target: int, extreme: int | None, at: ColumnRef | None
) -> str:
    bound = "MAXVALUE" if seq.ascending else "MINVALUE"
    limit = seq.max_value if seq.ascending else seq.min_value
    held = f"{at} holds {extreme}" if at is not None else "its next value"
    fix = (
        f"ALTER SEQUENCE {seq.name} AS bigint"
        if seq.data_type in ("smallint", "integer")
        else f"ALTER SEQUENCE {seq.name} NO {bound}"
    )
    return (
        f"{seq.data_type} sequence with {bound} {limit} cannot reach {target}: {held}; "
        f"run {fix}, then pgferry sequences fix"
    )


def _skip_reason(seq: CatalogSequence, feeds: list[Feed], notes: list[str]) -> str | None:
    """Why a sequence is left alone: an extension's, or none of its columns can be compared."""
    if seq.extension:
        return f"belongs to extension {seq.extension}: left alone"
    if not feeds and seq.feeds and notes:
        return "; ".join(notes)
    return None


def inspect_sequences(
    conn: psycopg.Connection[Any],
    catalog: Catalog | None = None,
    *,
    schemas: Iterable[str] | None = None,
    source_positions: dict[Name, int] | None = None,
    connect: Connector | None = None,
    jobs: int = 2,
    tables: Collection[Name] | None = None,
) -> list[SequenceState]:
    """The state of every selected sequence (with *tables*: only those feeding a column
    of them), and what fixing it would take.

    *connect* opens more sessions to the same database so that up to *jobs*
    read side by side (worth it from a few hundred sequences on).
    """
    catalog = catalog or read_catalog(conn, parts=SEQUENCE_PARTS)
    results: dict[int, SequenceState] = {}
    plans: list[tuple[CatalogSequence, list[Feed]]] = []
    notes_of: dict[int, list[str]] = {}
    for seq in _selected(catalog, schemas, tables):
        feeds, notes = _usable_feeds(catalog, seq)
        reason = _skip_reason(seq, feeds, notes)
        if reason is not None:
            results[seq.oid] = SequenceState(seq, Status.SKIPPED, note=reason)
            continue
        plans.append((seq, feeds))
        notes_of[seq.oid] = notes
    _check_read_privileges(catalog, plans)
    states = _read_states(conn, plans, connect=connect, jobs=jobs)
    for i, (seq, feeds) in enumerate(plans):
        source_next = source_positions.get(seq.name) if source_positions is not None else None
        results[seq.oid] = _assess(seq, feeds, notes_of[seq.oid], states[i], source_next)
    return sorted(results.values(), key=lambda s: s.name)


@translating()
def check_sequences(
    conn: psycopg.Connection[Any],
    *,
    schemas: Iterable[str] | None = None,
    connect: Connector | None = None,
    jobs: int = 2,
) -> SequenceReport:
    """Report every sequence-fed column whose next value would collide with its data."""
    catalog = read_catalog(conn, parts=SEQUENCE_PARTS)
    states = inspect_sequences(conn, catalog, schemas=schemas, connect=connect, jobs=jobs)
    return SequenceReport(database=catalog.database, states=tuple(states))


@translating()
def fix_sequences(
    conn: psycopg.Connection[Any],
    *,
    source: psycopg.Connection[Any] | None = None,
    positions: dict[Name, int] | None = None,
    schemas: Iterable[str] | None = None,
    dry_run: bool = False,
    connect: Connector | None = None,
    jobs: int = 2,
    tables: Collection[Name] | None = None,
) -> SequenceReport:
    """Move every sequence past the data it feeds, never backwards; with *tables* (what a
    selective migrate copied), only the sequences feeding a column of those tables.

    Given *source* (production, read-only) or its already-read *positions*, no
    sequence is left behind the position of the sequence of the same name there
    either.  Needs UPDATE on each sequence it changes: when any is missing
    nothing is changed and a :class:`PrivilegeError` names them.
    """
    catalog = read_catalog(conn, parts=SEQUENCE_PARTS)
    if positions is None and source is not None:
        positions = read_positions(source)
    states = inspect_sequences(
        conn,
        catalog,
        schemas=schemas,
        source_positions=positions,
        connect=connect,
        jobs=jobs,
        tables=tables,
    )
    todo = [s for s in states if s.needs_change]
    source_name = source.info.dbname if source is not None else "production" if positions else None
    if dry_run or not todo:
        return SequenceReport(catalog.database, tuple(states), dry_run=dry_run, source=source_name)

    denied = [s.name for s in todo if not s.sequence.can_update]
    if denied:
        more = f" (and {len(denied) - 3} more)" if len(denied) > 3 else ""
        raise PrivilegeError(
            f"role {catalog.role} lacks UPDATE on sequence "
            f"{', '.join(str(n) for n in denied[:3])}{more}, which setval needs; "
            "nothing was changed",
            hint=f"ask the owner or a superuser to run: GRANT UPDATE ON SEQUENCE {denied[0]} "
            f"TO {catalog.role}",
        )
    for batch in _batches(todo, BATCH_SIZE):
        _run(
            conn,
            queries.load("sequences_setval"),
            ([s.sequence.oid for s in batch], [s.target_next for s in batch]),
        )
    done = {s.sequence.oid for s in todo}
    final = tuple(replace(s, status=Status.FIXED) if s.sequence.oid in done else s for s in states)
    hints: list[str] = []
    if any(s.sequence.cache > 1 for s in todo):
        hints.append(
            "some fixed sequences have CACHE > 1: restart the application's connection pool "
            "so no session keeps handing out old cached values"
        )
    return SequenceReport(
        catalog.database, final, applied=True, source=source_name, hints=tuple(hints)
    )
