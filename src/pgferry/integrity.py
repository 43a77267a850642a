"""QA's own integrity: foreign keys present, validated and without orphans, and a new
row that takes every default can be created in each table (always rolled back).

A foreign key production itself holds ``NOT VALID`` is production's state, copied
as it is: QA keeps it ``NOT VALID`` too, and its orphans (production's rows) are
counted as information, not as a failure.

Used by ``verify``, at the end of ``migrate``, and by ``doctor``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import psycopg
from psycopg import sql

from .catalog import Catalog, Constraint, Name
from .catalog import Sequence as CatalogSequence


class ForeignKeyStatus(StrEnum):
    """What verify found for one of QA's foreign keys (the JSON's ``status``)."""

    OK = "ok"  # present and validated
    NOT_VALID = "not valid"  # present, NOT VALID in QA only: a failure
    MISSING = "missing in QA"  # production has it, QA does not
    #: NOT VALID in QA because production holds it so: information, not a failure
    NOT_VALID_IN_PRODUCTION = "not valid in production too"


#: The status of a key QA holds NOT VALID because production holds it so.
NOT_VALID_IN_PRODUCTION = ForeignKeyStatus.NOT_VALID_IN_PRODUCTION


class InsertStatus(StrEnum):
    """What the insert check found for a table (the JSON's ``status``)."""

    OK = "ok"  # a new row that takes every default went in (rolled back)
    COLLISION = "collision"  # it collided with a copied row: the application would too
    NOT_TESTED = "not tested"  # no default, no row to copy from, or copied values collide
    ERROR = "error"  # the insert failed for another reason (the detail says which)


@dataclass(frozen=True)
class ForeignKeyCheck:
    table: Name
    name: str
    status: ForeignKeyStatus
    orphans: int = 0
    example: str = ""
    ref_table: Name | None = None

    @property
    def ok(self) -> bool:
        return self.status in (ForeignKeyStatus.OK, ForeignKeyStatus.NOT_VALID_IN_PRODUCTION)

    @property
    def as_in_production(self) -> bool:
        """NOT VALID in QA because production has it NOT VALID: information, not a failure."""
        return self.status is ForeignKeyStatus.NOT_VALID_IN_PRODUCTION

    def explain(self) -> str:
        """What a developer reads about a key kept NOT VALID as production has it."""
        if self.orphans:
            rows = f"{self.orphans} row{'s' if self.orphans != 1 else ''}"
            found = f"{rows} of {self.table} have no parent row"
            found += f" (e.g. {self.example})" if self.example else ""
        else:
            found = "no row breaks it now"
        return (
            f"foreign key {self.name} on {self.table} is NOT VALID in production too, so "
            f"QA keeps it so: {found}. These are production's rows; nothing to fix in QA "
            "(to have it validated, fix the rows in production and VALIDATE it there: the "
            "next migrate validates it in QA too)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": str(self.table),
            "constraint": self.name,
            "references": str(self.ref_table) if self.ref_table else None,
            "status": self.status,
            "orphans": self.orphans,
            "example": self.example,
            "ok": self.ok,
        }


@dataclass(frozen=True)
class InsertCheck:
    table: Name
    status: InsertStatus
    detail: str = ""
    consumed: tuple[str, ...] = ()  # sequences left one value further

    @property
    def ok(self) -> bool:
        return self.status is not InsertStatus.COLLISION

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": str(self.table),
            "status": self.status,
            "detail": self.detail,
            "sequences_consumed": list(self.consumed),
            "ok": self.ok,
        }


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


def production_key(fk: Constraint, prod: Catalog) -> Constraint | None:
    """Production's foreign key for QA's *fk*: the one of that name on that table, else
    one on the same columns referencing the same columns (a renamed constraint)."""
    candidates = [c for c in prod.foreign_keys() if c.table == fk.table]
    return next((c for c in candidates if c.name == fk.name), None) or next(
        (c for c in candidates if _same_fk(fk, c)), None
    )


def not_valid_in_production(fk: Constraint, prod: Catalog | None) -> bool:
    """Production has *fk* too, and holds it NOT VALID: QA keeps it so."""
    found = production_key(fk, prod) if prod is not None else None
    return found is not None and not found.validated


def orphan_check(
    conn: psycopg.Connection[Any], fk: Constraint, status: ForeignKeyStatus | str
) -> ForeignKeyCheck:
    """*fk* with *status*, its orphan rows counted."""
    n, ex = count_orphans(conn, fk)
    return ForeignKeyCheck(fk.table, fk.name, ForeignKeyStatus(status), n, ex, fk.ref_table)


def check_foreign_keys(
    conn: psycopg.Connection[Any], qa: Catalog, prod: Catalog | None, tables: set[Name]
) -> list[ForeignKeyCheck]:
    """QA's foreign keys on *tables*: present (as in production), validated, no orphans.

    A production key counts as present when QA has one of that name or one on
    the same columns referencing the same columns (a renamed constraint).  A key
    NOT VALID in QA that production holds NOT VALID too is production's state:
    reported with its orphans, not failed.
    """
    out: list[ForeignKeyCheck] = []
    qa_fks = {(fk.table, fk.name): fk for fk in qa.foreign_keys() if fk.table in tables}
    for fk in qa_fks.values():
        if fk.validated:
            out.append(
                ForeignKeyCheck(fk.table, fk.name, ForeignKeyStatus.OK, ref_table=fk.ref_table)
            )
        elif not_valid_in_production(fk, prod):
            out.append(orphan_check(conn, fk, NOT_VALID_IN_PRODUCTION))
        else:
            out.append(orphan_check(conn, fk, ForeignKeyStatus.NOT_VALID))
    for fk in prod.foreign_keys() if prod is not None else ():
        if fk.table not in tables or qa.table(fk.table) is None:
            continue
        if (fk.table, fk.name) in qa_fks or any(_same_fk(fk, q) for q in qa_fks.values()):
            continue
        if fk.ref_table is None or qa.table(fk.ref_table) is None:
            out.append(
                ForeignKeyCheck(
                    fk.table,
                    fk.name,
                    ForeignKeyStatus.MISSING,
                    example=f"{fk.ref_table} is not in QA",
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
                    ForeignKeyStatus.MISSING,
                    example=f"QA lacks column(s) {', '.join(absent)}",
                )
            )
            continue
        n, ex = count_orphans(conn, fk)
        out.append(ForeignKeyCheck(fk.table, fk.name, ForeignKeyStatus.MISSING, n, ex))
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
        return InsertCheck(table, InsertStatus.NOT_TESTED, "no column has a default")
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
            result = InsertCheck(
                table, InsertStatus.NOT_TESTED, "the table is empty: no row to copy from"
            )
        else:
            result = InsertCheck(table, InsertStatus.OK)
    except psycopg.errors.UniqueViolation as exc:
        detail = (exc.diag.message_detail or exc.diag.message_primary or "").strip()
        fed = {f.column.column for s in feeding for f in s.feeds if f.column.table == table}
        t = qa.table(table)
        fed |= {c.name for c in t.columns if c.identity.value} if t is not None else set()
        if _key_columns(detail) & fed:
            result = InsertCheck(table, InsertStatus.COLLISION, detail)
        else:
            constraint = exc.diag.constraint_name or "a unique key"
            result = InsertCheck(
                table, InsertStatus.NOT_TESTED, f"{constraint} holds copied values: {detail}"
            )
    except psycopg.Error as exc:
        result = InsertCheck(
            table, InsertStatus.ERROR, (exc.diag.message_primary or str(exc)).strip()
        )
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
