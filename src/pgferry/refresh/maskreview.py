"""``pgferry mask check`` and ``pgferry mask preview``: the rules tried against
production alone, without QA and without copying (issue 14, point 7).

Both read production under one read-only snapshot and plan the copy as if QA
had production's schema; the plan then goes through the same masking shaper,
strict mode and sample check a ``migrate`` runs, so what passes here passes
there (QA's own schema aside: ``pgferry preflight`` checks that).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..catalog import Catalog, Name
from ..endpoints import Endpoint
from ..errors import ConfigError
from ..plan import Plan, TablePlan, build_plan
from .maskcheck import SAMPLE_ROWS, masked_rows
from .masking import Rules, resolved
from .masksteps import mask_steps
from .snapshot import Snapshot


@dataclass(frozen=True)
class MaskedTable:
    """One table a run masks: its masked columns and their kinds."""

    table: Name
    masked: tuple[tuple[str, str], ...]
    followed: tuple[str, ...]  # masked because a foreign key points at a masked column

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": str(self.table),
            "masked": [{"column": c, "kind": k} for c, k in self.masked],
            "followed": list(self.followed),
        }


@dataclass(frozen=True)
class Review:
    """What ``mask check`` found: every masked table, and the rows sampled."""

    source: str
    tables: tuple[MaskedTable, ...]
    sampled: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "ok": True,
            "sampled_rows_per_table": self.sampled,
            "tables": [t.to_dict() for t in self.tables],
        }


@dataclass(frozen=True)
class Preview:
    """Masked rows of one table, as QA would get them."""

    table: Name
    columns: tuple[str, ...]
    masked: tuple[str, ...]
    rows: tuple[tuple[str | None, ...], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": str(self.table),
            "columns": list(self.columns),
            "masked": list(self.masked),
            "rows": [list(r) for r in self.rows],
        }


def _planned(
    snap: Snapshot,
    rules: Rules,
    *,
    key_env: str,
    strict: bool,
    sample: int,
    environ: Mapping[str, str] | None,
    scope: Mapping[str, Sequence[str]],
    large_objects: bool = True,
) -> tuple[Plan, Catalog]:
    if not rules and not strict:
        raise ConfigError(
            "there are no masking rules to check",
            hint='add [mask."TABLE"] sections to pgferry.toml; pgferry pii scan suggests them',
        )
    steps = mask_steps(
        rules,
        key_env=key_env,
        strict=strict,
        sample=sample,
        environ=environ,
        large_objects=large_objects,
    )
    catalog = snap.catalog()
    plan = build_plan(catalog, catalog, **scope)
    for shape in steps.shapers:
        plan = shape(plan, catalog, catalog)
    for check in steps.checks:
        check(snap.conn, plan, catalog)
    return plan, catalog


def review(
    source: Endpoint,
    rules: Rules,
    *,
    key_env: str,
    strict: bool = False,
    sample: int = SAMPLE_ROWS,
    environ: Mapping[str, str] | None = None,
    tables: Sequence[str] = (),
    exclude: Sequence[str] = (),
    schemas: Sequence[str] = (),
    large_objects: bool = True,
) -> Review:
    """Check *rules* against production's catalog and a sample of its rows: raises
    :class:`~pgferry.errors.ConfigError` naming the first rule that would fail.
    *large_objects*: whether the migrate copies them (strict mode refuses that)."""
    scope = {"tables": tables, "exclude": exclude, "schemas": schemas}
    with Snapshot(source) as snap:
        plan, catalog = _planned(
            snap,
            rules,
            key_env=key_env,
            strict=strict,
            sample=sample,
            environ=environ,
            scope=scope,
            large_objects=large_objects,
        )
    named = resolved(rules, catalog)
    out = [
        MaskedTable(
            tp.source,
            tp.masked,
            tuple(c for c, _ in tp.masked if c not in named.get(tp.source, {})),
        )
        for tp in plan.tables
        if tp.masked
    ]
    return Review(source.describe(), tuple(out), sample)


def _find(plan: Plan, table: str) -> TablePlan:
    schema, dot, name = table.rpartition(".")
    found = [
        tp
        for tp in plan.tables
        if tp.source.name == name and (not dot or tp.source.schema == schema)
    ]
    if len(found) != 1:
        said = "several schemas have it" if found else "this run does not copy it"
        raise ConfigError(f"cannot preview {table}: {said}", hint="name it as schema.table")
    return found[0]


def preview(
    source: Endpoint,
    rules: Rules,
    table: str,
    *,
    key_env: str,
    limit: int = 5,
    environ: Mapping[str, str] | None = None,
) -> Preview:
    """*limit* rows of *table* after masking; production's raw rows never leave here."""
    with Snapshot(source) as snap:
        plan, _ = _planned(
            snap, rules, key_env=key_env, strict=False, sample=0, environ=environ, scope={}
        )
        tp = _find(plan, table)
        if not tp.masked:
            raise ConfigError(
                f"no masking rule covers {tp.source}: a preview shows masked rows only",
                hint=f'add rules under [mask."{tp.source}"] first',
            )
        sampled = masked_rows(snap.conn, tp, limit)
    return Preview(tp.source, tp.columns, tuple(c for c, _ in tp.masked), sampled.rows)


__all__ = ["MaskedTable", "Preview", "Review", "preview", "review"]
