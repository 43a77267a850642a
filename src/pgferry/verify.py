"""``verify``: prove QA matches production, table by table, and that QA works.

Each side is read from one snapshot.  Row counts always; with ``checksums``
an order-independent hash of every table's content, computed inside each
server (no rows shipped), and for a table that differs, the keys that differ.
Then QA's own health: sequences clear of their data, foreign keys present and
validated (orphans counted where one is missing or ``NOT VALID``), and a new
row can be created in every table (in a transaction that is always rolled
back).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from .catalog import Catalog, Constraint, ConstraintType, Name, RelKind
from .endpoints import Endpoint, connect
from .plan import Plan, TablePlan, build_plan
from .sequences import SequenceReport, check_sequences
from .source import Snapshot, count_rows

#: Buckets a differing table's keys are hashed into to find where it differs.
BUCKETS = 1024
#: Example keys reported per differing table.
EXAMPLES = 5


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
class ForeignKeyCheck:
    table: Name
    name: str
    status: str  # "ok", "not valid", "missing in QA"
    orphans: int = 0
    example: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": str(self.table),
            "constraint": self.name,
            "status": self.status,
            "orphans": self.orphans,
            "example": self.example,
            "ok": self.ok,
        }


@dataclass(frozen=True)
class InsertCheck:
    table: Name
    status: str  # "ok", "collision", "not tested", "error"
    detail: str = ""
    consumed: tuple[str, ...] = ()  # sequences left one value further

    @property
    def ok(self) -> bool:
        return self.status != "collision"

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": str(self.table),
            "status": self.status,
            "detail": self.detail,
            "sequences_consumed": list(self.consumed),
            "ok": self.ok,
        }


@dataclass
class VerifyReport:
    source: str
    target: str
    plan: Plan
    checksums: bool = False
    tables: list[TableCheck] = field(default_factory=list)
    sequences: SequenceReport | None = None
    foreign_keys: list[ForeignKeyCheck] = field(default_factory=list)
    inserts: list[InsertCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            not self.plan.blocking
            and all(t.ok for t in self.tables)
            and (self.sequences is None or self.sequences.healthy)
            and all(f.ok for f in self.foreign_keys)
            and all(i.ok for i in self.inserts)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "ok": self.ok,
            "checksums": self.checksums,
            "schema_problems": [p.message for p in self.plan.blocking],
            "tables": [t.to_dict() for t in self.tables],
            "sequences": self.sequences.to_dict() if self.sequences else None,
            "foreign_keys": [f.to_dict() for f in self.foreign_keys],
            "inserts": [i.to_dict() for i in self.inserts],
        }


# -- content ----------------------------------------------------------------------


def _row(columns: Sequence[str]) -> sql.Composable:
    """The row as text under the pinned settings: the same on both servers."""
    if not columns:
        return sql.SQL("''")
    return sql.SQL("ROW({})::text").format(sql.SQL(", ").join(sql.Identifier(c) for c in columns))


def _from(name: Name, only: bool) -> sql.Composed:
    return sql.SQL("{}{}").format(sql.SQL("ONLY " if only else ""), name.ident)


def table_hash(
    conn: psycopg.Connection[Any], name: Name, columns: Sequence[str], only: bool
) -> tuple[int, int]:
    """(rows, order-independent hash of the content) computed inside the server."""
    row = conn.execute(
        sql.SQL(
            "SELECT count(*), coalesce(sum(pg_catalog.hashtextextended({row}, 0)), 0) FROM {t}"
        ).format(row=_row(columns), t=_from(name, only))
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _key(columns: Sequence[str]) -> sql.Composable:
    return sql.SQL("ROW({})::text").format(sql.SQL(", ").join(sql.Identifier(c) for c in columns))


def _buckets(
    conn: psycopg.Connection[Any], tp: TablePlan, name: Name, key: Sequence[str]
) -> dict[int, tuple[int, int]]:
    rows = conn.execute(
        sql.SQL(
            "SELECT pg_catalog.hashtextextended({key}, 7) & {mask}, count(*), "
            "sum(pg_catalog.hashtextextended({row}, 0)) FROM {t} GROUP BY 1"
        ).format(
            key=_key(key),
            mask=sql.Literal(BUCKETS - 1),
            row=_row(tp.columns),
            t=_from(name, tp.only),
        )
    ).fetchall()
    return {int(b): (int(n), int(h)) for b, n, h in rows}


def _bucket_rows(
    conn: psycopg.Connection[Any], tp: TablePlan, name: Name, key: Sequence[str], bucket: int
) -> dict[str, int]:
    rows = conn.execute(
        sql.SQL(
            "SELECT {key}, pg_catalog.hashtextextended({row}, 0) FROM {t} "
            "WHERE pg_catalog.hashtextextended({key}, 7) & {mask} = {b}"
        ).format(
            key=_key(key),
            row=_row(tp.columns),
            t=_from(name, tp.only),
            mask=sql.Literal(BUCKETS - 1),
            b=sql.Literal(bucket),
        )
    ).fetchall()
    return {str(k): int(h) for k, h in rows}


def _differences(
    src: psycopg.Connection[Any], dst: psycopg.Connection[Any], tp: TablePlan, key: Sequence[str]
) -> tuple[str, ...]:
    """Narrow a differing table down to example keys: hash buckets of the key, then rows."""
    a, b = _buckets(src, tp, tp.source, key), _buckets(dst, tp, tp.target, key)
    differing = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    label = ", ".join(key)
    out: list[str] = []
    for bucket in differing:
        left, right = (
            _bucket_rows(src, tp, tp.source, key, bucket),
            _bucket_rows(dst, tp, tp.target, key, bucket),
        )
        for k in sorted(set(left) | set(right)):
            if k not in right:
                out.append(f"missing in QA: ({label})={k}")
            elif k not in left:
                out.append(f"only in QA: ({label})={k}")
            elif left[k] != right[k]:
                out.append(f"differs: ({label})={k}")
            if len(out) >= EXAMPLES:
                return tuple(out)
    return tuple(out)


# -- QA's health ------------------------------------------------------------------------


def _fk_condition(fk: Constraint) -> sql.Composable:
    cols = list(zip(fk.columns, fk.ref_columns, strict=True))
    not_null = sql.SQL(" AND ").join(
        sql.SQL("c.{} IS NOT NULL").format(sql.Identifier(c)) for c, _ in cols
    )
    match = sql.SQL(" AND ").join(
        sql.SQL("p.{} = c.{}").format(sql.Identifier(r), sql.Identifier(c)) for c, r in cols
    )
    assert fk.ref_table is not None
    return sql.SQL("{nn} AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE {match})").format(
        nn=not_null, parent=fk.ref_table.ident, match=match
    )


def count_orphans(conn: psycopg.Connection[Any], fk: Constraint) -> tuple[int, str]:
    """Rows of *fk*'s table whose key has no parent, and one example (MATCH SIMPLE)."""
    cond = _fk_condition(fk)
    row = conn.execute(
        sql.SQL("SELECT count(*) FROM {t} c WHERE {cond}").format(t=fk.table.ident, cond=cond)
    ).fetchone()
    n = int(row[0]) if row else 0
    example = ""
    if n:
        ex = conn.execute(
            sql.SQL("SELECT {key} FROM {t} c WHERE {cond} LIMIT 1").format(
                key=sql.SQL("ROW({})::text").format(
                    sql.SQL(", ").join(
                        sql.SQL("c.{}").format(sql.Identifier(c)) for c in fk.columns
                    )
                ),
                t=fk.table.ident,
                cond=cond,
            )
        ).fetchone()
        missing = ", ".join(fk.columns)
        example = f"({missing})={ex[0]} has no row in {fk.ref_table}" if ex else ""
    return n, example


