"""Make QA's schema match production's, in one transaction where the server's lock
table allows it.

Every object QA lacks (or that differs and is replaced) is created by pg_dump's
own SQL, taken from production's schema archive in pg_dump's dependency order
(see :mod:`.compare`); an empty QA gets the whole archive.  pgferry writes its
own statements only for what pg_dump does not express as a change: adding a
column to an existing table, a new enum label, a column's type, default or
NOT NULL, a sequence's bounds (see :mod:`.ddl`).

Additive by default: what drops or narrows data runs only with
``allow_drop`` and is listed first.  What QA's server refuses (a feature its
version lacks) is named before anything runs, with what depends on it held
back.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from .. import journal
from ..catalog import Catalog, Name, read_catalog
from ..clienttools import install_hint, pick_tool
from ..endpoints import Endpoint, connect
from ..errors import PushFailed as PushFailed  # defined in pgferry.errors, kept here too
from ..errors import first_line, translating
from ..identity import refuse_same_database, server_identity
from ..plan import OWN_SCHEMA
from . import archive as archives
from . import ddl
from .archive import Archive, Entry
from .compare import Comparison, build, compared
from .ddl import Step
from .diff import Difference, SchemaDiff, diff
from .scratch import NOT_YET, Applied, apply_entries


@dataclass(frozen=True)
class PushPlan:
    """The statements ``schema push`` would run, in order, and what it holds back."""

    diff: SchemaDiff
    steps: tuple[Step, ...]  # in the order they run
    drops: tuple[Difference, ...]  # whose fix drops or narrows data, run with allow_drop
    held_back: tuple[Difference, ...]  # drops not allowed this time
    refused: tuple[Difference, ...]  # no automatic fix, with the reason
    method: str = "catalog"  # 'pg_dump' (an empty QA: the whole archive) or 'archive'
    script: str | None = None  # pg_dump's cleaned output, for an empty QA
    notes: tuple[str, ...] = ()
    deferred: tuple[Step, ...] = ()  # NOT NULL on columns of tables that hold rows: later
    entries: tuple[Entry, ...] = ()  # an empty QA: the archive entries to run
    archive: Archive | None = None
    budget: int = 0  # entries (or statements) one transaction may run; 0: no limit

    @property
    def statements(self) -> list[str]:
        if self.script is not None:
            return [self.script.strip()]
        return [s.text() for s in self.steps]

    @property
    def size(self) -> int:
        return len(self.entries) if self.entries else len(self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "statements": self.statements,
            "drops": [d.to_dict() for d in self.drops],
            "held_back": [d.to_dict() for d in self.held_back],
            "refused": [d.to_dict() for d in self.refused],
            "notes": list(self.notes),
            "deferred": [s.text() for s in self.deferred],
        }


@dataclass(frozen=True)
class PushResult:
    """What ``schema push`` did: its plan, whether it ran, and the diff left after it."""

    plan: PushPlan
    applied: bool
    remaining: SchemaDiff | None = None  # the diff after the push
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "applied": self.applied,
            **self.plan.to_dict(),
            "notes": [*self.plan.notes, *self.notes],
            "remaining": self.remaining.to_dict() if self.remaining is not None else None,
        }


def is_empty(catalog: Catalog) -> bool:
    """Whether QA holds no user object at all (extensions aside)."""

    def mine(schema: str, extension: str | None) -> bool:
        return extension is None and schema != OWN_SCHEMA

    return not (
        any(mine(t.name.schema, t.extension) for t in catalog.tables)
        or any(mine(s.name.schema, s.extension) for s in catalog.sequences)
        or any(mine(e.name.schema, e.extension) for e in catalog.enums)
        or any(mine(d.name.schema, d.extension) for d in catalog.domains)
        or any(mine(c.name.schema, c.extension) for c in catalog.composites)
        or any(mine(f.name.schema, f.extension) for f in catalog.functions)
    )


@translating()
def plan_push(
    source: Catalog, target: Catalog, *, allow_drop: bool = False, schemas: tuple[str, ...] = ()
) -> PushPlan:
    """The statements that make *target* match *source*, built from the catalogs."""
    return plan_from(diff(source, target, schemas=schemas), allow_drop=allow_drop)


def plan_from(found: SchemaDiff, *, allow_drop: bool = False) -> PushPlan:
    """The statements that close the differences *found*: each one's fix, in order."""
    steps: list[Step] = []
    drops: list[Difference] = []
    held: list[Difference] = []
    refused: list[Difference] = []
    for d in found.differences:
        if d.refused is not None:
            refused.append(d)
            continue
        if d.drops:
            drops.append(d)
            if not allow_drop:
                held.append(d)
                continue
        steps += d.fix
    unique = list({s.text(): s for s in steps}.values())  # OWNED BY comes from two sides
    return PushPlan(found, tuple(ddl.ordered(unique)), tuple(drops), tuple(held), tuple(refused))


