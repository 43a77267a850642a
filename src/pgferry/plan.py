"""Decide what a refresh copies, how, and whether it can run at all.

:func:`build_plan` compares production's and QA's catalogs and returns a
:class:`Plan`: the tables to copy (with the column mapping and whether binary
COPY is safe), what will be truncated, the materialized views to refresh, and
every problem found.  Nothing is written until a plan has no blocking problem.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from graphlib import CycleError, TopologicalSorter
from typing import Any

from psycopg import sql

from .casts import Cast, CastKind, make_cast
from .casts import note as cast_note
from .catalog import Catalog, Column, Generated, Name, RelKind, Table
from .errors import ConfigError, SchemaMismatch

#: Tables never copied unless named with --tables: Prisma's migration history
#: describes QA's schema, not production's data (copy it only with the schema).
DEFAULT_EXCLUDES = ("*._prisma_migrations",)
#: pgferry's own schema (its journal) is never copied, whatever the patterns.
OWN_SCHEMA = "pgferry"


class Severity(StrEnum):
    BLOCKING = "blocking"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Problem:
    severity: Severity
    table: Name | None
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Transform:
    """A column's value replaced on its way to QA (masking): *expression*, which
    production's server evaluates over the row in place of the column, yielding a
    value of QA's type.  Its text is sent to production: never put a secret in it."""

    column: str
    expression: sql.Composable
    #: what it does, for the plan and the report ("email masked")
    note: str = ""


@dataclass(frozen=True)
class TablePlan:
    """One COPY stream: rows of ``source`` into ``target``."""

    source: Name
    target: Name
    columns: tuple[str, ...]  # copied, in order; generated columns left to QA
    binary: bool
    only: bool  # read with ONLY (an inheritance parent's own rows)
    estimated_rows: int
    estimated_bytes: int
    note: str = ""
    casts: tuple[Cast, ...] = ()  # copied columns whose type differs in QA
    key: tuple[str, ...] = ()  # production's primary key, to name a row that fails
    #: columns whose values are replaced on the way (see :class:`Transform`)
    transforms: tuple[Transform, ...] = ()
    #: which rows are copied (subsetting): a condition production evaluates over the
    #: row; ``None``: every row
    row_filter: sql.Composable | None = None
    #: what the filter keeps, for the plan and the report
    filter_note: str = ""
    #: masked columns and their kind (issue 14), for the plan and the report
    masked: tuple[tuple[str, str], ...] = ()
    #: applied to every COPY text row between production and QA (masking); a plan
    #: with one reads this table as text
    rewrite: Callable[[bytes], bytes] | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": str(self.source),
            "target": str(self.target),
            "columns": list(self.columns),
            "format": "binary" if self.binary else "text",
            "estimated_rows": self.estimated_rows,
            "estimated_bytes": self.estimated_bytes,
            "note": self.note,
            "casts": [
                {"column": c.column, "from": c.source_type, "to": c.target_type, "kind": c.kind}
                for c in self.casts
            ],
            "transforms": [{"column": t.column, "note": t.note} for t in self.transforms],
            "row_filter": self.filter_note or (None if self.row_filter is None else "filtered"),
            "masked": [{"column": c, "kind": k} for c, k in self.masked],
        }


@dataclass(frozen=True)
class Plan:
    tables: tuple[TablePlan, ...]  # in load order: parents before children where acyclic
    truncate: tuple[Name, ...]  # QA tables emptied, exactly these
    refresh: tuple[Name, ...]  # materialized views refreshed after the load
    skipped: tuple[tuple[Name, str], ...]
    problems: tuple[Problem, ...] = field(default=())
    #: signs that the target is production, not QA (see pgferry.swapped): shown before
    #: the confirmation prompt, which the user answers by typing the database's name
    cautions: tuple[str, ...] = field(default=())

    @property
    def blocking(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.BLOCKING]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.WARNING]

    @property
    def estimated_rows(self) -> int:
        return sum(t.estimated_rows for t in self.tables)

    @property
    def estimated_bytes(self) -> int:
        return sum(t.estimated_bytes for t in self.tables)

    def raise_if_blocked(self, hint: str | None = None) -> None:
        if not self.blocking:
            return
        lines = "; ".join(str(p) for p in self.blocking[:5])
        more = f" (and {len(self.blocking) - 5} more)" if len(self.blocking) > 5 else ""
        raise SchemaMismatch(
            f"QA's schema does not fit production's, nothing was written: {lines}{more}",
            hint=hint
            or "bring QA's schema up to date (pgferry schema push, or your framework's "
            "migrations), or leave those tables out with --exclude",
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "cautions": list(self.cautions),
            "tables": [t.to_dict() for t in self.tables],
            "truncate": [str(n) for n in self.truncate],
            "refresh": [str(n) for n in self.refresh],
            "skipped": [{"table": str(n), "reason": r} for n, r in self.skipped],
            "problems": [
                {
                    "severity": p.severity.value,
                    "table": str(p.table) if p.table else None,
                    "message": p.message,
                }
                for p in self.problems
            ],
            "estimated_rows": self.estimated_rows,
            "estimated_bytes": self.estimated_bytes,
        }