def check_foreign_keys(
    conn: psycopg.Connection[Any], qa: Catalog, prod: Catalog | None, tables: set[Name]
) -> list[ForeignKeyCheck]:
    """QA's foreign keys on *tables*: present (as in production), validated, no orphans."""
    out: list[ForeignKeyCheck] = []
    qa_fks = {(fk.table, fk.name): fk for fk in qa.foreign_keys() if fk.table in tables}
    for fk in qa_fks.values():
        if fk.validated:
            out.append(ForeignKeyCheck(fk.table, fk.name, "ok"))
        else:
            n, ex = count_orphans(conn, fk)
            out.append(ForeignKeyCheck(fk.table, fk.name, "not valid", n, ex))
    for fk in prod.foreign_keys() if prod is not None else ():
        if fk.table in tables and (fk.table, fk.name) not in qa_fks and qa.table(fk.table):
            n, ex = count_orphans(conn, fk)
            out.append(ForeignKeyCheck(fk.table, fk.name, "missing in QA", n, ex))
    return out


def _defaulted(qa: Catalog, table: Name) -> tuple[list[str], list[str]]:
    """(columns left to their default, columns copied from an existing row)."""
    t = qa.table(table)
    assert t is not None
    defaulted, copied = [], []
    for c in t.columns:
        if c.generated.value:
            continue
        if c.default is not None or c.identity.value:
            defaulted.append(c.name)
        else:
            copied.append(c.name)
    return defaulted, copied


