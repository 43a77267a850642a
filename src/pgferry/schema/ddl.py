"""The statements that create, change or drop one object, built from a catalog.

Object names go through :mod:`psycopg.sql`; the text the server itself wrote
(types from ``format_type``, expressions, ``pg_get_*def`` definitions) is
passed on unchanged.  Each statement carries a :class:`Phase`, and
:func:`ordered` sorts a push by it: drops first (in reverse dependency order),
then types before tables, tables before constraints, and so on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import IntEnum

from psycopg import sql

from ..catalog import (
    Catalog,
    Column,
    CompositeType,
    Constraint,
    ConstraintType,
    Domain,
    EnumType,
    FeedKind,
    Function,
    FunctionKind,
    Generated,
    Identity,
    Index,
    Name,
    RelKind,
    Sequence,
    Table,
    Trigger,
)


class Phase(IntEnum):
    """When a statement runs in a push; drops (negative) run first, deepest first."""

    ARCHIVE_DROP = -950  # pg_restore's DROP of an object QA has and production lacks
    DROP_TRIGGER = -900
    DROP_FOREIGN_KEY = -800
    DROP_VIEW = -700
    DROP_CONSTRAINT = -600
    DROP_INDEX = -500
    DROP_COLUMN = -400
    DROP_TABLE = -300
    DROP_FUNCTION = -200
    DROP_SEQUENCE = -150
    DROP_TYPE = -100
    DROP_EXTENSION = -50
    DROP_SCHEMA = -10
    SCHEMA = 0
    EXTENSION = 10
    ENUM = 20
    ENUM_LABEL = 30
    DOMAIN = 40
    COMPOSITE = 50
    SEQUENCE = 60
    FUNCTION = 70
    ARCHIVE_PRE = 75  # pg_dump's pre-data entries (types, functions, tables, views), in its order
    TABLE = 80
    COLUMN = 90
    ROW_TYPE_FUNCTION = 100  # takes or returns a table's row type: after the tables
    SEQUENCE_OWNER = 110
    VIEW = 120
    KEY = 130
    CHECK = 140
    FOREIGN_KEY = 150
    INDEX = 160
    TRIGGER = 170
    ARCHIVE_POST = 175  # pg_dump's post-data entries (keys, indexes, triggers, policies)


@dataclass(frozen=True)
class Step:
    """One statement of a push."""

    phase: Phase
    statement: sql.Composed | sql.SQL
    depth: int = 0  # order inside a phase: a partition after its parent, a view after its inputs
    #: runs only when this QA table is empty (SET NOT NULL on a column just added)
    needs_empty: Name | None = None

    def text(self) -> str:
        return self.statement.as_string(None)


def ordered(steps: list[Step]) -> list[Step]:
    """Steps in the order they can run; drops of deeper objects before shallower ones."""
    return sorted(steps, key=lambda s: (s.phase, -s.depth if s.phase < 0 else s.depth))


def _raw(text: str) -> sql.SQL:
    return sql.SQL(text)


def _lit(value: str) -> sql.Literal:
    return sql.Literal(value)


# -- types, schemas, extensions ---------------------------------------------------------


def create_schema(name: str) -> Step:
    return Step(
        Phase.SCHEMA, sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(name))
    )


def create_extension(name: str, schema: str) -> Step:
    return Step(
        Phase.EXTENSION,
        sql.SQL("CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {}").format(
            sql.Identifier(name), sql.Identifier(schema)
        ),
    )


def create_enum(enum: EnumType) -> Step:
    labels = sql.SQL(", ").join(_lit(label) for label in enum.labels)
    return Step(Phase.ENUM, sql.SQL("CREATE TYPE {} AS ENUM ({})").format(enum.name.ident, labels))


def add_enum_label(enum: Name, label: str, after: str | None, before: str | None) -> Step:
    where: sql.Composable = sql.SQL("")
    if after is not None:
        where = sql.SQL(" AFTER {}").format(_lit(after))
    elif before is not None:
        where = sql.SQL(" BEFORE {}").format(_lit(before))
    return Step(
        Phase.ENUM_LABEL,
        sql.SQL("ALTER TYPE {} ADD VALUE IF NOT EXISTS {}{}").format(
            enum.ident, _lit(label), where
        ),
    )


def create_domain(domain: Domain) -> Step:
    parts: list[sql.Composable] = [
        sql.SQL("CREATE DOMAIN {} AS {}").format(domain.name.ident, _raw(domain.base_type))
    ]
    if domain.default is not None:
        parts.append(sql.SQL("DEFAULT {}").format(_raw(domain.default)))
    if domain.not_null:
        parts.append(sql.SQL("NOT NULL"))
    parts += [_raw(check) for check in domain.checks]
    return Step(Phase.DOMAIN, sql.SQL(" ").join(parts))


def create_composite(composite: CompositeType) -> Step:
    attrs = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(n), _raw(t)) for n, t in composite.attributes
    )
    return Step(
        Phase.COMPOSITE, sql.SQL("CREATE TYPE {} AS ({})").format(composite.name.ident, attrs)
    )


def drop_type(name: Name, what: str = "TYPE") -> Step:
    return Step(Phase.DROP_TYPE, _drop(what, name))


def _drop(what: str, name: Name) -> sql.Composed:
    return sql.SQL("DROP {} {}").format(sql.SQL(what), name.ident)


# -- sequences -------------------------------------------------------------------------


def _sequence_options(seq: Sequence) -> sql.Composable:
    return sql.SQL("INCREMENT BY {} MINVALUE {} MAXVALUE {} START WITH {} CACHE {} {}").format(
        sql.Literal(seq.increment),
        sql.Literal(seq.min_value),
        sql.Literal(seq.max_value),
        sql.Literal(seq.start),
        sql.Literal(seq.cache),
        sql.SQL("CYCLE" if seq.cycle else "NO CYCLE"),
    )


def create_sequence(seq: Sequence) -> Step:
    return Step(
        Phase.SEQUENCE,
        sql.SQL("CREATE SEQUENCE {} AS {} {}").format(
            seq.name.ident, _raw(seq.data_type), _sequence_options(seq)
        ),
    )


def alter_sequence(seq: Sequence) -> Step:
    return Step(
        Phase.SEQUENCE,
        sql.SQL("ALTER SEQUENCE {} AS {} INCREMENT BY {} MINVALUE {} MAXVALUE {} {}").format(
            seq.name.ident,
            _raw(seq.data_type),
            sql.Literal(seq.increment),
            sql.Literal(seq.min_value),
            sql.Literal(seq.max_value),
            sql.SQL("CYCLE" if seq.cycle else "NO CYCLE"),
        ),
    )


def sequence_owner(seq: Sequence) -> Step | None:
    owner = next((f.column for f in seq.feeds if FeedKind.OWNED in f.kinds), None)
    if owner is None:
        return None
    return Step(
        Phase.SEQUENCE_OWNER,
        sql.SQL("ALTER SEQUENCE {} OWNED BY {}.{}").format(
            seq.name.ident, owner.table.ident, sql.Identifier(owner.column)
        ),
    )


def drop_sequence(name: Name) -> Step:
    return Step(Phase.DROP_SEQUENCE, sql.SQL("DROP SEQUENCE IF EXISTS {}").format(name.ident))


def is_identity_sequence(seq: Sequence) -> bool:
    return any(FeedKind.IDENTITY in f.kinds for f in seq.feeds)


# -- tables and columns ----------------------------------------------------------------


def column_definition(col: Column, table: Name, catalog: Catalog) -> sql.Composable:
    parts: list[sql.Composable] = [sql.Identifier(col.name), _raw(col.type)]
    if col.collation:
        parts.append(sql.SQL("COLLATE {}").format(_raw(col.collation)))
    if col.generated is not Generated.NONE and col.default is not None:
        kind = "STORED" if col.generated is Generated.STORED else "VIRTUAL"
        parts.append(sql.SQL("GENERATED ALWAYS AS ({}) " + kind).format(_raw(col.default)))
    elif col.identity is not Identity.NONE:
        how = "ALWAYS" if col.identity is Identity.ALWAYS else "BY DEFAULT"
        seq = _identity_sequence(table, col.name, catalog)
        options = (
            sql.SQL(" (SEQUENCE NAME {} {})").format(seq.name.ident, _sequence_options(seq))
            if seq
            else sql.SQL("")
        )
        parts.append(sql.SQL("GENERATED " + how + " AS IDENTITY{}").format(options))
    elif col.default is not None:
        parts.append(sql.SQL("DEFAULT {}").format(_raw(col.default)))
    if col.not_null:
        parts.append(sql.SQL("NOT NULL"))
    return sql.SQL(" ").join(parts)


def _identity_sequence(table: Name, column: str, catalog: Catalog) -> Sequence | None:
    for seq in catalog.sequences:
        for feed in seq.feeds:
            here = feed.column.table == table and feed.column.column == column
            if here and FeedKind.IDENTITY in feed.kinds:
                return seq
    return None


def depth(table: Table, catalog: Catalog) -> int:
    return sum(1 for _ in catalog.ancestors(table.name))


def create_table(table: Table, catalog: Catalog) -> Step:
    unlogged = sql.SQL("UNLOGGED ") if table.is_unlogged else sql.SQL("")
    if table.is_partition and table.parents and table.partition_bound:
        stmt = sql.SQL("CREATE {}TABLE {} PARTITION OF {} {}").format(
            unlogged, table.name.ident, table.parents[0].ident, _raw(table.partition_bound)
        )
    else:
        own = [c for c in table.columns if not c.inherited]
        cols = sql.SQL(", ").join(column_definition(c, table.name, catalog) for c in own)
        stmt = sql.SQL("CREATE {}TABLE {} ({})").format(unlogged, table.name.ident, cols)
        if table.parents:
            stmt = sql.SQL("{} INHERITS ({})").format(
                stmt, sql.SQL(", ").join(p.ident for p in table.parents)
            )
    if table.kind is RelKind.PARTITIONED and table.partition_key:
        stmt = sql.SQL("{} PARTITION BY {}").format(stmt, _raw(table.partition_key))
    return Step(Phase.TABLE, stmt, depth(table, catalog))


def inherited_settings(table: Table, catalog: Catalog) -> list[Step]:
    """A new child's own NOT NULL and default on the columns it inherits (CREATE TABLE
    ... INHERITS / PARTITION OF gives it its parent's)."""
    parent = catalog.table(table.parents[0]) if table.parents else None
    if parent is None:
        return []
    steps: list[Step] = []
    level = depth(table, catalog)
    for col in table.columns:
        theirs = parent.column(col.name)
        if not col.inherited or theirs is None or col.generated is not Generated.NONE:
            continue
        if col.not_null and not theirs.not_null:
            steps.append(
                alter_column(table.name, col.name, sql.SQL("SET NOT NULL"), only=True, depth=level)
            )
        if col.default != theirs.default and col.identity is Identity.NONE:
            action = (
                sql.SQL("SET DEFAULT {}").format(_raw(col.default))
                if col.default is not None
                else sql.SQL("DROP DEFAULT")
            )
            steps.append(alter_column(table.name, col.name, action, only=True, depth=level))
    return steps


