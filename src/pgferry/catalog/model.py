"""Typed, immutable objects describing a database's structure."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import NamedTuple

from psycopg import sql

# PostgreSQL's reserved key words: a name equal to one of these must be quoted.
_RESERVED = frozenset(
    """all analyse analyze and any array as asc asymmetric authorization binary both case cast
    check collate collation column concurrently constraint create cross current_catalog
    current_date current_role current_schema current_time current_timestamp current_user
    default deferrable desc distinct do else end except false fetch for foreign freeze from
    full grant group having ilike in initially inner intersect into is isnull join lateral
    leading left like limit localtime localtimestamp natural not notnull null offset on
    only or order outer overlaps placing primary references returning right select
    session_user similar some symmetric system_user table tablesample then to trailing true
    union unique user using variadic verbose when where window with""".split()  # noqa: SIM905
)
_PLAIN = re.compile(r"^[a-z_][a-z0-9_$]*$")


def quote_ident(name: str) -> str:
    """``name`` as it must be written in SQL: quoted only when it has to be."""
    if _PLAIN.match(name) and name not in _RESERVED:
        return name
    return '"' + name.replace('"', '""') + '"'


class Name(NamedTuple):
    """A schema-qualified object name."""

    schema: str
    name: str

    def __str__(self) -> str:
        return f"{quote_ident(self.schema)}.{quote_ident(self.name)}"

    @property
    def ident(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)


class RelKind(StrEnum):
    TABLE = "r"
    PARTITIONED = "p"
    VIEW = "v"
    MATVIEW = "m"
    FOREIGN = "f"


class Generated(StrEnum):
    NONE = ""
    STORED = "s"
    VIRTUAL = "v"


class Identity(StrEnum):
    NONE = ""
    ALWAYS = "a"
    BY_DEFAULT = "d"


@dataclass(frozen=True)
class Column:
    name: str
    position: int
    type: str  # as format_type() writes it: 'integer', 'timestamp(3) without time zone'
    type_name: Name  # the type's own name: pg_catalog.int4, public."OrderStatus"
    type_kind: str  # pg_type.typtype: b base, e enum, d domain, c composite, r range
    base_type: Name  # a domain's base type (Pagila's "bıgınt" -> pg_catalog.int8); else type_name
    not_null: bool
    default: str | None
    generated: Generated
    identity: Identity
    inherited: bool
    collation: str | None = None  # 'pg_catalog."C"' where it is not the type's own

    @property
    def is_integer(self) -> bool:
        return self.base_type.schema == "pg_catalog" and self.base_type.name in (
            "int2",
            "int4",
            "int8",
        )


@dataclass(frozen=True)
class Table:
    """A relation with columns: table, partitioned table, view, matview, foreign table."""

    oid: int
    name: Name
    kind: RelKind
    persistence: str  # p permanent, u unlogged, t temporary
    is_partition: bool
    parents: tuple[Name, ...]  # partition parent, or inheritance parents
    partition_key: str | None
    partition_bound: str | None
    rls_enabled: bool
    rls_forced: bool
    estimated_rows: int
    estimated_bytes: int
    extension: str | None
    can_select: bool
    columns: tuple[Column, ...]
    definition: str | None = None  # a view's or materialized view's query
    depends_on: tuple[Name, ...] = ()  # the relations a view reads

    @property
    def is_unlogged(self) -> bool:
        return self.persistence == "u"

    @property
    def has_data(self) -> bool:
        """Whether rows are stored here (leaf tables and matviews), not elsewhere."""
        return self.kind in (RelKind.TABLE, RelKind.MATVIEW)

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


class ConstraintType(StrEnum):
    PRIMARY_KEY = "p"
    UNIQUE = "u"
    FOREIGN_KEY = "f"
    CHECK = "c"
    EXCLUSION = "x"


@dataclass(frozen=True)
class Constraint:
    table: Name
    name: str
    type: ConstraintType
    columns: tuple[str, ...]
    ref_table: Name | None
    ref_columns: tuple[str, ...]
    deferrable: bool
    deferred: bool
    validated: bool
    definition: str
    inherited: bool = False  # held only because a parent holds it


@dataclass(frozen=True)
class Index:
    table: Name
    name: str
    definition: str  # pg_get_indexdef: a complete CREATE INDEX statement
    unique: bool
    primary: bool
    valid: bool
    partitioned: bool  # an index on a partitioned table
    in_partitioned: bool  # a partition's share of its parent's index
    constraint: str | None  # the constraint it backs (primary key, unique, exclusion)

    @property
    def is_plain(self) -> bool:
        """Backs no constraint and belongs to no partitioned index: droppable on its own."""
        return not (
            self.unique
            or self.primary
            or self.constraint
            or self.partitioned
            or self.in_partitioned
            or not self.valid
        )


@dataclass(frozen=True)
class ColumnRef:
    table: Name
    column: str

    def __str__(self) -> str:
        return f"{self.table}.{quote_ident(self.column)}"


class FeedKind(StrEnum):
    OWNED = "owned"  # OWNED BY (serial)
    IDENTITY = "identity"
    DEFAULT = "default"  # DEFAULT nextval('seq')
    EXPRESSION = "expression"  # nextval() inside a larger default expression


@dataclass(frozen=True)
class Feed:
    """One column a sequence hands values to, and how the catalog knows it."""

    column: ColumnRef
    kinds: frozenset[FeedKind]
    default: str | None = None

    @property
    def is_expression(self) -> bool:
        return self.kinds == {FeedKind.EXPRESSION}


@dataclass(frozen=True)
class Sequence:
    oid: int
    name: Name
    data_type: str
    start: int
    increment: int
    min_value: int
    max_value: int
    cycle: bool
    cache: int
    extension: str | None
    can_select: bool
    can_update: bool
    owner: str
    feeds: tuple[Feed, ...] = field(default=())

    @property
    def ascending(self) -> bool:
        return self.increment > 0

    @property
    def owned_by(self) -> ColumnRef | None:
        return next(
            (f.column for f in self.feeds if f.kinds & {FeedKind.OWNED, FeedKind.IDENTITY}), None
        )


@dataclass(frozen=True)
class EnumType:
    name: Name
    labels: tuple[str, ...]
    extension: str | None


@dataclass(frozen=True)
class Domain:
    name: Name
    base_type: str
    not_null: bool
    default: str | None
    checks: tuple[str, ...]
    extension: str | None


@dataclass(frozen=True)
class CompositeType:
    name: Name
    attributes: tuple[tuple[str, str], ...]  # (name, type as format_type writes it)
    extension: str | None


class FunctionKind(StrEnum):
    FUNCTION = "f"
    PROCEDURE = "p"
    AGGREGATE = "a"
    WINDOW = "w"


@dataclass(frozen=True)
class Function:
    name: Name
    identity_args: str  # 'integer, text': what tells overloads apart
    kind: FunctionKind
    result: str | None
    definition: str | None  # CREATE OR REPLACE ...; None for aggregates
    extension: str | None
    arg_types: str = ""  # 'integer, text': the argument types alone, as pg_dump names it

    @property
    def signature(self) -> str:
        return f"{self.name}({self.identity_args})"


@dataclass(frozen=True)
class Trigger:
    table: Name
    name: str
    enabled: str  # O fires, D disabled, R replica only, A always
    definition: str
    is_clone: bool = False  # a partition's copy of its parent's trigger

    @property
    def is_enabled(self) -> bool:
        return self.enabled != "D"


@dataclass(frozen=True)
class Extension:
    name: str
    schema: str
    version: str


@dataclass(frozen=True)
class Schema:
    name: str
    extension: str | None


@dataclass(frozen=True)
class Catalog:
    """One database's structure, read at one moment."""

    server_version_num: int
    server_version: str
    database: str
    role: str
    is_superuser: bool
    schemas: tuple[Schema, ...]
    tables: tuple[Table, ...]
    constraints: tuple[Constraint, ...]
    sequences: tuple[Sequence, ...]
    enums: tuple[EnumType, ...]
    domains: tuple[Domain, ...]
    triggers: tuple[Trigger, ...]
    extensions: tuple[Extension, ...]
    indexes: tuple[Index, ...] = ()
    functions: tuple[Function, ...] = ()
    composites: tuple[CompositeType, ...] = ()
    #: the kinds of objects read (see read_catalog's *parts*); the others are empty
    parts: frozenset[str] = frozenset()

    @property
    def major_version(self) -> int:
        return self.server_version_num // 10000

    @cached_property
    def _tables_by_name(self) -> dict[Name, Table]:
        return {t.name: t for t in self.tables}

    def table(self, name: Name) -> Table | None:
        return self._tables_by_name.get(name)

    def sequence(self, name: Name) -> Sequence | None:
        return next((s for s in self.sequences if s.name == name), None)

    @cached_property
    def _constraints_by_table(self) -> dict[Name, list[Constraint]]:
        out: dict[Name, list[Constraint]] = {}
        for c in self.constraints:
            out.setdefault(c.table, []).append(c)
        return out

    @cached_property
    def inheritance_parents(self) -> frozenset[Name]:
        """Tables some non-partition table inherits from."""
        return frozenset(p for t in self.tables if not t.is_partition for p in t.parents)

    def constraints_of(self, table: Name) -> Iterator[Constraint]:
        return iter(self._constraints_by_table.get(table, ()))

    def foreign_keys(self) -> Iterator[Constraint]:
        return (c for c in self.constraints if c.type is ConstraintType.FOREIGN_KEY)

    def primary_key(self, table: Name) -> Constraint | None:
        return next(
            (c for c in self.constraints_of(table) if c.type is ConstraintType.PRIMARY_KEY), None
        )

    def ancestors(self, table: Name) -> Iterator[Name]:
        """Every partition parent or inheritance parent above *table*, nearest first."""
        seen: set[Name] = set()
        todo = list(self._tables_by_name[table].parents) if table in self._tables_by_name else []
        while todo:
            parent = todo.pop(0)
            if parent in seen:
                continue
            seen.add(parent)
            yield parent
            t = self._tables_by_name.get(parent)
            if t is not None:
                todo.extend(t.parents)
