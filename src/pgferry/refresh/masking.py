"""Masking as a plan shaper (issue 14): each masked table is read as COPY text and
its rows pass through :func:`pgferry.mask.rewrite.rewriter` on the way to QA.

Production is only read; the masks are computed in this process from a key
that never goes to either server, so it cannot appear in their logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from ..catalog import Catalog, Name
from ..errors import ConfigError
from ..mask import Keyed
from ..mask.fakes import KINDS, fake
from ..mask.rewrite import rewriter
from ..plan import Plan
from .pipeline import Shaper


def _name(text: str) -> Name:
    schema, dot, table = text.rpartition(".")
    return Name(schema if dot else "public", table)


def masking(key: Keyed, rules: Mapping[str, Mapping[str, str]]) -> Shaper:
    """A shaper masking, per table (``"public.users"`` or ``"users"``), each column
    with its kind (``{"users": {"email": "email"}}``).  A table, column or kind that
    does not exist stops the run before anything is written."""
    wanted = {_name(table): dict(columns) for table, columns in rules.items()}
    for table, columns in wanted.items():
        for column, kind in columns.items():
            if kind not in KINDS:
                raise ConfigError(
                    f"masking {table}.{column}: there is no kind {kind!r}",
                    hint="kinds: " + ", ".join(sorted(KINDS)),
                )

    def shape(plan: Plan, source: Catalog, target: Catalog) -> Plan:
        planned = {tp.source: tp for tp in plan.tables}
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
            fakes = {column: fake(kind, key) for column, kind in columns.items()}
            planned[table] = replace(
                tp,
                binary=False,
                masked=tuple(columns.items()),
                rewrite=rewriter(tp.columns, fakes),
            )
        return replace(plan, tables=tuple(planned[tp.source] for tp in plan.tables))

    return shape


__all__ = ["masking"]
