"""``verify``: prove QA matches production, table by table, and that QA works.

Each side is read from one snapshot.  Row counts always (materialized views:
populated or not, and their rows; large objects: how many); with ``checksums``
an order-independent hash of every table's content, computed inside each
server (no rows shipped), and for a table that differs, the keys that differ.
With masking rules, each masked column is checked on a sample of QA's rows to
hold none of production's values (see :func:`check_masks`).  Then QA's own
health: sequences clear of their data, and the checks of
:mod:`pgferry.integrity` (foreign keys and their orphans, a new row per table).

The package: :mod:`.tables` reads a table alike on both sides (columns as text,
the key that names a row, the content hash), :mod:`.masks` checks the masked
columns, and this module runs the whole check and holds its report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import psycopg

from .. import journal, largeobjects, matviews
from ..catalog import Name, RelKind
from ..endpoints import Endpoint, connect
from ..errors import PrivilegeError, translating
from ..identity import refuse_same_database
from ..integrity import (
    ForeignKeyCheck,
    InsertCheck,
    check_foreign_keys,
    check_insert,
    count_orphans,
)
from ..plan import Plan, build_plan
from ..refresh.masking import mark_masked
from ..refresh.snapshot import Snapshot, count_rows
from ..sequences import SequenceReport, check_sequences
from .masks import CHANCE_KINDS as CHANCE_KINDS  # documented as pgferry.verify.CHANCE_KINDS
from .masks import KEPT_KINDS as KEPT_KINDS
from .masks import MASK_SAMPLE, MaskCheck, check_masks
from .tables import Side, differences, key_of, pin_output, sides, table_hash, unmasked


@dataclass(frozen=True)
class TableCheck:
    source: Name
    target: Name
    source_rows: int
    target_rows: int
    source_hash: int | None = None
    target_hash: int | None = None
    differences: tuple[str, ...] = ()  # "missing in QA: id=5", ...

    @property
    def ok(self) -> bool:
        return self.source_rows == self.target_rows and self.source_hash == self.target_hash

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": str(self.target),
            "production_rows": self.source_rows,
            "qa_rows": self.target_rows,
            "content_equal": None
            if self.source_hash is None
            else self.source_hash == self.target_hash,
            "differences": list(self.differences),
            "ok": self.ok,
        }


@dataclass(frozen=True)
class MatviewCheck:
    """A materialized view on both sides: populated or not, and its rows when it is."""

    name: Name
    source_populated: bool
    target_populated: bool
    source_rows: int | None = None
    target_rows: int | None = None

    @property
    def ok(self) -> bool:
        return (
            self.source_populated == self.target_populated and self.source_rows == self.target_rows
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "view": str(self.name),
            "production_populated": self.source_populated,
            "qa_populated": self.target_populated,
            "production_rows": self.source_rows,
            "qa_rows": self.target_rows,
            "ok": self.ok,
        }


@dataclass(frozen=True)
class LargeObjectCheck:
    production: int
    qa: int

    @property
    def ok(self) -> bool:
        return self.production == self.qa

    def to_dict(self) -> dict[str, Any]:
        return {"production": self.production, "qa": self.qa, "ok": self.ok}


@dataclass
class VerifyReport:
    """What ``pgferry verify`` found: counts, checksums, sequences, keys, inserts."""

    source: str
    target: str
    plan: Plan
    checksums: bool = False
    tables: list[TableCheck] = field(default_factory=list)
    matviews: list[MatviewCheck] = field(default_factory=list)
    #: None when not compared (``large_objects=False``)
    large_objects: LargeObjectCheck | None = None
    sequences: SequenceReport | None = None
    #: why QA's sequences could not be checked (a missing privilege), when they were not
    sequences_not_checked: str | None = None
    foreign_keys: list[ForeignKeyCheck] = field(default_factory=list)
    inserts: list[InsertCheck] = field(default_factory=list)
    #: masked columns checked against production's values (with masking rules)
    masks: list[MaskCheck] = field(default_factory=list)
    #: set when a pgferry load into QA did not finish (see :func:`pgferry.journal.mid_refresh`)
    mid_refresh: str | None = None

    @property
    def ok(self) -> bool:
        return (
            self.mid_refresh is None
            and not self.plan.blocking
            and self.sequences_not_checked is None
            and all(t.ok for t in self.tables)
            and all(m.ok for m in self.matviews)
            and (self.large_objects is None or self.large_objects.ok)
            and (self.sequences is None or self.sequences.healthy)
            and all(f.ok for f in self.foreign_keys)
            and all(i.ok for i in self.inserts)
            and all(m.ok for m in self.masks)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "ok": self.ok,
            "mid_refresh": self.mid_refresh,
            "checksums": self.checksums,
            "schema_problems": [p.message for p in self.plan.blocking],
            "tables": [t.to_dict() for t in self.tables],
            "materialized_views": [m.to_dict() for m in self.matviews],
            "large_objects": self.large_objects.to_dict() if self.large_objects else None,
            "sequences": self.sequences.to_dict() if self.sequences else None,
            "sequences_not_checked": self.sequences_not_checked,
            "foreign_keys": [f.to_dict() for f in self.foreign_keys],
            "inserts": [i.to_dict() for i in self.inserts],
            "masked_columns": [m.to_dict() for m in self.masks],
        }


# -- the whole check ----------------------------------------------------------------------


def _hash_all(
    snap: Snapshot, sides: Sequence[tuple[Name, Side, int]], jobs: int
) -> dict[Name, tuple[int, int]]:
    """Hash each (target name, side, size) with up to *jobs* sessions sharing the
    snapshot, the largest tables first, each session taking the next table."""
    out: dict[Name, tuple[int, int]] = {}
    todo = sorted(sides, key=lambda x: x[2], reverse=True)

    def work(todo: list[tuple[Name, Side, int]]) -> None:
        with snap.worker() as conn:
            pin_output(conn)
            while todo:
                try:
                    target, side, _ = todo.pop(0)
                except IndexError:
                    return
                out[target] = table_hash(conn, side.name, (), side.only, side.columns)

    workers = max(1, min(jobs, len(todo)))
    if not todo:
        return out
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for f in [pool.submit(work, todo) for _ in range(workers)]:
            f.result()
    return out


@translating()
def verify(
    source: Endpoint,
    target: Endpoint,
    *,
    checksums: bool = False,
    tables: Sequence[str] = (),
    exclude: Sequence[str] = (),
    schemas: Sequence[str] = (),
    jobs: int = 2,
    inserts: bool = True,
    large_objects: bool = True,
    masked: Mapping[str, Mapping[str, Any]] | None = None,
    mask_sample: int = MASK_SAMPLE,
) -> VerifyReport:
    """Compare QA with production and check QA's health; see the module docstring.

    *masked*: the masking rules the refresh ran with (``[mask]``: per table, each
    column's rule, as :func:`pgferry.refresh.masking.mark_masked` takes them); checksums leave
    the masked columns, and those foreign keys make follow them, out, and up to
    *mask_sample* rows of each masked table are checked to hold none of
    production's values in them (:func:`check_masks`)."""
    if mask_sample < 1:
        raise ValueError(f"mask_sample must be at least 1, not {mask_sample}")
    with Snapshot(source) as prod, Snapshot(target) as qa:
        # the insert check writes (and rolls back) in the target: never in production
        refuse_same_database(prod.identity(), qa.identity(), target)
        prod_cat, qa_cat = prod.catalog(), qa.catalog()
        plan = build_plan(prod_cat, qa_cat, tables=tables, exclude=exclude, schemas=schemas)
        if masked:
            plan = mark_masked(plan, masked, prod_cat)
        report = VerifyReport(source.describe(), target.describe(), plan, checksums=checksums)
        report.mid_refresh = journal.mid_refresh(qa.conn)
        if checksums:
            left, right = sides(plan, prod_cat, qa_cat)
            pin_output(prod.conn)
            pin_output(qa.conn)
            with ThreadPoolExecutor(max_workers=2) as pool:
                fa = pool.submit(
                    _hash_all,
                    prod,
                    [(tp.target, left[tp.target], tp.estimated_bytes) for tp in plan.tables],
                    jobs,
                )
                fb = pool.submit(
                    _hash_all,
                    qa,
                    [(tp.target, right[tp.target], tp.estimated_bytes) for tp in plan.tables],
                    jobs,
                )
                a, b = fa.result(), fb.result()
            for tp in plan.tables:
                (ns, hs), (nt, ht) = a[tp.target], b[tp.target]
                check = TableCheck(tp.source, tp.target, ns, nt, hs, ht)
                key = key_of(qa_cat, tp.target, unmasked(tp))
                if not check.ok and key:
                    found = differences(prod.conn, qa.conn, left[tp.target], right[tp.target], key)
                    check = TableCheck(tp.source, tp.target, ns, nt, hs, ht, found)
                report.tables.append(check)
        else:
            na = count_rows(prod.conn, [(tp.source, tp.only) for tp in plan.tables])
            nb = count_rows(qa.conn, [(tp.target, tp.only) for tp in plan.tables])
            report.tables = [
                TableCheck(tp.source, tp.target, na[tp.source], nb[tp.target]) for tp in plan.tables
            ]
        if masked:
            pin_output(prod.conn)
            pin_output(qa.conn)
            rows = {t.target: t.target_rows for t in report.tables}
            report.masks = check_masks(
                prod.conn, qa.conn, plan, (prod_cat, qa_cat), rows, mask_sample
            )
        report.matviews = _matviews(prod.conn, qa.conn, plan.refresh)
        if large_objects:
            report.large_objects = LargeObjectCheck(
                largeobjects.count(prod.conn), largeobjects.count(qa.conn)
            )
        # a partitioned parent's foreign keys are its partitions' (the catalog lists
        # them once, on the parent)
        copied = {tp.target for tp in plan.tables} | set(plan.truncate)
        with connect(target, autocommit=True) as conn:
            try:
                report.sequences = check_sequences(conn, schemas=schemas or None)
            except PrivilegeError as exc:  # the other checks still run and say their part
                hint = f" ({exc.hint})" if exc.hint else ""
                report.sequences_not_checked = exc.message + hint
            report.foreign_keys = check_foreign_keys(conn, qa_cat, prod_cat, copied)
            if inserts:
                report.inserts = [
                    check_insert(conn, qa_cat, tp.target)
                    for tp in plan.tables
                    if (t := qa_cat.table(tp.target)) is not None and t.kind is RelKind.TABLE
                ]
    return report


def _matviews(
    prod: psycopg.Connection[Any], qa: psycopg.Connection[Any], views: Sequence[Name]
) -> list[MatviewCheck]:
    """Populated state of *views* on both sides, and the rows of those populated
    (reading an unpopulated view fails)."""
    a, b = matviews.populated(prod), matviews.populated(qa)
    na = count_rows(prod, [(v, False) for v in views if a.get(v)])
    nb = count_rows(qa, [(v, False) for v in views if b.get(v)])
    return [MatviewCheck(v, a.get(v, False), b.get(v, False), na.get(v), nb.get(v)) for v in views]


__all__ = [
    "ForeignKeyCheck",
    "InsertCheck",
    "LargeObjectCheck",
    "MaskCheck",
    "MatviewCheck",
    "TableCheck",
    "VerifyReport",
    "check_foreign_keys",
    "check_insert",
    "check_masks",
    "count_orphans",
    "verify",
]