@translating()
def push(
    source: Endpoint,
    target: Endpoint,
    *,
    dry_run: bool = False,
    allow_drop: bool = False,
    schemas: tuple[str, ...] = (),
    use_pg_dump: bool = True,
    grants: bool = True,
    exact: bool = True,
    recover: bool = True,
) -> PushResult:
    """Compare, then (unless *dry_run*) apply the fix to QA.

    *use_pg_dump* False builds every statement from the catalogs (the old way,
    without row-level security, grants and the rest); *exact* False compares
    across servers instead of in a scratch database on QA's server.  Before it
    compares, a push locks QA and puts back what an interrupted ``migrate`` set
    aside (:func:`pgferry.journal.recovered`), so a key set aside is never taken
    for drift; *recover* False: the caller (``migrate``) has done so and holds the lock.
    """

    def run() -> PushResult:
        return _push(
            source,
            target,
            dry_run=dry_run,
            allow_drop=allow_drop,
            schemas=schemas,
            use_pg_dump=use_pg_dump,
            grants=grants,
            exact=exact,
        )

    if dry_run or not recover:
        return run()
    with connect(target, autocommit=True) as lock, journal.recovered(lock) as restored:
        result = run()
    if not restored.restored:
        return result
    said = f"put back {len(restored.restored)} objects an interrupted pgferry migrate had set aside"
    return replace(result, notes=(said, *result.notes))


def _push(
    source: Endpoint,
    target: Endpoint,
    *,
    dry_run: bool,
    allow_drop: bool,
    schemas: tuple[str, ...],
    use_pg_dump: bool,
    grants: bool,
    exact: bool,
) -> PushResult:
    if not use_pg_dump:
        return _push_from_catalogs(
            source, target, dry_run=dry_run, allow_drop=allow_drop, schemas=schemas, note=""
        )
    with connect(source, read_only=True, autocommit=True) as probe:
        major = int(probe.info.server_version) // 10000
    if pick_tool("pg_dump", major) is None or pick_tool("pg_restore", major) is None:
        note = (
            f"no pg_dump {major} or newer on this machine: the schema is built from the "
            "catalog, without row-level security, policies, grants, comments, rules and "
            "casts; for those, " + install_hint("pg_dump", major)
        )
        return _push_from_catalogs(
            source, target, dry_run=dry_run, allow_drop=allow_drop, schemas=schemas, note=note
        )
    with compared(source, target, schemas=schemas, with_grants=grants, exact=exact) as cmp:
        plan = _plan(cmp, allow_drop=allow_drop)
        if not plan.entries:
            with connect(target, autocommit=True) as tconn:
                plan = _defer_not_null(plan, tconn)
        if dry_run or not plan.size:
            return PushResult(plan, applied=False, remaining=cmp.diff)
        with (
            connect(source, read_only=True, autocommit=True) as sconn,
            connect(target, autocommit=True) as tconn,
        ):
            history = (
                _history_table(cmp.source_catalog) if not (plan.held_back or plan.refused) else None
            )

            def copy_history() -> None:
                if history is not None:
                    _copy_history(sconn, tconn, history)

            notes: list[str] = []
            if plan.entries and plan.archive is not None:
                done = apply_entries(
                    tconn,
                    plan.archive,
                    plan.entries,
                    cmp.target_settings,
                    budget=plan.budget,
                    then=copy_history,
                )
                notes += _applied_notes(done)
            else:
                notes += _apply(tconn, plan, copy_history)
            remaining = _remaining(cmp, tconn, schemas, grants)
    if history:
        notes.append(f"copied production's Prisma migration history ({history}) along")
    return PushResult(plan, applied=True, remaining=remaining, notes=tuple(notes))


