"""Values that fail a cast: dates under another DateStyle, input of the wrong type, P2023."""

from __future__ import annotations

import re
from typing import Any

import psycopg
from psycopg import sql

from ..catalog import Column, Table, quote_ident
from ..endpoints import PINNED_SETTINGS
from .context import Context
from .messages import Symptom
from .model import Finding, Severity
from .names import find_column, find_table
from .schema import type_drift

#: The orders a DateStyle can read ambiguous dates in.
DATESTYLES = ("ISO, MDY", "ISO, DMY", "ISO, YMD")

_DATE_TYPES = {
    "timestamp": "timestamp",
    "timestamp without time zone": "timestamp",
    "timestamp with time zone": "timestamptz",
    "timestamptz": "timestamptz",
    "date": "date",
    "time": "time",
    "time without time zone": "time",
    "time with time zone": "timetz",
    "timetz": "timetz",
    "interval": "interval",
}

PINNED_NOTE = (
    "pgferry migrate copies values in binary, or as text under the settings pg_dump pins "
    f"(DateStyle={PINNED_SETTINGS['DateStyle']}, TimeZone={PINNED_SETTINGS['TimeZone']}) on both "
    "sessions, so no value passes through a locale- or session-dependent form."
)


def _column(ctx: Context, s: Symptom) -> tuple[Table | None, Column | None]:
    for name in (s.table, s.model):
        found = find_table(ctx.qa, name, schema=s.schema, prefer=ctx.prefer)
        if found is not None:
            col = find_column(found.obj, s.columns[0]) if s.columns else None
            return found.obj, col.obj if col else None
    return None, None


def _settings(conn: psycopg.Connection[Any]) -> dict[str, str]:
    """The session defaults the database hands a new connection (not pgferry's pinned ones)."""
    rows = conn.execute(
        "SELECT name, reset_val FROM pg_catalog.pg_settings WHERE name IN ('DateStyle', 'TimeZone')"
    ).fetchall()
    return {str(r[0]): str(r[1]) for r in rows}


def _read_as(conn: psycopg.Connection[Any], value: str, type_sql: str, style: str) -> str | None:
    """*value* cast to *type_sql* under DateStyle *style*, as ISO text; None if it fails."""
    try:
        with conn.transaction():
            conn.execute("SELECT pg_catalog.set_config('DateStyle', %s, true)", (style,))
            row = conn.execute(
                sql.SQL("SELECT CAST(CAST(CAST(%s AS text) AS {}) AS text)").format(
                    sql.SQL(type_sql)  # a type name from the catalog or from _DATE_TYPES
                ),
                (value,),
            ).fetchone()
            return None if row is None else str(row[0])
    except psycopg.DataError:
        return None


def datetime_value(ctx: Context, s: Symptom) -> list[Finding]:
    table, column = _column(ctx, s)
    findings: list[Finding] = []
    if table is not None and column is not None:
        drift = type_drift(ctx, table, column)
        if drift is not None:
            findings.append(drift)
    qa = _settings(ctx.db)
    prod = _settings(ctx.source_conn) if ctx.source_conn is not None else {}
    differ = [k for k in ("DateStyle", "TimeZone") if prod and prod.get(k) != qa.get(k)]
    if differ:
        findings.append(
            Finding(
                Severity.PROBLEM,
                "session settings differ",
                "; ".join(f"{k} is {prod[k]!r} in production but {qa[k]!r} in QA" for k in differ)
                + ": a date written as text under one and read under the other swaps day and "
                "month (silently when the day is 12 or less), or shifts by the zone offset. "
                + PINNED_NOTE,
                table=table.name if table else None,
                column=column.name if column else None,
                fix=ctx.migrate_fix(),
                details=tuple(
                    f"or align QA: ALTER DATABASE {quote_ident(ctx.db.info.dbname)} SET {k} = "
                    f"'{prod[k]}'"
                    for k in differ
                ),
                facts=tuple((f"production_{k}", prod[k]) for k in differ)
                + tuple((f"qa_{k}", qa[k]) for k in differ),
            )
        )
    if s.value:
        findings.append(_readings(ctx, s, table, column, qa))
    return findings


