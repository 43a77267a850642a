"""Make QA's schema match production's, in one transaction.

Additive by default: what drops or narrows data runs only with
``allow_drop`` and is listed first.  An empty QA gets production's whole
schema from pg_dump (see :mod:`.dump`) when one that fits is on this machine;
otherwise, and for a QA that exists already, the statements are built from
the two catalogs (see :mod:`.ddl`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import psycopg
from psycopg import sql

from ..catalog import Catalog, Name, read_catalog
from ..endpoints import Endpoint, connect
from ..errors import SchemaMismatch
from ..plan import OWN_SCHEMA
from ..source import refuse_same_database, server_identity
from . import ddl, dump
from .ddl import Step
from .diff import Difference, SchemaDiff, diff


class PushFailed(SchemaMismatch):
    """A statement of the push failed: QA's schema is as it was."""


@dataclass(frozen=True)
class PushPlan:
    diff: SchemaDiff
    steps: tuple[Step, ...]  # in the order they run
    drops: tuple[Difference, ...]  # whose fix drops or narrows data, run with allow_drop
    held_back: tuple[Difference, ...]  # drops not allowed this time
    refused: tuple[Difference, ...]  # no automatic fix, with the reason
    method: str = "catalog"  # or 'pg_dump'
    script: str | None = None  # pg_dump's cleaned output, for an empty QA
    notes: tuple[str, ...] = ()
    deferred: tuple[Step, ...] = ()  # NOT NULL on columns of tables that hold rows: later

    @property
    def statements(self) -> list[str]:
        if self.script is not None:
            return [self.script.strip()]
        return [s.text() for s in self.steps]

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


def plan_push(
    source: Catalog, target: Catalog, *, allow_drop: bool = False, schemas: tuple[str, ...] = ()
) -> PushPlan:
    """The statements that make *target* match *source*, built from the catalogs."""
    found = diff(source, target, schemas=schemas)
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


def push(
    source: Endpoint,
    target: Endpoint,
    *,
    dry_run: bool = False,
    allow_drop: bool = False,
    schemas: tuple[str, ...] = (),
    use_pg_dump: bool = True,
) -> PushResult:
    """Compare, then (unless *dry_run*) apply the fix to QA in one transaction."""
    with (
        connect(source, read_only=True, autocommit=True) as sconn,
        connect(target, autocommit=True) as tconn,
    ):
        refuse_same_database(server_identity(sconn), server_identity(tconn), target)
        src_cat, dst_cat = read_catalog(sconn), read_catalog(tconn)
        plan = plan_push(src_cat, dst_cat, allow_drop=allow_drop, schemas=schemas)
        if use_pg_dump and is_empty(dst_cat) and plan.steps:
            plan = _with_dump(plan, source, src_cat, tconn, schemas)
        else:
            plan = _defer_not_null(plan, tconn)
        if dry_run or not plan.statements:
            return PushResult(plan, applied=False, remaining=plan.diff)
        history = _history_table(src_cat) if not (plan.held_back or plan.refused) else None

        def copy_history() -> None:
            if history is not None:
                _copy_history(sconn, tconn, history)

        try:
            _apply(tconn, plan, copy_history)
        except PushFailed as exc:
            if plan.script is None:
                raise
            plan = replace(  # pg_dump wrote what QA's older server does not take
                plan,
                method="catalog",
                script=None,
                notes=(
                    *plan.notes,
                    f"QA's server refused pg_dump's script ({exc.message}); "
                    "the schema was built from the catalog instead",
                ),
            )
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


def _with_dump(
    plan: PushPlan,
    source: Endpoint,
    src_cat: Catalog,
    tconn: psycopg.Connection[Any],
    schemas: tuple[str, ...],
) -> PushPlan:
    tool = dump.find_pg_dump(src_cat.major_version)
    if tool is None:
        note = (
            f"no pg_dump {src_cat.major_version} or newer on this machine: the schema is built "
            "from the catalog, without policies, comments and grants; for those, "
            + dump.missing_pg_dump(src_cat.major_version)
        )
        return replace(plan, notes=(*plan.notes, note))
    settings = [str(r[0]) for r in tconn.execute("SELECT name FROM pg_catalog.pg_settings")]
    script = dump.clean(dump.dump_schema(source, tool, schemas), settings)
    note = f"QA is empty: the whole schema comes from {tool.label}"
    return replace(plan, method="pg_dump", script=script, notes=(*plan.notes, note))


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
_NOT_YET = frozenset({"42704", "42P01", "42883", "3F000", "42703"})


def _apply(
    conn: psycopg.Connection[Any], plan: PushPlan, then: Callable[[], None] = lambda: None
) -> None:
    """Run the push: new enum labels first (committed: PostgreSQL lets no statement use a
    label added in the same transaction), then everything else in one transaction."""
    labels = [s for s in plan.steps if s.phase is ddl.Phase.ENUM_LABEL]
    rest = [s for s in plan.steps if s.phase is not ddl.Phase.ENUM_LABEL]
    conn.autocommit = False
    try:
        if labels and plan.script is None:
            with conn.transaction():
                _run_all(conn, labels, "")
        kept = f" (apart from {len(labels)} enum label(s) added first)" if labels else ""
        with conn.transaction():
            # function bodies may name tables created later in the same push
            conn.execute("SET LOCAL check_function_bodies = off")
            if plan.script is not None:
                _run_all(conn, [plan.script], kept)
            else:
                _run_all(conn, rest, kept)
            then()
    finally:
        conn.autocommit = True


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
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    short = shown if len(shown) <= 200 else shown[:197] + "..."
    return PushFailed(
        f"schema push stopped, QA's schema is unchanged{kept}: {first}, in: {short}",
        hint="fix what the message names in QA (or in production) and run schema push again",
    )