def _plan(cmp: Comparison, *, allow_drop: bool) -> PushPlan:
    plan = plan_from(cmp.diff, allow_drop=allow_drop)
    tool = cmp.production.source.split(" of ", 1)[0]
    notes = [*cmp.notes, f"production's schema comes from {tool}"]
    notes.append("left out on purpose: " + "; ".join(archives.LEFT_OUT))
    plan = replace(plan, method="archive", budget=cmp.budget, notes=tuple(notes))
    if not is_empty(cmp.target_catalog):
        return plan
    skipped = cmp.rehearsal.left_out if cmp.rehearsal else set()
    entries = tuple(e for e in cmp.production.entries if e.id not in skipped)
    script = cmp.production.script(entries, target_settings=cmp.target_settings)
    return replace(
        plan,
        method="pg_dump",
        steps=(),
        entries=entries,
        archive=cmp.production,
        script=script,
        notes=(*plan.notes, f"QA is empty: the whole schema comes from {tool}"),
    )


def _applied_notes(done: Applied) -> list[str]:
    notes = []
    if done.transactions > 1:
        notes.append(
            f"applied in {done.transactions} transactions, to stay within QA's lock table "
            "(max_locks_per_transaction); a push stopped part-way is completed by running it again"
        )
    for e, error in done.refused:
        notes.append(f"QA's server refused {e.label}: {error}")
    for e, error in done.held_back:
        notes.append(f"held back {e.label}, which needs what was refused: {error}")
    return notes


def _remaining(
    cmp: Comparison, tconn: psycopg.Connection[Any], schemas: tuple[str, ...], grants: bool
) -> SchemaDiff:
    """The comparison again, against QA as the push left it (the reference is kept)."""
    assert cmp.reference is not None and cmp.reference_catalog is not None
    assert cmp.target_endpoint is not None
    with tempfile.TemporaryDirectory(prefix="pgferry-schema-") as tmp:
        major = max(cmp.source_major, cmp.target_catalog.major_version)
        qa = archives.dump(
            cmp.target_endpoint,
            major,
            Path(tmp) / "qa.dump",
            schemas=schemas,
            grants=grants,
            label="QA",
        )
        return build(
            cmp.reference_catalog,
            read_catalog(tconn),
            cmp.reference,
            qa,
            cmp.production,
            cmp.target_settings,
            schemas,
            cmp.diff.mode,
            cmp.rehearsal,
            list(cmp.notes),
        )


def _push_from_catalogs(
    source: Endpoint,
    target: Endpoint,
    *,
    dry_run: bool,
    allow_drop: bool,
    schemas: tuple[str, ...],
    note: str,
) -> PushResult:
    """Every statement built from the two catalogs (``--no-pg-dump``, or no pg_dump)."""
    with (
        connect(source, read_only=True, autocommit=True) as sconn,
        connect(target, autocommit=True) as tconn,
    ):
        refuse_same_database(server_identity(sconn), server_identity(tconn), target)
        src_cat, dst_cat = read_catalog(sconn), read_catalog(tconn)
        plan = plan_push(src_cat, dst_cat, allow_drop=allow_drop, schemas=schemas)
        if note:
            plan = replace(plan, notes=(*plan.notes, note))
        plan = _defer_not_null(plan, tconn)
        if dry_run or not plan.statements:
            return PushResult(plan, applied=False, remaining=plan.diff)
        history = _history_table(src_cat) if not (plan.held_back or plan.refused) else None

        def copy_history() -> None:
            if history is not None:
                _copy_history(sconn, tconn, history)

        _apply(tconn, plan, copy_history)
        remaining = diff(src_cat, read_catalog(tconn), schemas=schemas)
    notes = (f"copied production's Prisma migration history ({history}) along",) if history else ()
    return PushResult(plan, applied=True, remaining=remaining, notes=notes)


#: Prisma's record of applied migrations: it describes the schema, so it travels with it.
PRISMA_HISTORY = "_prisma_migrations"


def _history_table(catalog: Catalog) -> Name | None:
    return next((t.name for t in catalog.tables if t.name.name == PRISMA_HISTORY), None)


def _copy_history(
    sconn: psycopg.Connection[Any], tconn: psycopg.Connection[Any], table: Name
) -> None:
    """Replace QA's ``_prisma_migrations`` rows with production's, in the push's transaction.

    Without this, ``prisma migrate deploy`` against QA would try to apply again
    the migrations whose tables the push just created, and fail.
    """
    cols = [
        str(r[0])
        for r in tconn.execute(
            "SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = %s::regclass "
            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            (str(table),),
        )
    ]
    names = sql.SQL(", ").join(sql.Identifier(c) for c in cols)
    tconn.execute(sql.SQL("DELETE FROM {}").format(table.ident))
    with (
        sconn.cursor().copy(
            sql.SQL("COPY (SELECT {} FROM {}) TO STDOUT").format(names, table.ident)
        ) as out,
        tconn.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN").format(table.ident, names)) as into,
    ):
        for block in out:
            into.write(block)


