"""Differences in tables, columns, views, constraints, indexes and triggers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from psycopg import sql

from .. import casts
from ..casts import CastKind
from ..catalog import (
    Catalog,
    Column,
    Constraint,
    ConstraintType,
    Generated,
    Identity,
    Name,
    RelKind,
    Table,
    quote_ident,
)
from ..plan import Severity
from . import ddl
from .ddl import Step
from .model import Change, Difference, Scope, norm, pair, same_query

# -- tables, columns, views ------------------------------------------------------------------


_VIEWS = (RelKind.VIEW, RelKind.MATVIEW)


def _kind_word(t: Table) -> str:
    return {RelKind.VIEW: "view", RelKind.MATVIEW: "materialized view"}.get(t.kind, "table")


def relations(source: Catalog, target: Catalog, scope: Scope, out: list[Difference]) -> set[Name]:
    """Tables and views; returns the relations QA lacks (their parts come with them)."""
    missing, extra, both = pair(
        [t for t in source.tables if scope(t.name, t.extension)],
        [t for t in target.tables if scope(t.name, t.extension)],
        lambda t: t.name,
    )
    for t in missing:
        out.append(_missing_relation(t, source, target))
    for t in extra:
        out.append(
            Difference(
                _kind_word(t),
                str(t.name),
                Change.EXTRA,
                Severity.WARNING if t.kind not in _VIEWS else Severity.INFO,
                f"QA has this {_kind_word(t)}, production does not",
                "leaves its rows as they are" if t.kind not in _VIEWS else "leaves it alone",
                (ddl.drop_table(t, target),),
                drops=t.kind not in _VIEWS,
                table=t.name,
            )
        )
    for s, t in both:
        if (s.kind in _VIEWS) != (t.kind in _VIEWS) or (s.kind in _VIEWS and s.kind != t.kind):
            out.append(
                Difference(
                    _kind_word(s),
                    str(s.name),
                    Change.CHANGED,
                    Severity.BLOCKING,
                    f"a {_kind_word(s)} in production, a {_kind_word(t)} in QA",
                    "refuses to start",
                    refused="drop QA's object by hand, then run schema push",
                    table=s.name,
                )
            )
            continue
        if s.kind in _VIEWS:
            if not same_query(s, t):
                same_columns = [c.name for c in s.columns] == [c.name for c in t.columns]
                fix: tuple[Step, ...] = (
                    (ddl.create_view(s, source, replace=True),)
                    if s.kind is RelKind.VIEW and same_columns
                    # a matview, or a view whose columns change: dropped and made again
                    else (ddl.drop_table(t, target), ddl.create_view(s, source))
                )
                if s.kind is RelKind.MATVIEW:
                    fix += tuple(ddl.table_extras(s, source))
                out.append(
                    Difference(
                        _kind_word(s),
                        str(s.name),
                        Change.CHANGED,
                        Severity.WARNING,
                        "its query differs",
                        "refreshes it from QA's query"
                        if s.kind is RelKind.MATVIEW
                        else "leaves it alone: a view holds no rows",
                        fix,
                        table=s.name,
                    )
                )
            continue
        out += column_differences(s, t, source, target)
    return {t.name for t in missing}


def _virtual_refusal(columns: Iterable[Column], target: Catalog) -> str | None:
    """Why QA cannot take these columns: PostgreSQL 18's virtual generated columns."""
    if target.major_version < 18 and any(c.generated is Generated.VIRTUAL for c in columns):
        return (
            f"QA's PostgreSQL {target.major_version} has no virtual generated columns (18+): "
            "upgrade QA, or create the column as STORED by hand"
        )
    return None


