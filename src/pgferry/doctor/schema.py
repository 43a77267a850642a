"""Schema drift: a table, column or enum label the application expects and QA lacks."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from ..catalog import Catalog, Column, Name, Table, quote_ident
from .context import PRISMA_MIGRATIONS, Context
from .messages import Symptom
from .model import Finding, Severity
from .names import HOW, columns_of_type, find_column, find_enum, find_table

# -- Prisma's migration history ---------------------------------------------------------


def _migrations(conn: psycopg.Connection[Any], catalog: Catalog) -> tuple[list[str], list[str]]:
    """(applied, failed) migration names from ``_prisma_migrations``; empty without one."""
    table = next((t for t in catalog.tables if t.name.name == PRISMA_MIGRATIONS), None)
    if table is None or not {"migration_name", "finished_at", "rolled_back_at"} <= {
        c.name for c in table.columns
    }:
        return [], []
    rows = conn.execute(
        sql.SQL(
            "SELECT migration_name, finished_at IS NOT NULL, rolled_back_at IS NOT NULL "
            "FROM {} ORDER BY migration_name"
        ).format(table.name.ident)
    ).fetchall()
    applied = [str(r[0]) for r in rows if r[1] and not r[2]]
    failed = [str(r[0]) for r in rows if not r[1] and not r[2]]
    return applied, failed


def _history(ctx: Context) -> tuple[list[str], list[str]]:
    """(production's applied migrations QA lacks, QA's failed migrations)."""
    if ctx.conn is None or ctx.catalog is None:
        return [], []
    qa, failed = _migrations(ctx.db, ctx.qa)
    if ctx.source is None or ctx.source_conn is None:
        return [], failed
    prod, _ = _migrations(ctx.source_conn, ctx.source)
    have = set(qa)
    return [m for m in prod if m not in have], failed


def _missing_line(missing: list[str]) -> str:
    more = f" (and {len(missing) - 5} more)" if len(missing) > 5 else ""
    return (
        f"QA lacks {len(missing)} of production's Prisma migrations: "
        + ", ".join(missing[:5])
        + more
    )


def _failed_line(failed: list[str]) -> str:
    return f"QA has failed Prisma migrations (P3009): {', '.join(failed)}"


def migration_drift(ctx: Context) -> list[str]:
    """Lines naming the Prisma migrations production has applied and QA has not."""
    missing, failed = _history(ctx)
    lines = [_missing_line(missing)] if missing else []
    return lines + ([_failed_line(failed)] if failed else [])


def migration_findings(ctx: Context) -> list[Finding]:
    """For the health check: QA's Prisma history behind production's, or a failed migration."""
    missing, failed = _history(ctx)
    table = next((t.name for t in ctx.qa.tables if t.name.name == PRISMA_MIGRATIONS), None)
    out: list[Finding] = []
    if failed:
        out.append(
            Finding(
                Severity.PROBLEM,
                "Prisma migration failed",
                _failed_line(failed) + ": prisma migrate deploy refuses to run until it is "
                "resolved.",
                table=table,
                fix=ctx.prisma(f"migrate resolve --rolled-back {failed[0]}"),
            )
        )
    if missing:
        out.append(
            Finding(
                Severity.PROBLEM,
                "Prisma migrations behind",
                _missing_line(missing),
                table=table,
                fix=ctx.prisma("migrate deploy"),
            )
        )
    return out


# -- tables and columns -----------------------------------------------------------------


def _absent_fix(ctx: Context, in_prod: bool | None) -> str:
    if in_prod is False:  # production lacks it too: only the application's migrations add it
        if ctx.uses_prisma():
            return ctx.prisma("migrate deploy")
        return "apply the application's migrations to QA"
    return ctx.schema_fix()


def _where(in_prod: bool | None) -> str:
    if in_prod is None:
        return ""
    if in_prod:
        return " It exists in production: QA's schema is behind production's."
    return (
        " Production lacks it too: the application's schema is ahead of both databases "
        "(a migration not applied anywhere yet)."
    )


def missing_table(ctx: Context, s: Symptom) -> list[Finding]:
    name = s.table or s.model
    if not name:
        return [Finding(Severity.INFO, "table not named", "the message names no table")]
    found = find_table(ctx.qa, name, schema=s.schema, prefer=ctx.prefer)
    prod = find_table(ctx.source, name, schema=s.schema, prefer=ctx.prefer) if ctx.source else None
    # A model name (P2021 with only meta.modelName) may map to its table; a table name
    # printed by the server must match exactly.
    exact_only = bool(s.table)
    if found is not None and (found.exact or not exact_only):
        return [
            Finding(
                Severity.INFO,
                "table exists",
                f"QA has {found.obj.name} now ({found.how} match for {name!r}): the error is not "
                "reproducible. If the application still fails, check the schema in its URL "
                "(?schema=) and its search_path.",
                table=found.obj.name,
            )
        ]
    if found is not None and found.how == HOW[1] and not (prod is not None and prod.exact):
        return [
            Finding(
                Severity.INFO,
                "name differs in case",
                f"QA has {found.obj.name}, whose name differs from {name!r} only in case: a query "
                "that names it without double quotes is folded to lower case. Quote it as "
                f"{quote_ident(found.obj.name.name)}; nothing is missing.",
                table=found.obj.name,
            )
        ]
    in_prod = None if ctx.source is None else prod is not None and (prod.exact or not exact_only)
    near = f" QA has {found.obj.name} ({found.how} match)." if found is not None else ""
    target = prod.obj.name if prod is not None and in_prod else None
    return [
        Finding(
            Severity.PROBLEM,
            "table missing in QA",
            f"table {target or name} does not exist in QA.{near}{_where(in_prod)}",
            table=target,
            fix=_absent_fix(ctx, in_prod),
            details=tuple(migration_drift(ctx))
            + (() if ctx.source else ("rerun with --from to compare with production",)),
        )
    ]


def _prod_table(ctx: Context, table: Table) -> Table | None:
    return ctx.source.table(table.name) if ctx.source is not None else None


def missing_column(ctx: Context, s: Symptom) -> list[Finding]:
    table = None
    for name in (s.table, s.model):
        found = find_table(ctx.qa, name, schema=s.schema, prefer=ctx.prefer)
        if found is not None:
            table = found.obj
            break
    column = s.columns[0] if s.columns else None
    if table is None:
        return _column_anywhere(ctx, column)
    if column is None:  # Prisma's "(not available)": compare the whole table
        return _table_columns(ctx, table)
    col = find_column(table, column)
    if col is not None and col.exact:
        return [
            Finding(
                Severity.INFO,
                "column exists",
                f"QA's {table.name} has column {quote_ident(column)} now: the error is not "
                "reproducible.",
                table=table.name,
                column=column,
            )
        ]
    prod_table = _prod_table(ctx, table)
    prod_col = find_column(prod_table, column) if prod_table is not None else None
    in_prod = None if ctx.source is None else prod_col is not None and prod_col.how != HOW[2]
    name = prod_col.obj.name if prod_col is not None and in_prod else column
    near = f" QA has {quote_ident(col.obj.name)} ({col.how} match)." if col is not None else ""
    return [
        Finding(
            Severity.PROBLEM,
            "column missing in QA",
            f"column {table.name}.{quote_ident(name)} does not exist in QA.{near}{_where(in_prod)}",
            table=table.name,
            column=name,
            fix=_absent_fix(ctx, in_prod),
            details=tuple(migration_drift(ctx))
            + (() if ctx.source else ("rerun with --from to compare with production",)),
        )
    ]


def _table_columns(ctx: Context, table: Table) -> list[Finding]:
    prod_table = _prod_table(ctx, table)
    if prod_table is None:
        return [
            Finding(
                Severity.INFO,
                "column not named",
                f"the message does not name the column of {table.name}"
                + ("" if ctx.source else "; rerun with --from to compare with production")
                + ".",
                table=table.name,
            )
        ]
    missing = [c.name for c in prod_table.columns if table.column(c.name) is None]
    if not missing:
        return [
            Finding(
                Severity.INFO,
                "columns match",
                f"QA's {table.name} has every column production's has: the application's schema "
                "is ahead of both databases, or the error is not reproducible.",
                table=table.name,
            )
        ]
    return [
        Finding(
            Severity.PROBLEM,
            "column missing in QA",
            f"column {table.name}.{quote_ident(c)} exists in production but not in QA.",
            table=table.name,
            column=c,
            fix=ctx.schema_fix(),
            details=tuple(migration_drift(ctx)),
        )
        for c in missing
    ]


def _column_anywhere(ctx: Context, column: str | None) -> list[Finding]:
    """No table named (or an alias such as ``o.clientId``): look in every table."""
    if column is None:
        return [Finding(Severity.INFO, "column not named", "the message names no column")]
    if ctx.source is not None:
        lacking = [
            t.name
            for t in ctx.source.tables
            if t.column(column) is not None
            and (q := ctx.qa.table(t.name)) is not None
            and q.column(column) is None
        ]
        if lacking:
            return [
                Finding(
                    Severity.PROBLEM,
                    "column missing in QA",
                    f"column {t}.{quote_ident(column)} exists in production but not in QA.",
                    table=t,
                    column=column,
                    fix=ctx.schema_fix(),
                    details=tuple(migration_drift(ctx)),
                )
                for t in lacking
            ]
    having = [t.name for t in ctx.qa.tables if t.column(column) is not None]
    where = f" QA has it on {', '.join(str(n) for n in having[:5])}." if having else ""
    return [
        Finding(
            Severity.INFO,
            "column not placed",
            f"the message does not say which table lacks column {quote_ident(column)}.{where}"
            + (
                " No table of production has it where QA's lacks it."
                if ctx.source
                else " Rerun with --from to compare with production."
            ),
            column=column,
        )
    ]


def type_drift(ctx: Context, table: Table, column: Column) -> Finding | None:
    """The column's type differs from production's (a reason values fail to convert)."""
    prod_table = _prod_table(ctx, table)
    prod_col = prod_table.column(column.name) if prod_table is not None else None
    if prod_col is None or prod_col.type == column.type:
        return None
    return Finding(
        Severity.PROBLEM,
        "column type differs",
        f"{table.name}.{quote_ident(column.name)} is {prod_col.type} in production but "
        f"{column.type} in QA: values that fit one do not always fit the other.",
        table=table.name,
        column=column.name,
        fix=ctx.schema_fix(),
        facts=(("production_type", prod_col.type), ("qa_type", column.type)),
    )


# -- enums ----------------------------------------------------------------------------------


def enum_value(ctx: Context, s: Symptom) -> list[Finding]:
    found = find_enum(ctx.qa, s.type_name)
    value = s.value or ""
    if found is None:
        prod = find_enum(ctx.source, s.type_name) if ctx.source else None
        return [
            Finding(
                Severity.PROBLEM if prod else Severity.INFO,
                "enum type missing in QA" if prod else "enum type not found",
                f"QA has no enum type {s.type_name}"
                + (" (production has it)." if prod else ": is --db the database that raised it?"),
                fix=ctx.schema_fix() if prod else None,
            )
        ]
    enum = found.obj
    users = columns_of_type(ctx.qa, enum.name)
    table, column = _enum_column(ctx, s, users)
    if value in enum.labels:
        return [
            Finding(
                Severity.INFO,
                "label exists",
                f"QA's enum {enum.name} has label {value!r} now: the error is not reproducible.",
                table=table,
                column=column,
            )
        ]
    prod = find_enum(ctx.source, str(enum.name)) if ctx.source else None
    prod_labels = prod.obj.labels if prod is not None else ()
    lacking = [lb for lb in prod_labels if lb not in enum.labels]
    in_prod = None if ctx.source is None else value in prod_labels
    details = []
    if lacking:
        details.append(f"labels production has and QA lacks: {', '.join(repr(x) for x in lacking)}")
    details.append(f"or add it by hand: ALTER TYPE {enum.name} ADD VALUE {_literal(value)}")
    details += migration_drift(ctx)
    used = ", ".join(f"{t.name}.{quote_ident(c.name)}" for t, c in users[:5])
    return [
        Finding(
            Severity.PROBLEM,
            "enum label missing in QA",
            f"enum {enum.name} in QA has {', '.join(repr(x) for x in enum.labels)}; "
            f"{value!r} is not one of them{f' (used by {used})' if used else ''}.{_where(in_prod)}",
            table=table,
            column=column,
            fix=_absent_fix(ctx, in_prod),
            details=tuple(details),
            facts=(("enum", str(enum.name)), ("missing_label", value)),
        )
    ]


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _enum_column(
    ctx: Context, s: Symptom, users: list[tuple[Table, Column]]
) -> tuple[Name | None, str | None]:
    if s.table:
        t = find_table(ctx.qa, s.table, schema=s.schema, prefer=ctx.prefer)
        if t is not None:
            c = find_column(t.obj, s.columns[0]) if s.columns else None
            return t.obj.name, c.obj.name if c else None
    if len(users) == 1:
        return users[0][0].name, users[0][1].name
    return None, None