# -- selection ----------------------------------------------------------------


def _matches(name: Name, patterns: Iterable[str]) -> bool:
    qualified = f"{name.schema}.{name.name}"
    return any(
        fnmatch.fnmatchcase(qualified, p) or ("." not in p and fnmatch.fnmatchcase(name.name, p))
        for p in patterns
    )


def _named(name: Name, patterns: Iterable[str]) -> bool:
    """Whether a pattern names the table exactly, without wildcards."""
    return any(
        not any(ch in p for ch in "*?[") and p in (name.name, f"{name.schema}.{name.name}")
        for p in patterns
    )


def select_tables(
    catalog: Catalog,
    *,
    tables: Sequence[str] = (),
    exclude: Sequence[str] = (),
    schemas: Sequence[str] = (),
) -> tuple[list[Table], list[tuple[Name, str]]]:
    """Production's relations in scope, and the ones left out with the reason."""
    chosen: list[Table] = []
    skipped: list[tuple[Name, str]] = []
    for t in catalog.tables:
        if t.name.schema == OWN_SCHEMA or (schemas and t.name.schema not in schemas):
            continue
        if t.extension:
            skipped.append((t.name, f"belongs to extension {t.extension}"))
            continue
        if tables and not _matches(t.name, tables):
            continue
        if _matches(t.name, exclude):
            skipped.append((t.name, "excluded"))
            continue
        if _matches(t.name, DEFAULT_EXCLUDES) and not _named(t.name, tables):
            skipped.append(
                (t.name, "migration history: copied only with the schema, or when named exactly")
            )
            continue
        if t.kind is RelKind.VIEW:
            skipped.append((t.name, "view: nothing to copy"))
            continue
        if t.kind is RelKind.FOREIGN:
            skipped.append((t.name, "foreign table: its data lives elsewhere"))
            continue
        chosen.append(t)
    return chosen, skipped


def empty_selection(
    plan: Plan,
    source: Catalog,
    *,
    tables: Sequence[str] = (),
    exclude: Sequence[str] = (),
    schemas: Sequence[str] = (),
) -> ConfigError | None:
    """The error for a selection (--tables, --exclude, --schema) that leaves nothing to
    copy: a run would pass vacuously, after a backup, and move sequences it never fed."""
    if not (tables or exclude or schemas) or plan.tables or plan.refresh or plan.blocking:
        return None
    given = [f"--tables {p!r}" for p in tables] + [f"--schema {s!r}" for s in schemas]
    given += [f"--exclude {p!r}" for p in exclude]
    existing = [t.name for t in source.tables if t.name.schema != OWN_SCHEMA and not t.extension]
    shown = ", ".join(str(n) for n in existing[:5]) or "none"
    more = f" and {len(existing) - 5} more" if len(existing) > 5 else ""
    return ConfigError(
        f"{' '.join(given)} matches no table of production to copy: nothing was written",
        hint=f"production's tables include {shown}{more}; patterns match 'schema.table' or "
        "'table' (case-sensitive, * and ? as wildcards)",
    )


# -- column mapping -------------------------------------------------------------


def _binary_safe(column: Column) -> bool:
    """Binary COPY sends type OIDs inside arrays and composites: built-in types only."""
    return column.type_name.schema == "pg_catalog" or column.type_kind == "e"


def _map_columns(
    src: Table, dst: Table, source: Catalog, target: Catalog, problems: list[Problem]
) -> tuple[tuple[str, ...], bool, tuple[Cast, ...]]:
    columns: list[str] = []
    casts: list[Cast] = []
    binary = bool(dst.columns)
    src_cols = {c.name: c for c in src.columns}
    dst_cols = {c.name: c for c in dst.columns}
    for name in src_cols:
        if name not in dst_cols:
            problems.append(
                Problem(Severity.BLOCKING, src.name, f"column {src.name}.{name} is missing in QA")
            )
    for d in dst.columns:
        s = src_cols.get(d.name)
        if d.generated is not Generated.NONE:
            continue  # QA computes it
        if s is None:
            if d.not_null and d.default is None and d.identity.value == "":
                problems.append(
                    Problem(
                        Severity.BLOCKING,
                        dst.name,
                        f"QA column {dst.name}.{d.name} is NOT NULL without a default "
                        "and production has no such column",
                    )
                )
            else:
                problems.append(
                    Problem(
                        Severity.WARNING,
                        dst.name,
                        f"QA column {dst.name}.{d.name} is not in production: it gets "
                        f"{'its default' if d.default or d.identity.value else 'NULL'}",
                    )
                )
            continue
        if s.type != d.type:
            cast = make_cast(s, d)
            if cast.kind is CastKind.UNSAFE:
                problems.append(
                    Problem(
                        Severity.BLOCKING,
                        dst.name,
                        f"{dst.name}.{d.name} is {s.type} in production but {d.type} in QA",
                    )
                )
                continue
            problems.append(
                Problem(
                    Severity.WARNING,
                    dst.name,
                    f"{dst.name}.{d.name} is {s.type} in production and {d.type} in QA: "
                    f"{cast_note(s, d)}",
                )
            )
            casts.append(cast)
            binary = binary and cast.explicit
        if not (_binary_safe(s) and _binary_safe(d)):
            binary = False
        columns.append(d.name)
    _check_enums(src, dst, source, target, columns, problems)
    return tuple(columns), binary, tuple(casts)