def drop_table(table: Table, catalog: Catalog) -> Step:
    what = {
        RelKind.VIEW: "VIEW",
        RelKind.MATVIEW: "MATERIALIZED VIEW",
        RelKind.FOREIGN: "FOREIGN TABLE",
    }.get(table.kind, "TABLE")
    phase = Phase.DROP_VIEW if table.kind in (RelKind.VIEW, RelKind.MATVIEW) else Phase.DROP_TABLE
    return Step(phase, _drop(what, table.name), depth(table, catalog) + view_depth(table, catalog))


def add_column(table: Name, col: Column, catalog: Catalog) -> list[Step]:
    """ADD COLUMN; a NOT NULL column with no default is added nullable, then made NOT NULL
    only if QA's table is empty (its rows would have no value: the next migrate fills them)."""
    bare = (
        col.not_null
        and col.default is None
        and col.identity is Identity.NONE
        and col.generated is Generated.NONE
    )
    if not bare:
        return [
            Step(
                Phase.COLUMN,
                sql.SQL("ALTER TABLE {} ADD COLUMN {}").format(
                    table.ident, column_definition(col, table, catalog)
                ),
                depth=2 * col.position,  # in production's column order
            )
        ]
    nullable = replace(col, not_null=False)
    return [
        Step(
            Phase.COLUMN,
            sql.SQL("ALTER TABLE {} ADD COLUMN {}").format(
                table.ident, column_definition(nullable, table, catalog)
            ),
            depth=2 * col.position,
        ),
        Step(
            Phase.COLUMN,
            sql.SQL("ALTER TABLE {} ALTER COLUMN {} SET NOT NULL").format(
                table.ident, sql.Identifier(col.name)
            ),
            depth=2 * col.position + 1,
            needs_empty=table,
        ),
    ]


