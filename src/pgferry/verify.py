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
from .catalog import Sequence as CatalogSequence
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


def _same_fk(a: Constraint, b: Constraint) -> bool:
    """The same foreign key, whatever it is called in each database."""
    return (a.table, a.columns, a.ref_table, a.ref_columns) == (
        b.table,
        b.columns,
        b.ref_table,
        b.ref_columns,
    )


def check_foreign_keys(
    conn: psycopg.Connection[Any], qa: Catalog, prod: Catalog | None, tables: set[Name]
) -> list[ForeignKeyCheck]:
    """QA's foreign keys on *tables*: present (as in production), validated, no orphans.

    A production key counts as present when QA has one of that name or one on
    the same columns referencing the same columns (a renamed constraint).
    """
    out: list[ForeignKeyCheck] = []
    qa_fks = {(fk.table, fk.name): fk for fk in qa.foreign_keys() if fk.table in tables}
    for fk in qa_fks.values():
        if fk.validated:
            out.append(ForeignKeyCheck(fk.table, fk.name, "ok"))
        else:
            n, ex = count_orphans(conn, fk)
            out.append(ForeignKeyCheck(fk.table, fk.name, "not valid", n, ex))
    for fk in prod.foreign_keys() if prod is not None else ():
        if fk.table not in tables or qa.table(fk.table) is None:
            continue
        if (fk.table, fk.name) in qa_fks or any(_same_fk(fk, q) for q in qa_fks.values()):
            continue
        if fk.ref_table is None or qa.table(fk.ref_table) is None:
            out.append(
                ForeignKeyCheck(
                    fk.table, fk.name, "missing in QA", example=f"{fk.ref_table} is not in QA"
                )
            )
            continue
        child, parent = qa.table(fk.table), qa.table(fk.ref_table)
        absent = [c for c in fk.columns if child and child.column(c) is None] + [
            c for c in fk.ref_columns if parent and parent.column(c) is None
        ]
        if absent:  # schema drift: reported as such, no orphan count possible
            out.append(
                ForeignKeyCheck(
                    fk.table,
                    fk.name,
                    "missing in QA",
                    example=f"QA lacks column(s) {', '.join(absent)}",
                )
            )
            continue
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


#: Sequences read per statement when the insert check watches them all.
_STATE_BATCH = 200

_State = tuple[int, bool]  # (last_value, is_called)


def _states(
    conn: psycopg.Connection[Any], sequences: Sequence[CatalogSequence]
) -> dict[int, _State]:
    """oid -> (last_value, is_called) of each of *sequences* the session can read
    (a batch that fails, say for a schema the role may not use, is read one by one)."""
    out: dict[int, _State] = {}

    def read(part: Sequence[CatalogSequence]) -> None:
        query = sql.SQL(" UNION ALL ").join(
            sql.SQL("SELECT {oid}::oid, last_value, is_called FROM {s}").format(
                oid=sql.Literal(s.oid), s=s.name.ident
            )
            for s in part
        )
        for oid, last, called in conn.execute(query).fetchall():
            out[int(oid)] = (int(last), bool(called))

    for start in range(0, len(sequences), _STATE_BATCH):
        part = sequences[start : start + _STATE_BATCH]
        try:
            read(part)
        except psycopg.Error:
            for s in part:
                try:
                    read([s])
                except psycopg.Error:
                    continue
    return out


def _currval(conn: psycopg.Connection[Any], seq: CatalogSequence) -> int | None:
    """The value this session last took from *seq*, None when it took none."""
    try:
        row = conn.execute("SELECT pg_catalog.currval(%s::oid::regclass)", (seq.oid,)).fetchone()
    except psycopg.Error:
        return None
    return None if row is None or row[0] is None else int(row[0])


def _one_take(seq: CatalogSequence, before: _State) -> _State:
    """The state *seq* is in once one value was taken from *before* (and the
    session cached ``cache - 1`` more)."""
    last, called = before
    first = last + seq.increment if called else last
    return first + seq.increment * (max(seq.cache, 1) - 1), True


