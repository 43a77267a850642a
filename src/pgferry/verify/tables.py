"""Reading a table the same way on both sides, for checksums and samples: the
columns as text (production's cast to QA's types), the key that names a row,
and an order-independent hash of the content computed inside each server."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from ..catalog import Catalog, ConstraintType, Name
from ..plan import Plan, TablePlan

#: Buckets a differing table's keys are hashed into to find where it differs.
BUCKETS = 1024
#: Example keys reported per differing table.
EXAMPLES = 5

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


def row_text(columns: Columns) -> sql.Composable:
    """The row as text under the pinned settings: the same on both servers."""
    if not columns:
        return sql.SQL("''")
    return sql.SQL("ROW({})::text").format(sql.SQL(", ").join(columns))


def relation(name: Name, only: bool) -> sql.Composed:
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
        ).format(row=row_text(cols), t=relation(name, only))
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def key_text(columns: Columns) -> sql.Composable:
    return sql.SQL("ROW({})::text").format(sql.SQL(", ").join(columns))


@dataclass(frozen=True)
class Side:
    """One side of a table's comparison: where to read and how to read each column."""

    name: Name
    only: bool
    columns: tuple[sql.Composable, ...]  # the row, in the plan's column order
    key: tuple[sql.Composable, ...]


def _buckets(conn: psycopg.Connection[Any], side: Side) -> dict[int, tuple[int, int]]:
    rows = conn.execute(
        sql.SQL(
            "SELECT pg_catalog.hashtextextended({key}, 7) & {mask}, count(*), "
            "sum(pg_catalog.hashtextextended({row}, 0)) FROM {t} GROUP BY 1"
        ).format(
            key=key_text(side.key),
            mask=sql.Literal(BUCKETS - 1),
            row=row_text(side.columns),
            t=relation(side.name, side.only),
        )
    ).fetchall()
    return {int(b): (int(n), int(h)) for b, n, h in rows}


def _bucket_rows(
    conn: psycopg.Connection[Any], side: Side, buckets: Sequence[int]
) -> dict[str, list[int]]:
    """Key text -> the row hashes under that key, for the rows in *buckets* (one scan)."""
    rows = conn.execute(
        sql.SQL(
            "SELECT {key}, pg_catalog.hashtextextended({row}, 0) FROM {t} "
            "WHERE pg_catalog.hashtextextended({key}, 7) & {mask} = ANY({b})"
        ).format(
            key=key_text(side.key),
            row=row_text(side.columns),
            t=relation(side.name, side.only),
            mask=sql.Literal(BUCKETS - 1),
            b=sql.Literal(list(buckets)),
        )
    ).fetchall()
    out: dict[str, list[int]] = {}
    for k, h in rows:
        out.setdefault(str(k), []).append(int(h))
    return {k: sorted(v) for k, v in out.items()}


def differences(
    src: psycopg.Connection[Any],
    dst: psycopg.Connection[Any],
    left: Side,
    right: Side,
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


def sides(plan: Plan, prod: Catalog, qa: Catalog) -> tuple[dict[Name, Side], dict[Name, Side]]:
    """How to read every planned table on each side: QA's columns as they are,
    production's cast to QA's types where those differ, and the key to narrow by."""
    left: dict[Name, Side] = {}
    right: dict[Name, Side] = {}
    for tp in plan.tables:
        by_name = dict(zip(tp.columns, source_columns(tp, prod, qa), strict=True))
        columns = unmasked(tp)
        key = key_of(qa, tp.target, columns)
        src_cols = tuple(by_name[c] for c in columns)
        left[tp.target] = Side(tp.source, tp.only, src_cols, tuple(by_name[k] for k in key))
        right[tp.target] = Side(tp.target, tp.only, tuple(plain(columns)), tuple(plain(key)))
    return left, right


def unmasked(tp: TablePlan) -> tuple[str, ...]:
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


def key_of(catalog: Catalog, table: Name, columns: Sequence[str]) -> list[str]:
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
