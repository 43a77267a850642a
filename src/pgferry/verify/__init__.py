"""``verify``: prove QA matches production, table by table, and that QA works.

Each side is read from one snapshot.  Row counts always (materialized views:
populated or not, and their rows; large objects: how many); with ``checksums``
an order-independent hash of every table's content, computed inside each
server (no rows shipped), and for a table that differs, the keys that differ.
With masking rules, each masked column is checked on a sample of QA's rows to
hold none of production's values (see :func:`check_masks`).  Then QA's own
health: sequences clear of their data, and the checks of
:mod:`pgferry.integrity` (foreign keys and their orphans, a new row per table).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from . import journal, largeobjects, matviews
from .catalog import Catalog, ConstraintType, Name, RelKind
from .endpoints import Endpoint, connect
from .errors import PrivilegeError, translating
from .identity import refuse_same_database
from .integrity import (
    ForeignKeyCheck,
    InsertCheck,
    check_foreign_keys,
    check_insert,
    count_orphans,
)
from .plan import Plan, TablePlan, build_plan
from .refresh.masking import mark_masked
from .refresh.snapshot import Snapshot, count_rows
from .sequences import SequenceReport, check_sequences

#: Buckets a differing table's keys are hashed into to find where it differs.
BUCKETS = 1024
#: Example keys reported per differing table.
EXAMPLES = 5
#: QA rows sampled per masked table to check its masked columns.
MASK_SAMPLE = 1000
#: Mask kinds whose output can equal the input by chance: a small domain (a
#: country, a first name, a single digit, which ``digits`` permutes among ten),
#: a rule that may keep a value (a shift or noise of zero, a fixed value or SQL
#: expression production may hold, a json document without the masked paths).
#: Such a column fails only when more than half of its sampled values are
#: production's: it then looks unmasked.  Any other kind (``email``, ``hash``,
#: ``uuid``, ``ip``, ``phone``, ``iban``, ``card``, ``url``, a kind added later)
#: fails on a single sampled value equal to production's.
CHANCE_KINDS = frozenset(
    {
        "city",
        "company",
        "country",
        "date_shift",
        "digits",
        "first_name",
        "fixed",
        "json",
        "last_name",
        "lorem",
        "name",
        "noise",
        "null",
        "postcode",
        "sql",
        "street",
    }
)
#: Kinds that copy the value as it is: nothing to check.
KEPT_KINDS = frozenset({"keep"})


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


@dataclass(frozen=True)
class MaskCheck:
    """A masked column of QA against production, on a sample of QA's rows.

    By key (the table has one of unmasked columns): each sampled row's value
    against production's row with that key.  Without one: against production's
    rows with the same unmasked columns (all of the column's rows when every
    column is masked).  Only QA's values and keys are sent to production; no
    production value is sent anywhere, and none is kept here.
    """

    table: Name
    column: str
    kind: str
    by_key: bool
    #: QA's sampled non-NULL values that had a production row to compare with
    compared: int
    #: of those, how many equal production's value
    equal: int
    #: QA's key of one such row, "(id)=(5)" (keyless: its ctid), never a value
    example: str = ""

    @property
    def by_chance(self) -> bool:
        """Whether the kind can match production by chance (:data:`CHANCE_KINDS`)."""
        return self.kind in CHANCE_KINDS

    @property
    def ok(self) -> bool:
        return 2 * self.equal <= self.compared if self.by_chance else self.equal == 0

    def explain(self) -> str:
        """What failed and what to do; the key of one row, never a value."""
        where = "the same key" if self.by_key else "a row alike in its unmasked columns"
        lead = (
            f"{self.table}.{self.column} (masked as {self.kind}): {self.equal} of "
            f"{self.compared} sampled rows hold production's value for {where}"
        )
        if self.by_chance:
            lead += " (more than half: the column looks unmasked)"
        return (
            f"{lead}, e.g. the row {self.example}; rerun pgferry migrate with the [mask] "
            f"rules, and check that the rule for {self.table} covers {self.column}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": str(self.table),
            "column": self.column,
            "kind": self.kind,
            "compared_by": "key" if self.by_key else "row",
            "sampled": self.compared,
            "equal_to_production": self.equal,
            "tolerates_chance": self.by_chance,
            "example_key": self.example or None,
            "ok": self.ok,
        }


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


# -- content ----------------------------------------------------------------------

#: Output settings the endpoints do not pin but a row's text form depends on:
#: set on every session that hashes, so both servers write values alike.
HASH_SETTINGS = {"bytea_output": "hex", "lc_monetary": "C"}


def pin_output(conn: psycopg.Connection[Any]) -> None:
    """Set :data:`HASH_SETTINGS` for the session (allowed in a read-only transaction)."""
    query = "SELECT " + ", ".join("pg_catalog.set_config(%s, %s, false)" for _ in HASH_SETTINGS)
    conn.execute(query, [x for kv in HASH_SETTINGS.items() for x in kv])


Columns = Sequence[sql.Composable]


def plain(columns: Sequence[str]) -> list[sql.Composable]:
    return [sql.Identifier(c) for c in columns]


def source_columns(tp: TablePlan, source: Catalog, target: Catalog) -> list[sql.Composable]:
    """Production's columns as QA holds them: a column whose type differs (a safe
    cast, copied as text) is written as text and read as QA's type, exactly what
    the text COPY did, so ``json`` -> ``jsonb``, ``char(4)`` -> ``text`` or
    ``real`` -> ``double precision`` hash alike when the values are equal."""
    src, dst = source.table(tp.source), target.table(tp.target)
    out: list[sql.Composable] = []
    for name in tp.columns:
        s = src.column(name) if src is not None else None
        d = dst.column(name) if dst is not None else None
        if s is None or d is None or s.type == d.type:
            out.append(sql.Identifier(name))
        else:
            # format('%s') writes the value with its type's output function, as COPY
            # does (a cast to text would drop char(n)'s padding)
            out.append(
                sql.SQL(
                    "(CASE WHEN {c} IS NOT NULL THEN pg_catalog.format('%s', {c}) END)::{t}"
                ).format(c=sql.Identifier(name), t=sql.SQL(d.type))
            )
    return out


def _row(columns: Columns) -> sql.Composable:
    """The row as text under the pinned settings: the same on both servers."""
    if not columns:
        return sql.SQL("''")
    return sql.SQL("ROW({})::text").format(sql.SQL(", ").join(columns))


def _from(name: Name, only: bool) -> sql.Composed:
    return sql.SQL("{}{}").format(sql.SQL("ONLY " if only else ""), name.ident)


def table_hash(
    conn: psycopg.Connection[Any],
    name: Name,
    columns: Sequence[str],
    only: bool,
    expressions: Columns | None = None,
) -> tuple[int, int]:
    """(rows, order-independent hash of the content) computed inside the server.

    *expressions* replace the plain *columns* where given (see :func:`source_columns`).
    """
    cols = plain(columns) if expressions is None else expressions
    row = conn.execute(
        sql.SQL(
            "SELECT count(*), coalesce(sum(pg_catalog.hashtextextended({row}, 0)), 0) FROM {t}"
        ).format(row=_row(cols), t=_from(name, only))
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _key(columns: Columns) -> sql.Composable:
    return sql.SQL("ROW({})::text").format(sql.SQL(", ").join(columns))


@dataclass(frozen=True)
class _Side:
    """One side of a table's comparison: where to read and how to read each column."""

    name: Name
    only: bool
    columns: tuple[sql.Composable, ...]  # the row, in the plan's column order
    key: tuple[sql.Composable, ...]