_KEY = re.compile(r"^Key \((.*?)\)=")


def _key_columns(detail: str) -> set[str]:
    """Column names from 'Key (a, "B")=(1, 2) already exists.'"""
    m = _KEY.match(detail)
    if not m:
        return set()
    return {part.strip().strip('"') for part in m.group(1).split(",")}


def check_insert(conn: psycopg.Connection[Any], qa: Catalog, table: Name) -> InsertCheck:
    """Insert one row that takes every default, then roll back.

    A unique violation on a key that holds a defaulted column is the error the
    application would meet.  Sequences are put back where this check left them
    one value further, unless another session took a value meanwhile (then the
    check says which one it consumed).
    """
    defaulted, copied = _defaulted(qa, table)
    if not defaulted:
        return InsertCheck(table, "not tested", "no column has a default")
    feeding = [
        s
        for s in qa.sequences
        for f in s.feeds
        if f.column.table == table and f.column.column in defaulted
    ]
    before = {
        s.name: conn.execute(
            sql.SQL("SELECT last_value, is_called FROM {}").format(s.name.ident)
        ).fetchone()
        for s in feeding
        if s.can_select
    }
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in copied)
    if copied:
        insert = sql.SQL("INSERT INTO {t} ({cols}) SELECT {cols} FROM {t} LIMIT 1").format(
            t=table.ident, cols=cols
        )
    else:
        insert = sql.SQL("INSERT INTO {t} DEFAULT VALUES").format(t=table.ident)
    result: InsertCheck
    taken: dict[Name, int] = {}
    conn.execute("BEGIN")
    try:
        conn.execute(insert)
        for s in feeding:
            row = conn.execute("SELECT pg_catalog.currval(%s::regclass)", (s.oid,)).fetchone()
            if row:
                taken[s.name] = int(row[0])
        result = InsertCheck(table, "ok")
    except psycopg.errors.UniqueViolation as exc:
        detail = (exc.diag.message_detail or exc.diag.message_primary or "").strip()
        fed = {f.column.column for s in feeding for f in s.feeds if f.column.table == table}
        t = qa.table(table)
        fed |= {c.name for c in t.columns if c.identity.value} if t is not None else set()
        if _key_columns(detail) & fed:
            result = InsertCheck(table, "collision", detail)
        else:
            constraint = exc.diag.constraint_name or "a unique key"
            result = InsertCheck(table, "not tested", f"{constraint} holds copied values: {detail}")
    except psycopg.Error as exc:
        result = InsertCheck(table, "error", (exc.diag.message_primary or str(exc)).strip())
    finally:
        conn.execute("ROLLBACK")
    consumed: list[str] = []
    for s in feeding:
        if s.name not in before or before[s.name] is None:
            continue
        last, called = before[s.name]  # type: ignore[misc]
        if not s.can_update:
            consumed.append(str(s.name))
            continue
        row = conn.execute(
            sql.SQL(
                "SELECT pg_catalog.setval(%s::oid::regclass, %s, %s) FROM {rel} "
                "WHERE last_value = %s AND is_called"
            ).format(rel=s.name.ident),
            (s.oid, last, called, taken.get(s.name, last + s.increment)),
        ).fetchone()
        if row is None and s.name in taken:
            consumed.append(str(s.name))
    return InsertCheck(result.table, result.status, result.detail, tuple(consumed))


