"""What a load sets aside in QA and how it empties the copy set, decided from the catalogs.

Foreign keys and triggers over the copy set are set aside (or, in replica mode,
only the keys production's snapshot cannot vouch for), large tables' plain
secondary indexes are deferred, and the ``TRUNCATE`` batches are cut to fit
QA's lock table.  Nothing here writes; :mod:`pgferry.refresh.pipeline` acts on it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from enum import StrEnum
from typing import Any

import psycopg

from .. import locks
from ..catalog import Catalog, Constraint, ConstraintType, Index, Name, RelKind
from ..integrity import not_valid_in_production, production_key
from ..plan import Plan, covered_tables
from .streams import can_use_replica_role


class LoadMode(StrEnum):
    """How QA's checks are kept from firing during the load."""

    #: ``session_replication_role = replica``: triggers and foreign-key checks do not fire
    REPLICA = "replica"
    #: foreign keys and triggers set aside and put back (no privilege for replica)
    CONSTRAINTS = "constraints"


def aside(
    plan: Plan, catalog: Catalog, replica: bool, source: Catalog
) -> tuple[list[Constraint], list[Any], list[Constraint]]:
    """Foreign keys and triggers to set aside for the load, and the keys QA keeps
    NOT VALID because production holds them so.

    Each key set aside carries, in ``validated``, the state it comes back in:
    production's, where production has the key (so a key NOT VALID there is
    never validated in QA, and one valid there is validated again), else QA's own.
    """
    copied = covered_tables(set(plan.truncate), catalog)
    triggers = [
        trg
        for trg in catalog.triggers
        if trg.table in copied
        and trg.enabled in (("A", "R") if replica else ("O", "A"))
        and _is_own_trigger(trg, catalog)
    ]
    fks = [fk for fk in catalog.foreign_keys() if fk.table in copied or fk.ref_table in copied]
    as_production = [fk for fk in fks if not_valid_in_production(fk, source)]
    if replica:
        # Foreign-key triggers do not fire for a replica session, so nothing checks
        # the rows: keep only the keys production's snapshot is known to satisfy
        # (the same validated key there, both tables copied), and those QA already
        # holds NOT VALID as production does.  The others are set aside and put
        # back afterwards like in constraints mode, never left marked valid over
        # rows that break them.
        fks = [
            fk
            for fk in fks
            if not _holds_in_source(fk, copied, source)
            and not (not fk.validated and fk in as_production)
        ]
    wanted = [replace(fk, validated=_wanted(fk, source)) for fk in fks]
    return wanted, triggers, as_production


def _wanted(fk: Constraint, source: Catalog) -> bool:
    """Whether QA's *fk* is to be validated after the load: as production has it."""
    found = production_key(fk, source)
    return fk.validated if found is None else found.validated


def _holds_in_source(fk: Constraint, copied: set[Name], source: Catalog) -> bool:
    if not fk.validated or fk.table not in copied or fk.ref_table not in copied:
        return False
    definition = fk.definition.removesuffix(" NOT VALID")
    return any(
        c.type is ConstraintType.FOREIGN_KEY and c.validated and c.definition == definition
        for c in source.constraints_of(fk.table)
    )


#: Tables with at least this many rows (planner estimate) load without their
#: secondary indexes, which are built again afterwards, as pg_restore does.
DEFER_INDEXES_FROM_ROWS = 10_000


def deferred_indexes(plan: Plan, catalog: Catalog) -> list[Index]:
    """Plain secondary indexes of the large tables being loaded: one sorted build
    after the load costs much less than updating them row by row during it."""
    large = {tp.target for tp in plan.tables if tp.estimated_rows >= DEFER_INDEXES_FROM_ROWS}
    return [ix for ix in catalog.indexes if ix.table in large and ix.is_plain]


def _is_own_trigger(trg: Any, catalog: Catalog) -> bool:
    """A trigger cloned onto a partition follows its parent's: set the parent's aside only."""
    table = catalog.table(trg.table)
    if table is None or not table.is_partition:
        return True
    return not any(t.table in table.parents and t.name == trg.name for t in catalog.triggers)


def kept(plan: Plan, catalog: Catalog, away: Sequence[Constraint]) -> list[Constraint]:
    """The validated foreign keys over the copy set a load leaves in place (replica mode:
    production's snapshot satisfies them once the load is whole, not before)."""
    copied = covered_tables(set(plan.truncate), catalog)
    set_aside = {(fk.table, fk.name) for fk in away}
    return [
        fk
        for fk in catalog.foreign_keys()
        if fk.validated
        and (fk.table in copied or fk.ref_table in copied)
        and (fk.table, fk.name) not in set_aside
    ]


def truncate_batches(
    tconn: psycopg.Connection[Any],
    plan: Plan,
    catalog: Catalog,
    source: Catalog,
    *,
    replica: bool | None = None,
) -> list[list[Name]]:
    """The TRUNCATEs that empty the copy set within QA's lock table (see
    :mod:`pgferry.locks`): tables a foreign key left in place ties share one."""
    if replica is None:
        replica = can_use_replica_role(tconn)
    away = {(fk.table, fk.name) for fk in aside(plan, catalog, replica, source)[0]}
    units = set(plan.truncate)

    def unit(name: Name) -> Name | None:  # a partition is emptied with its truncated root
        if name in units:
            return name
        return next((a for a in catalog.ancestors(name) if a in units), None)

    links = [
        (a, b)
        for fk in catalog.foreign_keys()
        if (fk.table, fk.name) not in away
        and (a := unit(fk.table)) is not None
        and fk.ref_table is not None
        and (b := unit(fk.ref_table)) is not None
    ]
    return locks.truncate_batches(
        tconn, plan.truncate, partitioned=partitioned(plan.truncate, catalog), links=links
    )


def partitioned(tables: Sequence[Name], catalog: Catalog) -> set[Name]:
    return {
        n for n in tables if (t := catalog.table(n)) is not None and t.kind is RelKind.PARTITIONED
    }


@contextmanager
def replica_session(conn: psycopg.Connection[Any], enabled: bool) -> Iterator[None]:
    """``session_replication_role = replica`` for the block, when allowed."""
    if enabled:
        conn.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        if enabled:
            conn.execute("RESET session_replication_role")


__all__ = [
    "DEFER_INDEXES_FROM_ROWS",
    "LoadMode",
    "aside",
    "deferred_indexes",
    "kept",
    "partitioned",
    "replica_session",
    "truncate_batches",
]