def _missing_relation(t: Table, source: Catalog, target: Catalog) -> Difference:
    if t.kind in _VIEWS:
        mv = t.kind is RelKind.MATVIEW
        return Difference(
            _kind_word(t),
            str(t.name),
            Change.MISSING,
            Severity.BLOCKING if mv else Severity.WARNING,
            f"production has this {_kind_word(t)}, QA does not",
            "refuses to start: it would refresh it"
            if mv
            else "leaves it alone: a view holds no rows",
            (ddl.create_view(t, source), *ddl.table_extras(t, source)),
            table=t.name,
        )
    if t.kind is RelKind.FOREIGN:
        return Difference(
            "table",
            str(t.name),
            Change.MISSING,
            Severity.INFO,
            "production has this foreign table, QA does not",
            "does not copy foreign tables",
            refused="a foreign table needs its server in QA: create it by hand",
            table=t.name,
        )
    owned = [
        ddl.sequence_owner(s)
        for s in source.sequences
        if any(f.column.table == t.name for f in s.feeds) and not ddl.is_identity_sequence(s)
    ]
    parent = target.table(t.parents[0]) if t.is_partition and t.parents else None
    if parent is not None:  # a partition of a table QA has: the copy goes through QA's root
        severity = Severity.WARNING
        migrate = "copies through the partitioned root: rows with no partition in QA stop it"
    else:
        severity = Severity.BLOCKING
        migrate = "refuses to start (or leave it out with --exclude)"
    return Difference(
        "table",
        str(t.name),
        Change.MISSING,
        severity,
        f"production has table {t.name}, QA does not",
        migrate,
        (
            ddl.create_table(t, source),
            *ddl.inherited_settings(t, source),
            *ddl.table_extras(t, source),
            *[o for o in owned if o],
        ),
        refused=_virtual_refusal(t.columns, target),
        table=t.name,
    )


def column_differences(
    src: Table, dst: Table, source: Catalog, target: Catalog
) -> list[Difference]:
    """How the columns of one table differ; also what :func:`pgferry.plan.build_plan` judges.

    A partition's or an inheritance child's inherited columns follow their parent's
    (whose own difference changes them too): only their local default and NOT NULL
    are compared here.
    """
    out: list[Difference] = []
    child = bool(src.parents)
    missing, extra, both = pair(src.columns, dst.columns, lambda c: c.name)
    if child:
        missing = [c for c in missing if not c.inherited]
        extra = [c for c in extra if not c.inherited]
    for c in missing:
        out.append(
            Difference(
                "column",
                f"{src.name}.{quote_ident(c.name)}",
                Change.MISSING,
                Severity.BLOCKING,
                f"production has column {c.name} ({c.type}), QA does not",
                "refuses to start: production's values have nowhere to go",
                tuple(ddl.add_column(src.name, c, source)),
                refused=_virtual_refusal([c], target),
                table=src.name,
            )
        )
    for c in extra:
        filled = c.default is not None or c.identity is not Identity.NONE
        blocked = c.not_null and not filled and c.generated is Generated.NONE
        out.append(
            Difference(
                "column",
                f"{dst.name}.{quote_ident(c.name)}",
                Change.EXTRA,
                Severity.BLOCKING if blocked else Severity.WARNING,
                f"QA has column {c.name} ({c.type}), production does not"
                + (", and it is NOT NULL without a default" if blocked else ""),
                "refuses to start: the rows would have no value for it"
                if blocked
                else "QA computes it"
                if c.generated is not Generated.NONE
                else f"fills it with {'its default' if filled else 'NULL'}",
                (ddl.drop_column(dst.name, c.name),),
                drops=True,
                table=dst.name,
            )
        )
    depth = sum(1 for _ in source.ancestors(src.name))
    for s, d in both:
        if child and (s.inherited or d.inherited):
            out += _local_changes(src.name, s, d, depth)
        else:
            out += _column_changes(src.name, s, d, source)
    order_s = [c.name for c in src.columns if dst.column(c.name) is not None]
    order_d = [c.name for c in dst.columns if src.column(c.name) is not None]
    if order_s != order_d and not child:
        out.append(
            Difference(
                "column",
                f"{src.name} (column order)",
                Change.CHANGED,
                Severity.INFO,
                f"columns are in another order in QA: {', '.join(order_d)}",
                "copies by column name; SELECT * lists them in QA's order",
                refused="PostgreSQL cannot reorder columns; only recreating the table would",
                table=src.name,
            )
        )
    return out