def _buckets(conn: psycopg.Connection[Any], side: _Side) -> dict[int, tuple[int, int]]:
    rows = conn.execute(
        sql.SQL(
            "SELECT pg_catalog.hashtextextended({key}, 7) & {mask}, count(*), "
            "sum(pg_catalog.hashtextextended({row}, 0)) FROM {t} GROUP BY 1"
        ).format(
            key=_key(side.key),
            mask=sql.Literal(BUCKETS - 1),
            row=_row(side.columns),
            t=_from(side.name, side.only),
        )
    ).fetchall()
    return {int(b): (int(n), int(h)) for b, n, h in rows}


def _bucket_rows(
    conn: psycopg.Connection[Any], side: _Side, buckets: Sequence[int]
) -> dict[str, list[int]]:
    """Key text -> the row hashes under that key, for the rows in *buckets* (one scan)."""
    rows = conn.execute(
        sql.SQL(
            "SELECT {key}, pg_catalog.hashtextextended({row}, 0) FROM {t} "
            "WHERE pg_catalog.hashtextextended({key}, 7) & {mask} = ANY({b})"
        ).format(
            key=_key(side.key),
            row=_row(side.columns),
            t=_from(side.name, side.only),
            mask=sql.Literal(BUCKETS - 1),
            b=sql.Literal(list(buckets)),
        )
    ).fetchall()
    out: dict[str, list[int]] = {}
    for k, h in rows:
        out.setdefault(str(k), []).append(int(h))
    return {k: sorted(v) for k, v in out.items()}