def _check_enums(
    src: Table,
    dst: Table,
    source: Catalog,
    target: Catalog,
    columns: Sequence[str],
    problems: list[Problem],
) -> None:
    src_enums = {e.name: e for e in source.enums}
    dst_enums = {e.name: e for e in target.enums}
    for name in columns:
        s, d = src.column(name), dst.column(name)
        if s is None or d is None:
            continue
        # a domain over an enum stores the enum: look through it
        dst_base = d.base_type if d.type_kind == "d" else d.type_name
        src_base = s.base_type if s.type_kind == "d" else s.type_name
        type_name = Name(dst_base.schema, dst_base.name.removeprefix("_"))
        src_type = Name(src_base.schema, src_base.name.removeprefix("_"))
        if type_name not in dst_enums or src_type not in src_enums:
            continue
        lacking = [lb for lb in src_enums[src_type].labels if lb not in dst_enums[type_name].labels]
        if lacking:
            problems.append(
                Problem(
                    Severity.BLOCKING,
                    dst.name,
                    f"enum {type_name} in QA lacks label{'s' if len(lacking) > 1 else ''} "
                    f"{', '.join(repr(x) for x in lacking)} used by {dst.name}.{name}",
                )
            )


# -- the plan -------------------------------------------------------------------


def _load_order(tables: list[TablePlan], target: Catalog) -> list[TablePlan]:
    """Parents before children where the foreign keys allow; cycles keep catalog order."""
    names = {t.target for t in tables}
    graph: dict[Name, set[Name]] = {n: set() for n in names}
    for fk in target.foreign_keys():
        if fk.table in names and fk.ref_table in names and fk.ref_table != fk.table:
            graph[fk.table].add(fk.ref_table)
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError:
        return tables
    rank = {n: i for i, n in enumerate(order)}
    return sorted(tables, key=lambda t: rank[t.target])


def build_plan(
    source: Catalog,
    target: Catalog,
    *,
    tables: Sequence[str] = (),
    exclude: Sequence[str] = (),
    schemas: Sequence[str] = (),
) -> Plan:
    """Compare the catalogs and decide every COPY; problems are collected, not raised."""
    chosen, skipped = select_tables(source, tables=tables, exclude=exclude, schemas=schemas)
    problems: list[Problem] = []
    plans: list[TablePlan] = []
    refresh: list[Name] = []
    chosen_names = {t.name for t in chosen}
    for src in chosen:
        dst = target.table(src.name)
        if dst is None:
            if src.is_partition and _root(src, source) in chosen_names:
                continue  # copied through its root
            problems.append(
                Problem(Severity.BLOCKING, src.name, f"table {src.name} does not exist in QA")
            )
            continue
        if src.kind is RelKind.MATVIEW:
            if dst.kind is RelKind.MATVIEW:
                refresh.append(dst.name)
            continue
        if dst.kind not in (RelKind.TABLE, RelKind.PARTITIONED):
            problems.append(
                Problem(
                    Severity.BLOCKING, src.name, f"{src.name} is a {dst.kind.name.lower()} in QA"
                )
            )
            continue
        plan = _table_plan(src, dst, source, target, chosen_names, problems)
        if plan is not None:
            plans.append(plan)
    # TRUNCATE refuses to empty a table that a table outside the list references,
    # a partitioned parent's foreign key included: list the parents whose
    # leaves are all emptied too (exactly what gets emptied either way).
    truncate = covered_tables({p.target for p in plans}, target)
    _check_references(truncate, target, problems)
    return Plan(
        tables=tuple(_load_order(plans, target)),
        truncate=tuple(sorted(truncate)),
        refresh=tuple(refresh),
        skipped=tuple(skipped),
        problems=tuple(problems),
    )


