"""A sample of production's rows run through the masks before anything is copied
(issue 14, point 3): a rule that would break a column's length, NOT NULL, type,
enum, domain or CHECK constraint is named with the column and the constraint
here, not as a failed COPY half-way through the load.

Everything runs on production's snapshot session, read-only: the sample is read
with the COPY query the load will use (``LIMIT`` added), masked in this process,
and the masked values are sent back as parameters of ``SELECT`` casts and CHECK
expressions, inside a savepoint so a value that does not cast leaves the
snapshot usable.  The key never leaves the process; production sees masked
values and its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from ..catalog import Catalog, Column, ConstraintType
from ..errors import ConfigError, CopyFailed, first_line
from ..masking.rewrite import NULL, unescape
from ..plan import Plan, TablePlan
from .masking import max_length
from .pipeline import Check
from .streams import copy_sql

#: rows sampled per masked table
SAMPLE_ROWS = 100

_CHECK = re.compile(r"^CHECK \((.*)\)(?: NOT VALID)?$", re.DOTALL)


@dataclass(frozen=True)
class Sampled:
    """A table's sampled rows after masking: each a field per copied column, as text."""

    table: TablePlan
    rows: tuple[tuple[str | None, ...], ...]


def masked_rows(conn: psycopg.Connection[Any], tp: TablePlan, limit: int) -> Sampled:
    """Up to *limit* of *tp*'s rows, read as the load reads them and masked."""
    out, _ = copy_sql(tp, limit=limit)
    rows = []
    with conn.cursor() as cur, cur.copy(out) as copy:
        for data in copy:
            row = bytes(data)
            if tp.rewrite is not None:
                try:
                    row = tp.rewrite(row)
                except CopyFailed as exc:  # a rule that does not fit a value: usage
                    raise ConfigError(exc.message, hint=exc.hint) from None
            fields = row.rstrip(b"\n").split(b"\t") if tp.columns else []
            rows.append(
                tuple(None if f == NULL else unescape(f).decode(conn.info.encoding) for f in fields)
            )
    return Sampled(tp, tuple(rows))


def _problems(conn: psycopg.Connection[Any], sampled: Sampled, source: Catalog) -> Iterator[str]:
    tp = sampled.table
    table = source.table(tp.source)
    if table is None:
        return
    described = {c.name: c for c in table.columns}
    masked = dict(tp.masked)
    checks = [
        (c.name, m.group(1))
        for c in source.constraints_of(tp.source)
        if c.type is ConstraintType.CHECK
        and (m := _CHECK.match(c.definition)) is not None
        and any(column in c.definition for column in masked)
    ]
    for row in sampled.rows:
        values = dict(zip(tp.columns, row, strict=True))
        for column, kind in masked.items():
            said = f"masking {tp.source}.{column} as {kind}"
            col = described[column]
            value = values[column]
            if value is None and col.not_null:
                yield f"{said} gives NULL, and the column is NOT NULL"
                return
            length = max_length(col)
            if value is not None and length is not None and len(value) > length:
                yield (f"{said} gives {len(value)} characters, and the column is {col.type}")
                return
        yield from _server_checks(conn, tp, described, values, masked, checks)


def _typed(columns: dict[str, Column], values: dict[str, str | None]) -> sql.Composable:
    return sql.SQL(", ").join(
        sql.SQL("CAST({} AS {}) AS {}").format(
            sql.Literal(value), sql.SQL(columns[name].type), sql.Identifier(name)
        )
        for name, value in values.items()
    )


def _server_checks(
    conn: psycopg.Connection[Any],
    tp: TablePlan,
    columns: dict[str, Column],
    values: dict[str, str | None],
    masked: dict[str, str],
    checks: list[tuple[str, str]],
) -> Iterator[str]:
    for column, kind in masked.items():  # the type, its enum labels and domain constraints
        query = sql.SQL("SELECT CAST({} AS {})").format(
            sql.Literal(values[column]), sql.SQL(columns[column].type)
        )
        try:
            with conn.transaction():
                conn.execute(query)
        except psycopg.Error as exc:
            yield (
                f"masking {tp.source}.{column} as {kind} gives a value its type "
                f"{columns[column].type} refuses: {first_line(exc)}"
            )
            return
    for name, expression in checks:
        query = sql.SQL("SELECT ({}) IS NOT FALSE FROM (SELECT {}) AS masked").format(
            sql.SQL(expression), _typed(columns, values)
        )
        try:
            with conn.transaction():
                row = conn.execute(query).fetchone()
        except psycopg.Error:
            continue  # a check over what a sample cannot show: the load checks it
        if row is not None and not row[0]:
            rules = ", ".join(f"{c} ({k})" for c, k in masked.items() if c in expression)
            yield f"masking {tp.source} breaks check constraint {name}: masked {rules}"
            return


def sample_check(limit: int = SAMPLE_ROWS) -> Check:
    """A :data:`Check` running *limit* rows of every masked table through its masks."""

    def check(conn: psycopg.Connection[Any], plan: Plan, source: Catalog) -> None:
        for tp in plan.tables:
            if not tp.masked:
                continue
            for problem in _problems(conn, masked_rows(conn, tp, limit), source):
                raise ConfigError(
                    problem + f" (found in a sample of {limit} production rows)",
                    hint="pick a rule that fits the column (docs/masking.md lists each kind's "
                    "output), then rerun; QA was not written",
                )

    return check


__all__ = ["SAMPLE_ROWS", "Check", "Sampled", "masked_rows", "sample_check"]