def _differences(
    src: psycopg.Connection[Any],
    dst: psycopg.Connection[Any],
    left: _Side,
    right: _Side,
    key: Sequence[str],
) -> tuple[str, ...]:
    """Narrow a differing table down to example keys: hash buckets of the key, then
    the rows of the first few differing buckets (one more scan per side)."""
    a, b = _buckets(src, left), _buckets(dst, right)
    differing = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))[:EXAMPLES]
    if not differing:
        return ()
    label = ", ".join(key)
    lrows, rrows = _bucket_rows(src, left, differing), _bucket_rows(dst, right, differing)
    out: list[str] = []
    for k in sorted(set(lrows) | set(rrows)):
        if k not in rrows:
            out.append(f"missing in QA: ({label})={k}")
        elif k not in lrows:
            out.append(f"only in QA: ({label})={k}")
        elif lrows[k] != rrows[k]:
            out.append(f"differs: ({label})={k}")
        if len(out) >= EXAMPLES:
            break
    return tuple(out)


# -- masked columns ----------------------------------------------------------------------

_ROW = sql.Identifier("pgferry row")
#: Sampled QA rows: each its label (key or ctid), what production finds it by, masked values.
Picked = Sequence[Sequence[str | None]]
#: Per masked column: (QA values compared, positions in the sample equal to production's)
Found = list[tuple[int, list[int]]]


def _sample(rows: int, sample: int) -> sql.Composable:
    """A TABLESAMPLE clause for about *sample* of *rows* rows (none when all fit):
    every row has the same chance, and LIMIT keeps at most *sample*."""
    if rows <= sample:
        return sql.SQL("")
    percent = min(100.0, 125.0 * sample / rows)
    return sql.SQL(" TABLESAMPLE BERNOULLI ({})").format(sql.Literal(percent))


def _texts(columns: Columns) -> list[sql.Composable]:
    return [sql.SQL("({})::text").format(c) for c in columns]


def _unnest(names: Sequence[sql.Composable]) -> sql.Composable:
    """``unnest`` of one text[] parameter per name, the row's position as ``"pgferry row"``."""
    return sql.SQL("unnest({}) WITH ORDINALITY AS u({})").format(
        sql.SQL(", ").join([sql.SQL("%s::text[]")] * len(names)),
        sql.SQL(", ").join([*names, _ROW]),
    )


def _by_key(
    prod: psycopg.Connection[Any], src: _Side, picked: Picked, types: Sequence[str]
) -> Found:
    """Each sampled row against production's row with the same key (one query).
    *picked*: (label, key texts..., masked texts...); *types*: QA's key types."""
    nkeys, nvals = len(src.key), len(src.columns)
    keys = [sql.Identifier(f"pgferry key {i}") for i in range(nkeys)]
    vals = [sql.Identifier(f"pgferry value {j}") for j in range(nvals)]
    query = sql.SQL("SELECT u.{row}, {equal} FROM {t} JOIN {u} ON {on}").format(
        row=_ROW,
        equal=sql.SQL(", ").join(
            sql.SQL("{} = u.{}").format(m, v)
            for m, v in zip(_texts(src.columns), vals, strict=True)
        ),
        t=_from(src.name, src.only),
        u=_unnest(keys + vals),
        on=sql.SQL(" AND ").join(
            sql.SQL("{} = u.{}::{}").format(c, k, sql.SQL(t))  # QA's type: an index serves
            for c, k, t in zip(src.key, keys, types, strict=True)
        ),
    )
    params = [[row[1 + i] for row in picked] for i in range(nkeys + nvals)]
    out: Found = [(0, []) for _ in range(nvals)]
    for position, *equal in prod.execute(query, params).fetchall():
        at = int(position) - 1
        for j, same in enumerate(equal):
            if picked[at][1 + nkeys + j] is not None:
                out[j] = (out[j][0] + 1, out[j][1] + ([at] if same else []))
    return out