def _local_changes(table: Name, s: Column, d: Column, depth: int) -> list[Difference]:
    """A child's own default and NOT NULL on an inherited column (ALTER TABLE ONLY)."""
    out: list[Difference] = []
    name = f"{table}.{quote_ident(s.name)}"
    if s.not_null != d.not_null:
        action = "SET NOT NULL" if s.not_null else "DROP NOT NULL"
        out.append(
            Difference(
                "column",
                name,
                Change.CHANGED,
                Severity.WARNING if d.not_null else Severity.INFO,
                f"{'NOT NULL' if s.not_null else 'nullable'} in production, "
                f"{'NOT NULL' if d.not_null else 'nullable'} in QA",
                "a NULL from production stops the copy of this table"
                if d.not_null
                else "copies values either way",
                (ddl.alter_column(table, s.name, sql.SQL(action), only=True, depth=depth),),
                table=table,
            )
        )
    if norm(s.default) != norm(d.default) and s.generated is Generated.NONE:
        action_sql = (
            sql.SQL("SET DEFAULT {}").format(sql.SQL(s.default))
            if s.default is not None
            else sql.SQL("DROP DEFAULT")
        )
        out.append(
            Difference(
                "column",
                name,
                Change.CHANGED,
                Severity.INFO,
                f"default {s.default or 'none'} in production, {d.default or 'none'} in QA",
                "copies values; new rows in QA get QA's default",
                (ddl.alter_column(table, s.name, action_sql, only=True, depth=depth),),
                table=table,
            )
        )
    return out


_DEFAULT = 'pg_catalog."default"'


_DEFAULT = 'pg_catalog."default"'


def _column_changes(table: Name, s: Column, d: Column, source: Catalog) -> list[Difference]:
    out: list[Difference] = []
    name = f"{table}.{quote_ident(s.name)}"

    def changed(
        severity: Severity, detail: str, migrate: str, fix: tuple[Step, ...] = (), **kw: Any
    ) -> None:
        out.append(
            Difference(
                "column", name, Change.CHANGED, severity, detail, migrate, fix, table=table, **kw
            )
        )

    if s.type == d.type and s.collation != d.collation:
        changed(
            Severity.WARNING,
            f"collation {s.collation or 'the default'} in production, "
            f"{d.collation or 'the default'} in QA",
            "copies values; QA sorts and compares them (and enforces unique keys) its own way",
            (ddl.set_type(table, s.name, f"{s.type} COLLATE {s.collation or _DEFAULT}"),),
        )
    if s.type != d.type:
        copy = casts.classify(s, d)  # production -> QA: what a copy does
        push = casts.classify(d, s)  # QA -> production: what changing QA's type does
        severity = Severity.BLOCKING if copy is CastKind.UNSAFE else Severity.WARNING
        migrate = (
            "refuses to start: no cast keeps every value"
            if copy is CastKind.UNSAFE
            else casts.note(s, d)
        )
        step = ddl.set_type(table, s.name, s.type)
        if push is CastKind.SAFE:
            changed(severity, f"{s.type} in production, {d.type} in QA", migrate, (step,))
        elif push is CastKind.CHECKED:
            changed(
                severity, f"{s.type} in production, {d.type} in QA", migrate, (step,), drops=True
            )
        else:
            changed(
                severity,
                f"{s.type} in production, {d.type} in QA",
                migrate,
                refused=f"changing QA's {d.type} to {s.type} could change or lose values; "
                "change it by hand (ALTER TABLE ... ALTER COLUMN ... TYPE ... USING ...)",
            )
    if s.generated != d.generated:
        changed(
            Severity.WARNING,
            f"generated {s.generated.name.lower()} in production, {d.generated.name.lower()} in QA",
            "QA computes it"
            if d.generated is not Generated.NONE
            else "copies production's computed values",
            refused="a generated column cannot be switched in place: drop and add it by hand",
        )
        return out
    if s.identity != d.identity:
        if s.identity is not Identity.NONE and d.identity is not Identity.NONE:
            how = "ALWAYS" if s.identity is Identity.ALWAYS else "BY DEFAULT"
            fix: tuple[Step, ...] = (
                ddl.alter_column(table, s.name, sql.SQL("SET GENERATED " + how)),
            )
            changed(
                Severity.INFO,
                f"identity {s.identity.name.lower()} in production, "
                f"{d.identity.name.lower()} in QA",
                "copies values either way",
                fix,
            )
        else:
            changed(
                Severity.WARNING,
                f"identity {s.identity.name.lower()} in production, "
                f"{d.identity.name.lower()} in QA",
                "copies values; the sequences step sets what it can",
                refused="adding or removing an identity is left to you "
                "(ALTER TABLE ... ALTER COLUMN ... ADD/DROP IDENTITY)",
            )
    if s.not_null != d.not_null:
        if d.not_null:
            changed(
                Severity.WARNING,
                "nullable in production, NOT NULL in QA",
                "a NULL from production stops the copy of this table",
                (ddl.alter_column(table, s.name, sql.SQL("DROP NOT NULL")),),
            )
        else:
            changed(
                Severity.INFO,
                "NOT NULL in production, nullable in QA",
                "copies values either way",
                (ddl.alter_column(table, s.name, sql.SQL("SET NOT NULL")),),
            )
    if (
        s.generated is Generated.NONE
        and s.identity is Identity.NONE
        and d.identity is Identity.NONE
        and norm(s.default) != norm(d.default)
    ):
        fix_default = ddl.alter_column(
            table,
            s.name,
            sql.SQL("SET DEFAULT {}").format(sql.SQL(s.default))
            if s.default is not None
            else sql.SQL("DROP DEFAULT"),
        )
        changed(
            Severity.INFO,
            f"default {s.default or 'none'} in production, {d.default or 'none'} in QA",
            "copies values; new rows in QA get QA's default",
            (fix_default,),
        )
    return out


