"""What a schema comparison finds: :class:`Difference` and :class:`SchemaDiff`.

Each :class:`Difference` says what differs, how much it matters to a data
copy (:class:`Severity`: blocking, warning, info), what ``pgferry migrate``
does about it, and the statements ``pgferry schema push`` would run to make
QA match production (``fix``); ``drops`` marks a fix that drops or narrows
data, which runs only with ``--allow-drop``; ``refused`` says why a
difference has no automatic fix.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from ..catalog import (
    Name,
    Table,
)
from ..plan import OWN_SCHEMA, Severity
from . import ddl
from .ddl import Step


class Change(StrEnum):
    MISSING = "missing"  # in production, not in QA
    EXTRA = "extra"  # in QA only
    CHANGED = "changed"


@dataclass(frozen=True)
class Difference:
    kind: str  # 'table', 'column', 'enum label', ...
    name: str  # the object, written as SQL writes it
    change: Change
    severity: Severity
    detail: str  # what differs, in words
    migrate: str  # what pgferry migrate does about it
    fix: tuple[Step, ...] = ()
    drops: bool = False  # the fix drops or narrows data: only with --allow-drop
    refused: str | None = None  # why schema push will not fix it
    table: Name | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "change": self.change.value,
            "severity": self.severity.value,
            "detail": self.detail,
            "migrate": self.migrate,
            "fix": [s.text() for s in ddl.ordered(list(self.fix))],
            "drops": self.drops,
            "refused": self.refused,
        }


#: The order kinds are listed in.
KINDS = (
    "schema",
    "extension",
    "enum",
    "enum label",
    "domain",
    "composite type",
    "sequence",
    "function",
    "table",
    "column",
    "view",
    "materialized view",
    "constraint",
    "index",
    "trigger",
)


@dataclass(frozen=True)
class SchemaDiff:
    """Every difference between production's schema and QA's, each classed."""

    differences: tuple[Difference, ...]
    source: str = ""  # 'PostgreSQL 18.1, database app'
    target: str = ""
    #: 'exact' (production's schema restored on QA's server, compared there), 'across
    #: servers' (the less exact mode), or '' (the two catalogs only)
    mode: str = ""
    notes: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.differences)

    def actionable(self, *, strict: bool = False) -> bool:
        """Whether something is to be acted on: a blocking or warning difference (with
        *strict*, an informational one too): what ``--exit-code`` tells."""
        return any(strict or d.severity is not Severity.INFO for d in self.differences)

    def of(self, severity: Severity) -> list[Difference]:
        return [d for d in self.differences if d.severity is severity]

    @property
    def blocking(self) -> list[Difference]:
        return self.of(Severity.BLOCKING)

    def grouped(self) -> dict[str, list[Difference]]:
        groups: dict[str, list[Difference]] = {k: [] for k in KINDS}
        for d in self.differences:
            groups.setdefault(d.kind, []).append(d)
        return {k: v for k, v in groups.items() if v}

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "mode": self.mode,
            "notes": list(self.notes),
            "counts": {s.value: len(self.of(s)) for s in Severity},
            "differences": [d.to_dict() for d in self.differences],
        }


T = TypeVar("T")
K = TypeVar("K")


def pair(
    source: Iterable[T], target: Iterable[T], key: Callable[[T], K]
) -> tuple[list[T], list[T], list[tuple[T, T]]]:
    """(only in source, only in target, in both) by *key*, in source order."""
    s = {key(x): x for x in source}
    t = {key(x): x for x in target}
    return (
        [v for k, v in s.items() if k not in t],
        [v for k, v in t.items() if k not in s],
        [(v, t[k]) for k, v in s.items() if k in t],
    )


def norm(text: str | None) -> str:
    return " ".join((text or "").split())


QUALIFIER = re.compile(r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)\.(?=["A-Za-z_])')


def same_query(a: Table, b: Table) -> bool:
    """Whether two views say the same, read past how each server version deparses them.

    PostgreSQL 16 stopped qualifying columns of single-table views
    (``"Order".id`` became ``id``): qualifiers are removed from both texts
    before comparing, and the columns (names and types) must match too.
    """
    if [(c.name, c.type) for c in a.columns] != [(c.name, c.type) for c in b.columns]:
        return False
    return QUALIFIER.sub("", norm(a.definition)) == QUALIFIER.sub("", norm(b.definition))


class Scope:
    """Which objects take part: user schemas (or the chosen ones), no extension members."""

    def __init__(self, schemas: Iterable[str]) -> None:
        self.schemas = frozenset(schemas)

    def schema(self, name: str) -> bool:
        return name != OWN_SCHEMA and (not self.schemas or name in self.schemas)

    def __call__(self, name: Name, extension: str | None = None) -> bool:
        return extension is None and self.schema(name.schema)


def only_in_qa(kind: str, name: str, drop: Step, *, table: Name | None = None) -> Difference:
    """An object only QA has, which a copy leaves alone: dropped only with --allow-drop."""
    return Difference(
        kind,
        name,
        Change.EXTRA,
        Severity.INFO,
        f"QA has this {kind}, production does not",
        "leaves it alone",
        (drop,),
        drops=True,
        table=table,
    )