def _by_row(prod: psycopg.Connection[Any], src: _Side, picked: Picked) -> Found:
    """Each sampled row against production's rows with the same unmasked columns
    (every row, when all are masked): one query per masked column.
    *picked*: (ctid, unmasked row text, masked texts...)."""
    key, value = sql.Identifier("pgferry key"), sql.Identifier("pgferry value")
    out: Found = []
    for j, masked in enumerate(_texts(src.columns)):
        sent = [i for i, row in enumerate(picked) if row[2 + j] is not None]
        if not sent:
            out.append((0, []))
            continue
        query = sql.SQL(
            "SELECT DISTINCT u.{row} FROM {t} JOIN {u} ON {r} = u.{k} AND {m} = u.{v}"
        ).format(
            row=_ROW,
            t=_from(src.name, src.only),
            u=_unnest([key, value]),
            r=_row(src.key),
            k=key,
            m=masked,
            v=value,
        )
        params = [[picked[i][1] for i in sent], [picked[i][2 + j] for i in sent]]
        found = prod.execute(query, params).fetchall()
        out.append((len(sent), sorted(sent[int(p) - 1] for (p,) in found)))
    return out


def check_masks(
    prod: psycopg.Connection[Any],
    qa: psycopg.Connection[Any],
    plan: Plan,
    catalogs: tuple[Catalog, Catalog],
    rows: Mapping[Name, int],
    sample: int = MASK_SAMPLE,
) -> list[MaskCheck]:
    """Check each masked column of *plan* (``TablePlan.masked``) on up to *sample* of
    QA's rows (*rows*: QA's row count per table) against production's values;
    *catalogs*: (production's, QA's).

    Both sides are only read.  QA's sampled keys and masked values go to
    production as parameters and production answers which are equal: none of
    production's values is sent to QA, whose logs must never see one."""
    prod_cat, qa_cat = catalogs
    out: list[MaskCheck] = []
    for tp in plan.tables:
        masked = [(c, k) for c, k in tp.masked if k not in KEPT_KINDS]
        if not masked:
            continue
        names = [c for c, _ in masked]
        key = _key_of(qa_cat, tp.target, _unmasked(tp))
        by_name = dict(zip(tp.columns, source_columns(tp, prod_cat, qa_cat), strict=True))
        ident = key or list(_unmasked(tp))  # keyless: the row's unmasked columns
        src = _Side(
            tp.source, tp.only, tuple(by_name[c] for c in names), tuple(by_name[c] for c in ident)
        )
        finds = _texts(plain(key)) if key else [_row(plain(ident))]
        label = _key(plain(key)) if key else sql.SQL("ctid::text")
        picked = qa.execute(
            sql.SQL("SELECT {} FROM {}{} LIMIT {}").format(
                sql.SQL(", ").join([label, *finds, *_texts(plain(names))]),
                _from(tp.target, tp.only),
                _sample(rows.get(tp.target, 0), sample),
                sql.Literal(sample),
            )
        ).fetchall()
        if not picked:
            found: Found = [(0, []) for _ in names]
        elif key:
            table = qa_cat.table(tp.target)
            assert table is not None
            types = [c.type for k in key if (c := table.column(k)) is not None]
            found = _by_key(prod, src, picked, types)
        else:
            found = _by_row(prod, src, picked)
        for (column, kind), (compared, equal) in zip(masked, found, strict=True):
            example = ""
            if equal:
                first = str(picked[equal[0]][0])
                example = f"({', '.join(key)})={first}" if key else f"at ctid {first}"
            out.append(MaskCheck(tp.target, column, kind, bool(key), compared, len(equal), example))
    return out