def drop_column(table: Name, column: str) -> Step:
    return Step(
        Phase.DROP_COLUMN,
        sql.SQL("ALTER TABLE {} DROP COLUMN {}").format(table.ident, sql.Identifier(column)),
    )


def alter_column(
    table: Name, column: str, action: sql.Composable, *, only: bool = False, depth: int = 0
) -> Step:
    """ALTER COLUMN; *only* for a child's own setting (its parent's comes first: *depth*)."""
    return Step(
        Phase.COLUMN,
        sql.SQL("ALTER TABLE {}{} ALTER COLUMN {} {}").format(
            sql.SQL("ONLY " if only else ""), table.ident, sql.Identifier(column), action
        ),
        depth,
    )


def set_type(table: Name, column: str, type_: str) -> Step:
    # no USING: the assignment cast raises an error where an explicit one would cut a value
    return alter_column(table, column, sql.SQL("TYPE {}").format(_raw(type_)))


# -- views -----------------------------------------------------------------------------


def view_depth(view: Table, catalog: Catalog, _seen: frozenset[Name] = frozenset()) -> int:
    """How many views stand between *view* and the tables it reads."""
    if view.kind not in (RelKind.VIEW, RelKind.MATVIEW) or view.name in _seen:
        return 0
    inner = [catalog.table(n) for n in view.depends_on]
    return 1 + max(
        (view_depth(t, catalog, _seen | {view.name}) for t in inner if t is not None), default=0
    )