# -- constraints, indexes, triggers -------------------------------------------------------


_CON_WORDS = {
    ConstraintType.PRIMARY_KEY: "primary key",
    ConstraintType.UNIQUE: "unique constraint",
    ConstraintType.FOREIGN_KEY: "foreign key",
    ConstraintType.CHECK: "check constraint",
    ConstraintType.EXCLUSION: "exclusion constraint",
}


def constraints(
    source: Catalog, target: Catalog, scope: Scope, missing_tables: set[Name]
) -> list[Difference]:
    dst_tables = {t.name for t in target.tables}

    def keep(c: Constraint) -> bool:
        return scope(c.table) and c.table not in missing_tables and not c.inherited

    missing, extra, both = pair(
        [c for c in source.constraints if keep(c) and c.table in dst_tables],
        [c for c in target.constraints if keep(c) and source.table(c.table) is not None],
        lambda c: (c.table, c.name),
    )
    out: list[Difference] = []
    for c in missing:
        key = c.type in (ConstraintType.PRIMARY_KEY, ConstraintType.UNIQUE)
        out.append(
            Difference(
                "constraint",
                f"{c.name} on {c.table}",
                Change.MISSING,
                Severity.WARNING if key else Severity.INFO,
                f"production has {_CON_WORDS[c.type]} {c.definition}, QA does not",
                "copies data; QA does not enforce it",
                (ddl.add_constraint(c),),
                table=c.table,
            )
        )
    for c in extra:
        out.append(
            Difference(
                "constraint",
                f"{c.name} on {c.table}",
                Change.EXTRA,
                Severity.WARNING,
                f"QA has {_CON_WORDS[c.type]} {c.definition}, production does not",
                _extra_constraint_words(c),
                (ddl.drop_constraint(c),),
                drops=True,
                table=c.table,
            )
        )
    for s, t in both:
        if norm(s.definition) != norm(t.definition) or s.type != t.type:
            out.append(
                Difference(
                    "constraint",
                    f"{s.name} on {s.table}",
                    Change.CHANGED,
                    Severity.WARNING,
                    f"{s.definition} in production, {t.definition} in QA",
                    _extra_constraint_words(t),
                    (ddl.drop_constraint(t), ddl.add_constraint(s)),
                    table=s.table,
                )
            )
    return out