def _fires_on_insert(qa: Catalog, table: Name) -> bool:
    """A trigger on *table* runs on INSERT in an ordinary session: it may take
    values of any sequence (an audit table's, for one)."""
    return any(
        t.table == table and t.enabled in ("O", "A") and "INSERT" in t.definition.upper()
        for t in qa.triggers
    )


def check_insert(conn: psycopg.Connection[Any], qa: Catalog, table: Name) -> InsertCheck:
    """Insert one row that takes every default, then roll back.

    A unique violation on a key that holds a defaulted column is the error the
    application would meet.  Nothing is left behind in the tables (the insert is
    rolled back).  Sequences are not transactional: every sequence the insert
    can move (those feeding the table's defaulted columns, and all of them when
    a trigger fires on insert) is read before and after, and one that moved by
    exactly the value this check took is set back where it was (``is_called``
    included), in one statement that does so only if nobody took a value since.
    A sequence that cannot be put back (no UPDATE privilege, another session
    took values meanwhile) is reported in ``consumed``.  A sequence the role
    may not read is watched through ``currval`` instead (feeding ones only).
    """
    defaulted, copied = _defaulted(qa, table)
    if not defaulted:
        return InsertCheck(table, "not tested", "no column has a default")
    feeding = [
        s
        for s in qa.sequences
        if any(f.column.table == table and f.column.column in defaulted for f in s.feeds)
    ]
    watched = list(qa.sequences) if _fires_on_insert(qa, table) else feeding
    readable = [s for s in watched if s.can_select]
    blind = [s for s in feeding if not s.can_select]
    before = _states(conn, readable)
    taken_before = {s.oid: _currval(conn, s) for s in blind}
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in copied)
    if copied:
        insert = sql.SQL("INSERT INTO {t} ({cols}) SELECT {cols} FROM {t} LIMIT 1").format(
            t=table.ident, cols=cols
        )
    else:
        insert = sql.SQL("INSERT INTO {t} DEFAULT VALUES").format(t=table.ident)
    result: InsertCheck
    conn.execute("BEGIN")
    try:
        cur = conn.execute(insert)
        if cur.rowcount == 0:
            result = InsertCheck(table, "not tested", "the table is empty: no row to copy from")
        else:
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
    after = _states(conn, readable)
    consumed: list[str] = []
    for s in readable:
        was, now = before.get(s.oid), after.get(s.oid)
        if was is None or now is None or now == was:
            continue
        if s.can_update and now == _one_take(s, was):
            row = conn.execute(
                sql.SQL(
                    "SELECT pg_catalog.setval(%s::oid::regclass, %s, %s) FROM {rel} "
                    "WHERE last_value = %s AND is_called"
                ).format(rel=s.name.ident),
                (s.oid, was[0], was[1], now[0]),
            ).fetchone()
            if row is not None:
                continue
        consumed.append(str(s.name))
    for s in blind:
        if _currval(conn, s) not in (None, taken_before[s.oid]):
            consumed.append(str(s.name))
    return InsertCheck(result.table, result.status, result.detail, tuple(consumed))


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
                key = _key_of(qa_cat, tp.target, tp.columns)
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
        # a partitioned parent's foreign keys are its partitions' (the catalog lists
        # them once, on the parent)
        copied = {tp.target for tp in plan.tables} | set(plan.truncate)
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


def _sides(plan: Plan, prod: Catalog, qa: Catalog) -> tuple[dict[Name, _Side], dict[Name, _Side]]:
    """How to read every planned table on each side: QA's columns as they are,
    production's cast to QA's types where those differ, and the key to narrow by."""
    left: dict[Name, _Side] = {}
    right: dict[Name, _Side] = {}
    for tp in plan.tables:
        src_cols = source_columns(tp, prod, qa)
        by_name = dict(zip(tp.columns, src_cols, strict=True))
        key = _key_of(qa, tp.target, tp.columns)
        left[tp.target] = _Side(tp.source, tp.only, tuple(src_cols), tuple(by_name[k] for k in key))
        right[tp.target] = _Side(tp.target, tp.only, tuple(plain(tp.columns)), tuple(plain(key)))
    return left, right


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
