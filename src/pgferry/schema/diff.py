"""Compare production's and QA's catalogs: every difference, classed, with its fix.

See :mod:`.model` for what a difference holds, :mod:`.objects` and :mod:`.tables`
for the comparisons, :mod:`.ddl` for the statements that fix them.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..catalog import Catalog
from ..plan import Severity
from .model import KINDS, Change, Difference, SchemaDiff, Scope
from .objects import domains_and_composites, enums, extensions, functions, namespaces, sequences
from .tables import column_differences, constraints, indexes, relations, triggers

__all__ = ["Change", "Difference", "SchemaDiff", "column_differences", "diff"]


def diff(source: Catalog, target: Catalog, *, schemas: Iterable[str] = ()) -> SchemaDiff:
    """Every difference between production (*source*) and QA (*target*)."""
    scope = Scope(schemas)
    out: list[Difference] = []
    out += namespaces(source, target, scope)
    out += extensions(source, target)
    out += enums(source, target, scope)
    out += domains_and_composites(source, target, scope)
    out += sequences(source, target, scope)
    out += functions(source, target, scope)
    missing = relations(source, target, scope, out)
    out += constraints(source, target, scope, missing)
    out += indexes(source, target, scope, missing)
    out += triggers(source, target, scope, missing)
    order = {k: i for i, k in enumerate(KINDS)}
    rank = {s: i for i, s in enumerate(Severity)}
    out.sort(key=lambda d: (rank[d.severity], order.get(d.kind, 99), d.name))
    return SchemaDiff(
        tuple(out),
        f"PostgreSQL {source.server_version.split()[0]}, database {source.database}",
        f"PostgreSQL {target.server_version.split()[0]}, database {target.database}",
    )
