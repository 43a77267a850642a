"""Masking as a plan shaper (issue 14): each masked table is read as COPY text and
its rows pass through :func:`pgferry.masking.rewrite.rewriter` on the way to QA.

Production is only read; the masks are computed in this process from a key
that never goes to either server, so it cannot appear in their logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from ..catalog import Catalog, ConstraintType, Name
from ..errors import ConfigError
from ..masking import Keyed
from ..masking.fakes import KINDS, fake
from ..masking.rewrite import rewriter
from ..plan import Plan
from .pipeline import Shaper


def _resolve(rules: Mapping[str, Mapping[str, str]], source: Catalog) -> dict[Name, dict[str, str]]:
    """The rules by production's table: a name without a schema is the table of that
    name in any schema, as ``[migrate] tables`` reads it (ambiguous: an error)."""
    out: dict[Name, dict[str, str]] = {}
    for text, columns in rules.items():
        schema, dot, table = text.rpartition(".")
        found = [
            t.name
            for t in source.tables
            if t.name.name == table and (not dot or t.name.schema == schema)
        ]
        if len(found) > 1:
            raise ConfigError(
                f"masking names {text}, which is a table in several schemas: "
                + ", ".join(str(n) for n in found),
                hint='qualify the name in pgferry.toml, e.g. [mask."' + str(found[0]) + '"]',
            )
        out[found[0] if found else Name(schema if dot else "public", table)] = dict(columns)
    return out


def _follow_keys(
    wanted: Mapping[Name, Mapping[str, str]], source: Catalog, copied: set[Name]
) -> dict[tuple[Name, str], str]:
    """The rules with every column a foreign key points from a masked column added,
    with the same kind, so the keys still join in QA; a key whose two ends would
    be masked differently (or only its referencing end) stops the run."""
    kinds = {(t, c): k for t, columns in wanted.items() for c, k in columns.items()}
    keys = [c for c in source.constraints if c.type is ConstraintType.FOREIGN_KEY and c.ref_table]
    changed = True
    while changed:
        changed = False
        for fk in keys:
            assert fk.ref_table is not None
            for column, ref in zip(fk.columns, fk.ref_columns, strict=True):
                theirs = kinds.get((fk.ref_table, ref))
                ours = kinds.get((fk.table, column))
                if theirs is not None and ours is None and fk.table in copied:
                    kinds[(fk.table, column)] = theirs
                    changed = True
                elif ours is not None and ours != theirs:
                    said = f"masked as {theirs}" if theirs else "not masked"
                    raise ConfigError(
                        f"masking {fk.table}.{column} as {ours} breaks foreign key {fk.name}: "
                        f"{fk.ref_table}.{ref}, which it references, is {said}",
                        hint=f"mask {fk.ref_table}.{ref} as {ours} (its referencing "
                        "columns follow it), or drop the rule",
                    )
    return kinds


def masking(key: Keyed, rules: Mapping[str, Mapping[str, str]]) -> Shaper:
    """A shaper masking, per table (``"public.users"`` or ``"users"``), each column
    with its kind (``{"users": {"email": "email"}}``).  A table, column or kind that
    does not exist stops the run before anything is written.  Columns that reference
    a masked column through a foreign key are masked with it."""
    for table, columns in rules.items():
        for column, kind in columns.items():
            if kind not in KINDS:
                raise ConfigError(
                    f"masking {table}.{column}: there is no kind {kind!r}",
                    hint="kinds: " + ", ".join(sorted(KINDS)),
                )

    def shape(plan: Plan, source: Catalog, target: Catalog) -> Plan:
        planned = {tp.source: tp for tp in plan.tables}
        wanted = _resolve(rules, source)
        for table, columns in wanted.items():
            tp = planned.get(table)
            if tp is None:
                found = source.table(table) is not None
                raise ConfigError(
                    f"masking names {table}, which "
                    + ("this run does not copy" if found else "production does not have"),
                    hint="fix the table's name in the masking rules, or copy the table",
                )
            missing = [c for c in columns if c not in tp.columns]
            if missing:
                raise ConfigError(
                    f"masking names column {missing[0]} of {table}, which is not copied",
                    hint="copied columns: " + ", ".join(tp.columns),
                )
        by_table: dict[Name, dict[str, str]] = {}
        for (table, column), kind in _follow_keys(wanted, source, set(planned)).items():
            by_table.setdefault(table, {})[column] = kind
        for table, columns in by_table.items():
            tp = planned[table]
            left = [c for c in columns if c not in tp.columns]
            if left:  # a key column QA computes itself: masking cannot reach it
                raise ConfigError(f"cannot mask {table}.{left[0]}: it is not copied")
            fakes = {column: fake(kind, key) for column, kind in columns.items()}
            planned[table] = replace(
                tp,
                binary=False,
                masked=tuple(columns.items()),
                rewrite=rewriter(tp.columns, fakes),
            )
        return replace(plan, tables=tuple(planned[tp.source] for tp in plan.tables))

    return shape


def mark_masked(plan: Plan, rules: Mapping[str, Mapping[str, str]], source: Catalog) -> Plan:
    """*plan* with each table's masked columns named, foreign keys followed, and no
    rewriting: what ``verify`` needs, without the key."""
    copied = {tp.source for tp in plan.tables}
    by_table: dict[Name, list[tuple[str, str]]] = {}
    for (table, column), kind in _follow_keys(_resolve(rules, source), source, copied).items():
        by_table.setdefault(table, []).append((column, kind))
    tables = tuple(replace(tp, masked=tuple(by_table.get(tp.source, ()))) for tp in plan.tables)
    return replace(plan, tables=tables)


__all__ = ["mark_masked", "masking"]