def _table_plan(
    src: Table,
    dst: Table,
    source: Catalog,
    target: Catalog,
    chosen: set[Name],
    problems: list[Problem],
) -> TablePlan | None:
    """The COPY for one production relation, or None when another one covers its rows.

    A partitioned table in production is copied leaf by leaf when QA has the
    same leaves under the same root, otherwise once through its root (QA then
    routes the rows): never both, so no row is copied twice.
    """
    root = _root(src, source)
    if src.kind is RelKind.PARTITIONED:
        if root != src.name or _by_leaves(src, source, target):
            return None
        leaves = _leaves(src, source)
        columns, binary, casts = _map_columns(src, dst, source, target, problems)
        return TablePlan(
            src.name,
            dst.name,
            columns,
            binary,
            only=False,
            estimated_rows=sum(t.estimated_rows for t in leaves),
            estimated_bytes=sum(t.estimated_bytes for t in leaves),
            note="through the partitioned root (QA's partitions differ)",
            casts=casts,
            key=_key(src, source),
        )
    if src.is_partition and root in chosen:
        root_table = source.table(root)
        if root_table is not None and not _by_leaves(root_table, source, target):
            return None  # the root copies it
    columns, binary, casts = _map_columns(src, dst, source, target, problems)
    has_children = src.name in source.inheritance_parents
    note = "partitioned in QA: rows routed by QA" if dst.kind is RelKind.PARTITIONED else ""
    return TablePlan(
        src.name,
        dst.name,
        columns,
        binary,
        only=has_children,
        estimated_rows=src.estimated_rows,
        estimated_bytes=src.estimated_bytes,
        note=note,
        casts=casts,
        key=_key(src, source),
    )


def _key(table: Table, catalog: Catalog) -> tuple[str, ...]:
    """Columns that name one row of *table*: its primary key, else its parent's."""
    for name in (table.name, *catalog.ancestors(table.name)):
        pk = catalog.primary_key(name)
        if pk is not None:
            return pk.columns
    return ()


def _leaves(table: Table, catalog: Catalog) -> list[Table]:
    out: list[Table] = []
    for t in catalog.tables:
        if t.is_partition and table.name in t.parents:
            out += _leaves(t, catalog) if t.kind is RelKind.PARTITIONED else [t]
    return out


def _root(table: Table, catalog: Catalog) -> Name:
    if not table.is_partition:
        return table.name
    ancestors = list(catalog.ancestors(table.name))
    return ancestors[-1] if ancestors else table.name


def _by_leaves(root: Table, source: Catalog, target: Catalog) -> bool:
    """Whether QA's partitions of *root* are exactly production's (same names, same
    parents, same bounds): then each leaf is copied on its own.  Otherwise the rows
    go through the root, whose TRUNCATE also empties any partition QA alone has."""
    leaves = _leaves(root, source)
    qa_root = target.table(root.name)
    qa_leaves = {t.name for t in _leaves(qa_root, target)} if qa_root is not None else set()
    return (
        bool(leaves)
        and qa_leaves == {leaf.name for leaf in leaves}
        and all(_same_leaf(leaf, target) for leaf in leaves)
    )


def _same_leaf(src: Table, target: Catalog) -> bool:
    dst = target.table(src.name)
    return (
        dst is not None
        and dst.is_partition
        and dst.parents == src.parents
        and dst.partition_bound == src.partition_bound
    )


def covered_tables(truncated: set[Name], target: Catalog) -> set[Name]:
    """Every QA table emptied by truncating *truncated*: partitions of a truncated
    root, and a partitioned table all of whose leaves are truncated.  Inheritance
    children are not: tables are truncated with ONLY."""
    covered = set(truncated)
    for t in target.tables:
        if t.is_partition and any(a in truncated for a in target.ancestors(t.name)):
            covered.add(t.name)
    for t in target.tables:
        if t.kind is RelKind.PARTITIONED:
            leaves = _leaves(t, target)
            if leaves and all(leaf.name in covered for leaf in leaves):
                covered.add(t.name)
    return covered


def _check_references(covered: set[Name], target: Catalog, problems: list[Problem]) -> None:
    for fk in target.foreign_keys():
        if fk.ref_table in covered and fk.table not in covered:
            problems.append(
                Problem(
                    Severity.BLOCKING,
                    fk.table,
                    f"{fk.table} is not copied but its foreign key {fk.name} references "
                    f"{fk.ref_table}, which will be emptied; include {fk.table} or exclude "
                    f"{fk.ref_table}",
                )
            )
        elif fk.table in covered and fk.ref_table is not None and fk.ref_table not in covered:
            problems.append(
                Problem(
                    Severity.WARNING,
                    fk.table,
                    f"{fk.table} is copied but {fk.ref_table}, which its foreign key {fk.name} "
                    "references, is not: rows pointing at parents QA lacks fail validation",
                )
            )
