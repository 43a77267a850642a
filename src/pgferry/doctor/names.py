"""Find the table, column, constraint or type a message names, the way Prisma names them.

A message may name a Prisma model (``Order``, or ``order`` from
``prisma.order.create()``), a field (``clientId``), or a constraint with
Prisma's decoration (``Order_clientId_fkey (index)``).  Each is looked up
case-sensitively first, then case-insensitively, then through Prisma's usual
mappings (``@@map("orders")``, ``@map("client_id")``: snake_case and plural).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from ..catalog import Catalog, Column, Constraint, ConstraintType, EnumType, Name, Table
from .messages import split_name

T = TypeVar("T")

HOW = ("exact", "case-insensitive", "Prisma mapping (snake_case or plural)")


@dataclass(frozen=True)
class Found(Generic[T]):
    obj: T
    how: str  # one of HOW

    @property
    def exact(self) -> bool:
        return self.how == HOW[0]


def _squash(name: str) -> str:
    return name.lower().replace("_", "")


def rank(candidate: str, wanted: str) -> int | None:
    """0 exact, 1 same but for case, 2 same under Prisma's mappings, None no match."""
    if candidate == wanted:
        return 0
    if candidate.lower() == wanted.lower():
        return 1
    c, w = _squash(candidate), _squash(wanted)
    if c == w or c in (w + "s", w + "es") or w in (c + "s", c + "es"):
        return 2
    return None


def _best(
    items: Iterable[tuple[T, str, str | None]], wanted: str, prefer: Sequence[str]
) -> Found[T] | None:
    """Best of (object, its name, its schema) for *wanted*; ties go to preferred schemas."""
    scored: list[tuple[int, int, T]] = []
    for obj, name, schema in items:
        r = rank(name, wanted)
        if r is not None:
            pref = prefer.index(schema) if schema in prefer else len(prefer)
            scored.append((r, pref, obj))
    if not scored:
        return None
    scored.sort(key=lambda x: (x[0], x[1]))
    return Found(scored[0][2], HOW[scored[0][0]])


def _attempts(name: str, schema: str | None, catalog: Catalog) -> list[tuple[str | None, str]]:
    """("public.Order") may be a schema-qualified name or a name with a dot in it."""
    out: list[tuple[str | None, str]] = []
    if schema is None:
        parts = split_name(name) if '"' in name else name.split(".")
        if len(parts) == 2 and parts[0].lower() in {s.name.lower() for s in catalog.schemas}:
            out.append((parts[0], parts[1]))
    out.append((schema, name))
    return out


def find_table(
    catalog: Catalog, name: str | None, *, schema: str | None = None, prefer: Sequence[str] = ()
) -> Found[Table] | None:
    """The table (or view) *name* means; *schema* when the message gave one."""
    if not name:
        return None
    order = [*prefer, "public"]
    for sch, rel in _attempts(name, schema, catalog):
        found = _best(
            (
                (t, t.name.name, t.name.schema)
                for t in catalog.tables
                if sch is None or t.name.schema.lower() == sch.lower()
            ),
            rel,
            order,
        )
        if found is not None:
            return found
    return None


def find_column(table: Table, name: str | None) -> Found[Column] | None:
    if not name:
        return None
    return _best(((c, c.name, None) for c in table.columns), name, ())


def strip_prisma(name: str) -> str:
    """``Order_clientId_fkey (index)`` -> ``Order_clientId_fkey``."""
    return name.strip().strip("`").removesuffix(" (index)").strip()


def find_constraint(
    catalog: Catalog,
    name: str | None,
    *,
    types: Iterable[ConstraintType],
    table: Name | None = None,
) -> Found[Constraint] | None:
    """A constraint by name, on *table* first when given."""
    if not name:
        return None
    wanted = strip_prisma(name)
    kinds = set(types)
    pool = [c for c in catalog.constraints if c.type in kinds]
    if table is not None:
        found = _best(((c, c.name, None) for c in pool if c.table == table), wanted, ())
        if found is not None and found.how != HOW[2]:
            return found
    found = _best(((c, c.name, c.table.schema) for c in pool), wanted, ("public",))
    return found if found is not None and found.how != HOW[2] else None


@dataclass(frozen=True)
class UniqueKey:
    """A primary key, unique constraint or unique index (Prisma's @unique makes an index)."""

    table: Name
    name: str
    columns: tuple[str, ...]
    what: str  # "primary key", "unique constraint", "unique index"


def unique_keys(catalog: Catalog) -> list[UniqueKey]:
    keys: list[UniqueKey] = []
    backed: set[tuple[Name, str]] = set()
    for c in catalog.constraints:
        if c.type in (ConstraintType.PRIMARY_KEY, ConstraintType.UNIQUE):
            what = "primary key" if c.type is ConstraintType.PRIMARY_KEY else "unique constraint"
            keys.append(UniqueKey(c.table, c.name, c.columns, what))
            backed.add((c.table, c.name))
    for ix in catalog.indexes:
        if (
            ix.unique
            and (ix.table, ix.constraint or ix.name) not in backed
            and not ix.in_partitioned
        ):
            cols = index_columns(ix.definition)
            if cols:
                keys.append(UniqueKey(ix.table, ix.name, cols, "unique index"))
    return keys


def index_columns(definition: str) -> tuple[str, ...] | None:
    """Key columns of ``CREATE UNIQUE INDEX ... USING btree (a, "B")``; None for expressions."""
    start = definition.find(" USING ")
    start = definition.find("(", start if start >= 0 else 0)
    if start < 0:
        return None
    depth, end = 0, start
    for i in range(start, len(definition)):
        if definition[i] == "(":
            depth += 1
        elif definition[i] == ")":
            depth -= 1
            if depth == 0:
                end = i
                break
    cols: list[str] = []
    for part in definition[start + 1 : end].split(","):
        parts = split_name(part.strip())
        words = part.strip().split()
        if len(parts) != 1 or "(" in part or not words:
            return None
        cols.append(parts[0])
    return tuple(cols)


def find_unique(
    catalog: Catalog, name: str | None, *, table: Name | None = None
) -> Found[UniqueKey] | None:
    if not name:
        return None
    wanted = strip_prisma(name)
    keys = unique_keys(catalog)
    if table is not None:
        found = _best(((k, k.name, None) for k in keys if k.table == table), wanted, ())
        if found is not None and found.how != HOW[2]:
            return found
    found = _best(((k, k.name, k.table.schema) for k in keys), wanted, ("public",))
    return found if found is not None and found.how != HOW[2] else None


def find_enum(catalog: Catalog, name: str | None) -> Found[EnumType] | None:
    if not name:
        return None
    parts = split_name(name)
    if not parts:
        return None
    schema = parts[-2] if len(parts) > 1 else None
    return _best(
        (
            (e, e.name.name, e.name.schema)
            for e in catalog.enums
            if schema is None or e.name.schema == schema
        ),
        parts[-1],
        ("public",),
    )


def columns_of_type(catalog: Catalog, type_name: Name) -> list[tuple[Table, Column]]:
    """Every table column whose type is *type_name*, or an array of it."""
    array = Name(type_name.schema, "_" + type_name.name)
    return [
        (t, c)
        for t in catalog.tables
        for c in t.columns
        if c.type_name in (type_name, array) and not c.inherited and not t.is_partition
    ]