def _readings(
    ctx: Context, s: Symptom, table: Table | None, column: Column | None, qa: dict[str, str]
) -> Finding:
    value = s.value or ""
    type_sql = (
        column.type
        if column is not None and re.match(r"(timestamp|date|time|interval)", column.type)
        else _DATE_TYPES.get((s.type_name or "timestamp").lower(), "timestamp")
    )
    readings = {style: _read_as(ctx.db, value, type_sql, style) for style in DATESTYLES}
    ok = {st: v for st, v in readings.items() if v is not None}
    where = (
        f" for {table.name}.{quote_ident(column.name)} ({column.type})" if table and column else ""
    )
    own = qa.get("DateStyle", "ISO, MDY")
    if not ok:
        text = (
            f"{value!r} is not a valid {type_sql} under any DateStyle{where}: the value itself is "
            "wrong (a day that does not exist, or not a date at all), as the application or file "
            "wrote it. Nothing in the database causes it."
        )
    elif own in ok:
        text = (
            f"QA reads {value!r} as {ok[own]} under its own DateStyle ({own}){where}: the session "
            "that failed had another DateStyle set (by the client or the role)."
        )
    else:
        as_read = "; ".join(f"as {v} under {st}" for st, v in ok.items())
        text = (
            f"{value!r} is written day-first or in another order than QA's DateStyle ({own}) "
            f"reads{where}: it reads {as_read}. Text dates depend on the session's DateStyle; "
            "the writer (a CSV export, a script, a locale-formatted value) used another order."
        )
    return Finding(
        Severity.INFO,
        "date/time text",
        f"{text} {PINNED_NOTE}",
        table=table.name if table else None,
        column=column.name if column else None,
        facts=tuple((f"read_under_{st}", v) for st, v in readings.items()),
    )


# -- 22P02 on other types --------------------------------------------------------------------


def _base(type_text: str) -> str:
    return re.sub(r"\(.*?\)", "", type_text).strip()


def input_syntax(ctx: Context, s: Symptom) -> list[Finding]:
    table, column = _column(ctx, s)
    if table is not None and column is not None:
        drift = type_drift(ctx, table, column)
        if drift is not None:
            return [drift]
    wanted = (s.type_name or "").lower()
    if ctx.source is not None and wanted:
        drifted = [
            f
            for t in ctx.qa.tables
            for c in t.columns
            if _base(c.type) == wanted and (f := type_drift(ctx, t, c)) is not None
        ]
        if drifted:
            return drifted
    return [
        Finding(
            Severity.INFO,
            "value of the wrong type",
            f"{s.value!r} is not a valid {s.type_name or 'value'}: the application (or the file "
            "being loaded) sent it"
            + (
                "; no column of that type differs from production"
                if ctx.source
                else "; rerun with --from to see whether a column's type differs from production"
            )
            + ".",
            table=table.name if table else None,
            column=column.name if column else None,
        )
    ]


# -- P2023 -----------------------------------------------------------------------------------------

_INT4_MAX = 2**31 - 1


def column_data(ctx: Context, s: Symptom) -> list[Finding]:
    table, column = _column(ctx, s)
    if table is None or column is None:
        return [
            Finding(
                Severity.INFO,
                "column not found",
                "Prisma could not convert a value it read"
                + (f" (model {s.model}" if s.model else "")
                + (f", column {s.columns[0]}" if s.columns else "")
                + (")" if s.model else "")
                + ", and QA has no such column: is --db the database that raised it?",
            )
        ]
    findings: list[Finding] = []
    drift = type_drift(ctx, table, column)
    if drift is not None:
        findings.append(drift)
    ref = f"{table.name}.{quote_ident(column.name)}"
    if column.type.startswith(("timestamp", "date")):
        col = sql.Identifier(column.name)
        n = _count(ctx, table, sql.SQL("NOT pg_catalog.isfinite({})").format(col))
        if n:
            findings.append(
                Finding(
                    Severity.PROBLEM,
                    "values Prisma cannot read",
                    f"{n} row{'s' if n != 1 else ''} of {ref} hold infinity or -infinity, which "
                    "Prisma's DateTime cannot represent.",
                    table=table.name,
                    column=column.name,
                    fix=_set_finite(table, column),
                    facts=(("rows", n),),
                )
            )
    if s.type_name == "integer" and column.type in ("bigint", "numeric"):
        cond = sql.SQL("abs({}) > {}").format(sql.Identifier(column.name), sql.Literal(_INT4_MAX))
        n = _count(ctx, table, cond)
        if n:
            findings.append(
                Finding(
                    Severity.PROBLEM,
                    "values past Int",
                    f"{n} row{'s' if n != 1 else ''} of {ref} ({column.type}) hold values past "
                    "the 32-bit range of Prisma's Int.",
                    table=table.name,
                    column=column.name,
                    fix="declare the field BigInt in schema.prisma, then prisma generate",
                    facts=(("rows", n),),
                )
            )
    return findings or [
        Finding(
            Severity.INFO,
            "column looks consistent",
            f"QA's {ref} is {column.type} and holds no value doctor knows Prisma cannot read"
            + ("" if ctx.source else "; rerun with --from to compare its type with production's")
            + ".",
            table=table.name,
            column=column.name,
        )
    ]


def _set_finite(table: Table, column: Column) -> str:
    """The statement to show (never run): set the non-finite values to NULL."""
    col = quote_ident(column.name)
    return " ".join(
        ("UPDATE", str(table.name), "SET", col, "= NULL WHERE NOT isfinite(" + col + ")")
    )


def _count(ctx: Context, table: Table, condition: sql.Composable) -> int:
    row = ctx.db.execute(
        sql.SQL("SELECT count(*) FROM {} WHERE {}").format(table.name.ident, condition)
    ).fetchone()
    return int(row[0]) if row else 0