# -- the whole check ----------------------------------------------------------------------


def _hash_all(
    snap: Snapshot, tables: Sequence[TablePlan], source: bool, jobs: int
) -> dict[Name, tuple[int, int]]:
    """Hash *tables* on one side with up to *jobs* sessions sharing the snapshot."""
    out: dict[Name, tuple[int, int]] = {}
    todo = sorted(tables, key=lambda t: t.estimated_bytes, reverse=True)
    shares = [todo[k::jobs] for k in range(jobs)]

    def work(share: list[TablePlan]) -> dict[Name, tuple[int, int]]:
        done: dict[Name, tuple[int, int]] = {}
        if not share:
            return done
        with snap.worker() as conn:
            for tp in share:
                name = tp.source if source else tp.target
                done[tp.target] = table_hash(conn, name, tp.columns, tp.only)
        return done

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for part in pool.map(work, shares):
            out.update(part)
    return out


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
) -> VerifyReport:
    """Compare QA with production and check QA's health; see the module docstring."""
    with Snapshot(source) as prod, Snapshot(target) as qa:
        prod_cat, qa_cat = prod.catalog(), qa.catalog()
        plan = build_plan(prod_cat, qa_cat, tables=tables, exclude=exclude, schemas=schemas)
        report = VerifyReport(source.describe(), target.describe(), plan, checksums=checksums)
        if checksums:
            with ThreadPoolExecutor(max_workers=2) as pool:
                left = pool.submit(_hash_all, prod, plan.tables, True, jobs)
                right = pool.submit(_hash_all, qa, plan.tables, False, jobs)
                a, b = left.result(), right.result()
            for tp in plan.tables:
                (ns, hs), (nt, ht) = a[tp.target], b[tp.target]
                check = TableCheck(tp.source, tp.target, ns, nt, hs, ht)
                if not check.ok:
                    key = _key_of(qa_cat, tp.target)
                    if key:
                        check = TableCheck(
                            tp.source,
                            tp.target,
                            ns,
                            nt,
                            hs,
                            ht,
                            _differences(prod.conn, qa.conn, tp, key),
                        )
                report.tables.append(check)
        else:
            na = count_rows(prod.conn, [(tp.source, tp.only) for tp in plan.tables])
            nb = count_rows(qa.conn, [(tp.target, tp.only) for tp in plan.tables])
            report.tables = [
                TableCheck(tp.source, tp.target, na[tp.source], nb[tp.target]) for tp in plan.tables
            ]
        copied = {tp.target for tp in plan.tables}
        with connect(target, autocommit=True) as conn:
            report.sequences = check_sequences(conn, schemas=schemas or None)
            report.foreign_keys = check_foreign_keys(conn, qa_cat, prod_cat, copied)
            if inserts:
                report.inserts = [
                    check_insert(conn, qa_cat, tp.target)
                    for tp in plan.tables
                    if (t := qa_cat.table(tp.target)) is not None and t.kind is RelKind.TABLE
                ]
    return report


def _key_of(catalog: Catalog, table: Name) -> list[str]:
    pk = catalog.primary_key(table)
    if pk is not None:
        return list(pk.columns)
    unique = next(
        (c for c in catalog.constraints_of(table) if c.type is ConstraintType.UNIQUE), None
    )
    return list(unique.columns) if unique else []