# -- the whole check ----------------------------------------------------------------------


def _hash_all(
    snap: Snapshot, sides: Sequence[tuple[Name, _Side, int]], jobs: int
) -> dict[Name, tuple[int, int]]:
    """Hash each (target name, side, size) with up to *jobs* sessions sharing the
    snapshot, the largest tables first, each session taking the next table."""
    out: dict[Name, tuple[int, int]] = {}
    todo = sorted(sides, key=lambda x: x[2], reverse=True)

    def work(todo: list[tuple[Name, _Side, int]]) -> None:
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
            left, right = _sides(plan, prod_cat, qa_cat)
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
                key = _key_of(qa_cat, tp.target, _unmasked(tp))
                if not check.ok and key:
                    found = _differences(prod.conn, qa.conn, left[tp.target], right[tp.target], key)
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


def _sides(plan: Plan, prod: Catalog, qa: Catalog) -> tuple[dict[Name, _Side], dict[Name, _Side]]:
    """How to read every planned table on each side: QA's columns as they are,
    production's cast to QA's types where those differ, and the key to narrow by."""
    left: dict[Name, _Side] = {}
    right: dict[Name, _Side] = {}
    for tp in plan.tables:
        by_name = dict(zip(tp.columns, source_columns(tp, prod, qa), strict=True))
        columns = _unmasked(tp)
        key = _key_of(qa, tp.target, columns)
        src_cols = tuple(by_name[c] for c in columns)
        left[tp.target] = _Side(tp.source, tp.only, src_cols, tuple(by_name[k] for k in key))
        right[tp.target] = _Side(tp.target, tp.only, tuple(plain(columns)), tuple(plain(key)))
    return left, right


def _unmasked(tp: TablePlan) -> tuple[str, ...]:
    """The columns a checksum compares: a masked column differs by design."""
    hidden = {column for column, _ in tp.masked}
    return tuple(c for c in tp.columns if c not in hidden)


_INDEX_COLUMNS = re.compile(r" USING \w+ \((.*)\)$")
_PLAIN_IDENT = re.compile(r"[a-z_][a-z0-9_$]*")
_QUOTED_IDENT = re.compile(r'"(?:[^"]|"")+"')


def _index_columns(definition: str) -> list[str] | None:
    """The columns of a plain index (no expression, WHERE, INCLUDE or opclass)."""
    m = _INDEX_COLUMNS.search(definition)
    if m is None:
        return None
    names: list[str] = []
    for part in m.group(1).split(","):
        part = part.strip()
        if _PLAIN_IDENT.fullmatch(part):
            names.append(part)
        elif _QUOTED_IDENT.fullmatch(part):
            names.append(part[1:-1].replace('""', '"'))
        else:
            return None
    return names


def _key_of(catalog: Catalog, table: Name, columns: Sequence[str]) -> list[str]:
    """A key of QA's *table* made of compared columns, to name differing rows by:
    its primary key, else a unique constraint, else a plain unique index (Prisma's
    ``@unique`` and implicit many-to-many tables); a partition's keys are its
    partitioned parent's."""
    t = catalog.table(table)
    owners = [table]
    if t is not None and t.is_partition:
        owners += list(catalog.ancestors(table))
    candidates: list[list[str]] = []
    for owner in owners:
        cons = list(catalog.constraints_of(owner))
        candidates += [list(c.columns) for c in cons if c.type is ConstraintType.PRIMARY_KEY]
        candidates += [list(c.columns) for c in cons if c.type is ConstraintType.UNIQUE]
        for ix in catalog.indexes:
            if ix.table == owner and ix.unique and ix.valid:
                cols = _index_columns(ix.definition)
                if cols:
                    candidates.append(cols)
    wanted = set(columns)
    return next((k for k in candidates if k and set(k) <= wanted), [])


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