def _extra_constraint_words(c: Constraint) -> str:
    if c.type is ConstraintType.FOREIGN_KEY:
        return "validates it after the load: production rows it rejects are reported"
    return "a production row it rejects stops the copy of this table"


def indexes(
    source: Catalog, target: Catalog, scope: Scope, missing_tables: set[Name]
) -> list[Difference]:
    def own(cat: Catalog, other: Catalog) -> list[Any]:
        return [
            i
            for i in cat.indexes
            if scope(i.table)
            and i.table not in missing_tables
            and other.table(i.table)
            and not (i.constraint or i.in_partitioned)
        ]

    missing, extra, both = pair(
        own(source, target), own(target, source), lambda i: (i.table, i.name)
    )
    out: list[Difference] = []
    for i in missing:
        out.append(
            Difference(
                "index",
                f"{Name(i.table.schema, i.name)} on {i.table}",
                Change.MISSING,
                Severity.WARNING if i.unique else Severity.INFO,
                f"production has {i.definition}, QA does not",
                "copies data; queries in QA may be slower"
                + (", and duplicates are not refused" if i.unique else ""),
                (ddl.create_index(i),),
                table=i.table,
            )
        )
    for i in extra:
        out.append(
            Difference(
                "index",
                f"{Name(i.table.schema, i.name)} on {i.table}",
                Change.EXTRA,
                Severity.WARNING if i.unique else Severity.INFO,
                f"QA has {i.definition}, production does not",
                "sets it aside during the load and builds it again"
                + ("; production duplicates stop that" if i.unique else ""),
                (ddl.drop_index(i),),
                table=i.table,
            )
        )
    for s, t in both:
        if norm(s.definition) != norm(t.definition):
            out.append(
                Difference(
                    "index",
                    f"{Name(s.table.schema, s.name)} on {s.table}",
                    Change.CHANGED,
                    Severity.INFO,
                    f"{s.definition} in production, {t.definition} in QA",
                    "copies data either way",
                    (ddl.drop_index(t), ddl.create_index(s)),
                    table=s.table,
                )
            )
    return out


def triggers(
    source: Catalog, target: Catalog, scope: Scope, missing_tables: set[Name]
) -> list[Difference]:
    def own(cat: Catalog, other: Catalog) -> list[Any]:
        return [
            t
            for t in cat.triggers
            if scope(t.table)
            and t.table not in missing_tables
            and other.table(t.table)
            and not t.is_clone
        ]

    missing, extra, both = pair(
        own(source, target), own(target, source), lambda t: (t.table, t.name)
    )
    out: list[Difference] = []
    for t in missing:
        out.append(
            Difference(
                "trigger",
                f"{t.name} on {t.table}",
                Change.MISSING,
                Severity.WARNING,
                "production has this trigger, QA does not",
                "copies data (triggers do not fire during the load); in QA it never fires",
                tuple(ddl.create_trigger(t)),
                table=t.table,
            )
        )
    for t in extra:
        out.append(
            Difference(
                "trigger",
                f"{t.name} on {t.table}",
                Change.EXTRA,
                Severity.WARNING,
                "QA has this trigger, production does not",
                "keeps it from firing during the load; it fires for new rows",
                (ddl.drop_trigger(t),),
                table=t.table,
            )
        )
    for s, t in both:
        if norm(s.definition) != norm(t.definition) or s.is_enabled != t.is_enabled:
            out.append(
                Difference(
                    "trigger",
                    f"{s.name} on {s.table}",
                    Change.CHANGED,
                    Severity.WARNING,
                    "its definition or state differs",
                    "copies data either way",
                    (ddl.drop_trigger(t), *ddl.create_trigger(s)),
                    table=s.table,
                )
            )
    return out
