"""``[mask] strict = true``: masking fails closed (issue 14, point 4).

Before anything is written, every copied column needs a rule (an explicit
``keep`` counts) when either

- its name and type say it holds personal data (:func:`pgferry.pii.names.match`,
  the same judgement ``pgferry pii scan`` prints as "name looks like ..."), or
- production has it and QA does not yet (a new column, or every column of a new
  table): added after the rules were last brought up to date, and nobody has
  looked at it.

Columns that foreign keys make follow a masked column count as covered.
"""

from __future__ import annotations

from typing import Any

import psycopg

from ..catalog import Catalog, Generated, Name, RelKind
from ..errors import ConfigError
from ..pii.names import match
from ..pii.scanner import table_findings
from ..plan import Plan
from .masking import Found, Rules, Strict, leaves, resolved
from .pipeline import Check


def _named(rules: Rules, source: Catalog, copied: set[Name]) -> set[tuple[Name, str]]:
    """Every column a rule names (``keep`` included), a parent's rules reaching the
    partitions or inheritance children that hold its rows."""
    out = set()
    for table, columns in resolved(rules, source).items():
        for holder in (table, *leaves(source, table, copied)):
            out |= {(holder, c) for c in columns}
    return out


def strict_check(rules: Rules) -> Strict:
    """The strict hook for :func:`pgferry.refresh.masking.masking`."""

    def check(plan: Plan, source: Catalog, target: Catalog, found: Found) -> None:
        named = _named(rules, source, {tp.source for tp in plan.tables})
        covered = named | set(found)
        uncovered: list[tuple[Name, str, str]] = []
        for problem in plan.problems:  # a table QA lacks yet: a push creates it, all new
            new = source.table(problem.table) if problem.table is not None else None
            if new is None or not new.has_data or target.table(new.name) is not None:
                continue
            uncovered += [
                (new.name, c.name, "its table is new in production (QA lacks it)")
                for c in new.columns
                if (new.name, c.name) not in covered and c.generated is Generated.NONE
            ]
        for tp in plan.tables:
            table = source.table(tp.source)
            if table is None:
                continue
            qa = target.table(tp.target)
            theirs = {c.name for c in qa.columns} if qa is not None else None
            for column in table.columns:
                computed = column.generated is not Generated.NONE and column.name not in tp.columns
                if (tp.source, column.name) in covered or computed:
                    continue
                if theirs is not None and column.name not in theirs:  # a push will copy it
                    uncovered.append(
                        (tp.source, column.name, "it is new in production (QA lacks it)")
                    )
                elif column.name not in tp.columns:
                    continue
                elif (m := match(tp.source.name, column.name, column.base_type.name)) is not None:
                    uncovered.append((tp.source, column.name, f"its {m.pattern}"))
        if uncovered:
            first, name, why = uncovered[0]
            more = f" (and {len(uncovered) - 1} more)" if len(uncovered) > 1 else ""
            listed = ", ".join(f"{t}.{c}" for t, c, _ in uncovered[:8])
            raise ConfigError(
                f"[mask] strict: {first}.{name} has no masking rule, and {why}{more}: {listed}",
                hint=f'add a rule for each under [mask."{first}"], or {name} = "keep" to copy '
                "it as it is; pgferry pii scan prints rules to paste. QA was not written",
            )

    return check


#: values sampled a column by strict mode's check of what the values say
VALUE_SAMPLE = 200


def strict_values(rules: Rules, sample: int = VALUE_SAMPLE) -> Check:
    """Strict mode's second half, run on production's snapshot session: a column
    whose sampled values ``pgferry pii scan`` would call personal (emails in a
    column named ``contact``) needs a rule too."""
    given = {table: list(columns) for table, columns in rules.items()}

    def check(conn: psycopg.Connection[Any], plan: Plan, source: Catalog) -> None:
        planned = {tp.source: tp for tp in plan.tables}
        covered = _named(rules, source, set(planned))
        covered |= {(tp.source, c) for tp in plan.tables for c, _ in tp.masked}
        for table in source.tables:
            if table.kind not in (RelKind.TABLE, RelKind.PARTITIONED) or table.is_partition:
                continue
            copied = planned.get(table.name)
            if copied is None and not leaves(source, table.name, set(planned)):
                continue
            for f in table_findings(conn, source, table, sample, given):
                if f.has_rule or (f.table, f.column) in covered:
                    continue
                if copied is not None and f.column not in copied.columns:
                    continue
                evidence = "; ".join(str(s) for s in f.shares) or f.pattern or "its values"
                raise ConfigError(
                    f"[mask] strict: {f.table}.{f.column} has no masking rule, and a sample of "
                    f"its values says it is personal ({evidence})",
                    hint=f'add a rule under [mask."{f.table}"] (e.g. {f.column} = "{f.kind}"), '
                    f'or {f.column} = "keep"; QA was not written',
                )

    return check


__all__ = ["VALUE_SAMPLE", "strict_check", "strict_values"]