def create_view(view: Table, catalog: Catalog, *, replace: bool = False) -> Step:
    body = _raw((view.definition or "").strip().rstrip(";"))
    if view.kind is RelKind.MATVIEW:
        stmt = sql.SQL("CREATE MATERIALIZED VIEW {} AS {} WITH NO DATA").format(
            view.name.ident, body
        )
    else:
        verb = "CREATE OR REPLACE VIEW" if replace else "CREATE VIEW"
        stmt = sql.SQL(verb + " {} AS {}").format(view.name.ident, body)
    return Step(Phase.VIEW, stmt, view_depth(view, catalog))


# -- constraints, indexes, triggers ----------------------------------------------------

_CONSTRAINT_PHASE = {
    ConstraintType.PRIMARY_KEY: Phase.KEY,
    ConstraintType.UNIQUE: Phase.KEY,
    ConstraintType.EXCLUSION: Phase.KEY,
    ConstraintType.CHECK: Phase.CHECK,
    ConstraintType.FOREIGN_KEY: Phase.FOREIGN_KEY,
}


def add_constraint(con: Constraint) -> Step:
    return Step(
        _CONSTRAINT_PHASE[con.type],
        sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
            con.table.ident, sql.Identifier(con.name), _raw(con.definition)
        ),
    )


def drop_constraint(con: Constraint) -> Step:
    phase = (
        Phase.DROP_FOREIGN_KEY if con.type is ConstraintType.FOREIGN_KEY else Phase.DROP_CONSTRAINT
    )
    return Step(
        phase,
        sql.SQL("ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}").format(
            con.table.ident, sql.Identifier(con.name)
        ),
    )


def create_index(index: Index) -> Step:
    # an index on a partitioned table reads "ON ONLY": without it, the partitions get theirs
    return Step(Phase.INDEX, _raw(re.sub(r" ON ONLY ", " ON ", index.definition, count=1)))


def drop_index(index: Index) -> Step:
    return Step(
        Phase.DROP_INDEX,
        sql.SQL("DROP INDEX IF EXISTS {}").format(Name(index.table.schema, index.name).ident),
    )


def create_trigger(trigger: Trigger) -> list[Step]:
    steps = [Step(Phase.TRIGGER, _raw(trigger.definition))]
    if not trigger.is_enabled:
        steps.append(
            Step(
                Phase.TRIGGER,
                sql.SQL("ALTER TABLE {} DISABLE TRIGGER {}").format(
                    trigger.table.ident, sql.Identifier(trigger.name)
                ),
                1,
            )
        )
    return steps


def drop_trigger(trigger: Trigger) -> Step:
    return Step(
        Phase.DROP_TRIGGER,
        sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(
            sql.Identifier(trigger.name), trigger.table.ident
        ),
    )


def table_extras(table: Table, catalog: Catalog) -> list[Step]:
    """What a new table needs besides CREATE TABLE: keys, checks, indexes, triggers."""
    steps: list[Step] = []
    for con in catalog.constraints_of(table.name):
        if not con.inherited:  # a parent's check comes with the partition or child
            steps.append(add_constraint(con))
    for index in catalog.indexes:
        if index.table == table.name and not (index.constraint or index.in_partitioned):
            steps.append(create_index(index))
    for trigger in catalog.triggers:
        if trigger.table == table.name and not trigger.is_clone:
            steps += create_trigger(trigger)
    return steps


# -- functions -------------------------------------------------------------------------


def create_function(func: Function, catalog: Catalog) -> Step | None:
    """A function's CREATE OR REPLACE; after the tables when it names a table's row type."""
    if func.definition is None:
        return None
    signature = f"{func.identity_args} {func.result or ''}"
    row_type = any(
        re.search(rf"(?<![\w.\"]){re.escape(str(t.name))}(?![\w\"])", signature)
        for t in catalog.tables
    )
    if func.kind is FunctionKind.AGGREGATE:  # after every function, its steps among them
        return Step(Phase.ROW_TYPE_FUNCTION, _raw(func.definition.strip()), 1)
    return Step(
        Phase.ROW_TYPE_FUNCTION if row_type else Phase.FUNCTION, _raw(func.definition.strip())
    )


def drop_function(func: Function) -> Step:
    what = {
        FunctionKind.PROCEDURE: "PROCEDURE",
        FunctionKind.AGGREGATE: "AGGREGATE",
    }.get(func.kind, "FUNCTION")
    return Step(
        Phase.DROP_FUNCTION,
        sql.SQL("DROP {} IF EXISTS {}({})").format(
            sql.SQL(what), func.name.ident, _raw(func.identity_args)
        ),
    )