def _defer_not_null(plan: PushPlan, conn: psycopg.Connection[Any]) -> PushPlan:
    """Leave out SET NOT NULL on a new column of a table that holds rows (they have no value)."""
    tables = {s.needs_empty for s in plan.steps if s.needs_empty is not None}
    full = {
        t
        for t in tables
        if t is not None
        and conn.execute(sql.SQL("SELECT EXISTS (SELECT FROM {})").format(t.ident)).fetchone()
        == (True,)
    }
    if not full:
        return plan
    deferred = tuple(s for s in plan.steps if s.needs_empty in full)
    note = (
        f"{len(deferred)} new NOT NULL column(s) added nullable, because QA's rows have no value "
        f"for them ({', '.join(sorted(str(t) for t in full))}): run pgferry migrate, then "
        "schema push again (migrate --push-schema does both)"
    )
    return replace(
        plan,
        steps=tuple(s for s in plan.steps if s.needs_empty not in full),
        deferred=deferred,
        notes=(*plan.notes, note),
    )


#: SQLSTATEs of a statement naming an object the push has not made yet (undefined
#: object, table, function, schema, column): it is tried again after the others.
_NOT_YET = NOT_YET


def _apply(
    conn: psycopg.Connection[Any], plan: PushPlan, then: Callable[[], None] = lambda: None
) -> list[str]:
    """Run the push: new enum labels first (committed: PostgreSQL lets no statement use a
    label added in the same transaction), then everything else in one transaction, or in
    as many as QA's lock table needs (``plan.budget`` statements each); return notes."""
    labels = [s for s in plan.steps if s.phase is ddl.Phase.ENUM_LABEL]
    rest = [s for s in plan.steps if s.phase is not ddl.Phase.ENUM_LABEL]
    size = plan.budget if plan.budget and len(rest) > plan.budget else len(rest) or 1
    chunks = [rest[i : i + size] for i in range(0, len(rest), size)] or [[]]
    conn.autocommit = False
    try:
        if labels and plan.script is None:
            with conn.transaction():
                _run_all(conn, labels, "")
        for n, chunk in enumerate(chunks):
            kept = f" (apart from {len(labels)} enum label(s) added first)" if labels else ""
            if n:
                kept = f" since its transaction {n + 1} of {len(chunks)} (run it again to finish)"
            with conn.transaction():
                # function bodies may name tables created later in the same push
                conn.execute("SET LOCAL check_function_bodies = off")
                if plan.script is not None:
                    _run_all(conn, [plan.script], kept)
                else:
                    _run_all(conn, chunk, kept)
                if n == len(chunks) - 1:
                    then()
    finally:
        conn.autocommit = True
    if len(chunks) > 1:
        return [
            f"applied in {len(chunks)} transactions, to stay within QA's lock table "
            "(max_locks_per_transaction); a push stopped part-way is completed by running it again"
        ]
    return []


def _run_all(conn: psycopg.Connection[Any], steps: Sequence[Step | str], kept: str) -> None:
    """Run *steps* in order, each in a savepoint; one that names what a later one makes is
    tried again after the rest, until a whole round makes no progress."""
    todo: list[Step | str] = list(steps)
    while todo:
        waiting: list[Step | str] = []
        first: tuple[psycopg.Error, Step | str] | None = None
        for step in todo:
            try:
                with conn.transaction():
                    conn.execute(step.statement if isinstance(step, Step) else step)
            except psycopg.Error as exc:
                if exc.sqlstate not in _NOT_YET or isinstance(step, str):
                    raise _failed(exc, step, kept) from None
                waiting.append(step)
                first = first or (exc, step)
        if first is not None and len(waiting) == len(todo):
            raise _failed(*first, kept) from None
        todo = waiting


def _failed(exc: psycopg.Error, step: Step | str, kept: str) -> PushFailed:
    shown = step.text() if isinstance(step, Step) else "pg_dump's schema script"
    first = first_line(exc)
    short = shown if len(shown) <= 200 else shown[:197] + "..."
    return PushFailed(
        f"schema push stopped, QA's schema is unchanged{kept}: {first}, in: {short}",
        hint="fix what the message names in QA (or in production) and run schema push again",
    )
