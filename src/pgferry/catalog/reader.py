"""Read a :class:`Catalog` in a fixed handful of queries, whatever the table count."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from typing import Any

import psycopg
from psycopg.rows import dict_row

from .. import queries
from ..errors import DatabaseError, translating
from .model import (
    Catalog,
    Column,
    ColumnRef,
    CompositeType,
    Constraint,
    ConstraintType,
    Domain,
    EnumType,
    Extension,
    Feed,
    FeedKind,
    Function,
    FunctionKind,
    Generated,
    Identity,
    Index,
    Name,
    RelKind,
    Schema,
    Sequence,
    Table,
    Trigger,
)

#: Oldest server the catalog queries are written for (pg_sequence: 10,
#: attgenerated: 12).
MIN_SERVER_VERSION_NUM = 120000

Row = dict[str, Any]


_QUERIES = (
    "schemas",
    "relations",
    "columns",
    "constraints",
    "sequences",
    "sequence_feeds",
    "enums",
    "domains",
    "triggers",
    "extensions",
    "indexes",
    "functions",
    "composites",
)


def _fetch(conn: psycopg.Connection[Any], name: str) -> list[Row]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(queries.load(name))
        return cur.fetchall()


#: What a job that only needs tables, columns and sequences reads (``sequences``).
SEQUENCE_PARTS = frozenset({"schemas", "relations", "columns", "sequences", "sequence_feeds"})


@translating()
def read_catalog(conn: psycopg.Connection[Any], *, parts: Collection[str] | None = None) -> Catalog:
    """Read the structure of the database *conn* is connected to.

    A fixed dozen queries, whatever the number of tables, in one read-only
    repeatable-read transaction so that the result describes one moment (or
    inside the caller's transaction, when one is open, to share its snapshot).
    *parts* limits the reading to those kinds of objects (the others come back
    empty and ``Catalog.parts`` says so), for jobs that need fewer of them.
    """
    wanted = frozenset(_QUERIES if parts is None else parts)
    rows: dict[str, list[Row]] = {}
    outer = conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
    with conn.transaction():
        if not outer:  # our own transaction: make it one snapshot
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        server = _fetch(conn, "catalog_server")[0]
        if server["server_version_num"] < MIN_SERVER_VERSION_NUM:
            raise DatabaseError(
                f"PostgreSQL {server['server_version']} is older than pgferry supports (12)",
                hint="upgrade the server, or use pg_dump for this database",
            )
        for name in _QUERIES:
            rows[name] = _fetch(conn, f"catalog_{name}") if name in wanted else []
    tables = _tables(rows["relations"], rows["columns"])
    names = {t.oid: t.name for t in tables}
    return Catalog(
        server_version_num=server["server_version_num"],
        server_version=server["server_version"],
        database=server["database"],
        role=server["role"],
        is_superuser=bool(server["is_superuser"]),
        parts=wanted,
        schemas=tuple(Schema(r["name"], r["extension"]) for r in rows["schemas"]),
        tables=tables,
        constraints=tuple(_constraint(r, names) for r in rows["constraints"]),
        sequences=_sequences(rows["sequences"], rows["sequence_feeds"], names),
        enums=tuple(
            EnumType(Name(r["schema"], r["name"]), tuple(r["labels"]), r["extension"])
            for r in rows["enums"]
        ),
        domains=tuple(
            Domain(
                Name(r["schema"], r["name"]),
                r["base_type"],
                r["not_null"],
                r["default_expr"],
                tuple(r["checks"]),
                r["extension"],
            )
            for r in rows["domains"]
        ),
        triggers=tuple(
            Trigger(names[r["table_oid"]], r["name"], r["enabled"], r["definition"], r["is_clone"])
            for r in rows["triggers"]
            if r["table_oid"] in names
        ),
        extensions=tuple(
            Extension(r["name"], r["schema"], r["version"]) for r in rows["extensions"]
        ),
        indexes=tuple(
            Index(
                table=names[r["table_oid"]],
                name=r["name"],
                definition=r["definition"],
                unique=r["is_unique"],
                primary=r["is_primary"],
                valid=r["is_valid"],
                partitioned=r["is_partitioned"],
                in_partitioned=r["in_partitioned"],
                constraint=r["constraint_name"],
            )
            for r in rows["indexes"]
            if r["table_oid"] in names
        ),
        functions=tuple(
            Function(
                Name(r["schema"], r["name"]),
                r["identity_args"],
                FunctionKind(r["kind"]),
                r["result"],
                r["definition"],
                r["extension"],
                r["arg_types"],
            )
            for r in rows["functions"]
        ),
        composites=tuple(
            CompositeType(
                Name(r["schema"], r["name"]),
                tuple(zip(r["attribute_names"], r["attribute_types"], strict=True)),
                r["extension"],
            )
            for r in rows["composites"]
        ),
    )


def _tables(relations: list[Row], columns: list[Row]) -> tuple[Table, ...]:
    oids = {r["oid"]: Name(r["schema"], r["name"]) for r in relations}
    cols: dict[int, list[Column]] = defaultdict(list)
    for r in columns:
        cols[r["table_oid"]].append(
            Column(
                name=r["name"],
                position=r["position"],
                type=r["type"],
                type_name=Name(r["type_schema"], r["type_name"]),
                type_kind=r["type_kind"],
                base_type=Name(r["base_type_schema"], r["base_type_name"]),
                not_null=r["not_null"],
                default=r["default_expr"],
                generated=Generated(r["generated"]),
                identity=Identity(r["identity"]),
                inherited=r["inherited"],
                collation=r["collation"],
            )
        )
    return tuple(
        Table(
            oid=r["oid"],
            name=Name(r["schema"], r["name"]),
            kind=RelKind(r["kind"]),
            persistence=r["persistence"],
            is_partition=r["is_partition"],
            parents=tuple(
                Name(s, n) for s, n in zip(r["parent_schemas"], r["parent_names"], strict=True)
            ),
            partition_key=r["partition_key"],
            partition_bound=r["partition_bound"],
            rls_enabled=r["rls_enabled"],
            rls_forced=r["rls_forced"],
            estimated_rows=r["estimated_rows"],
            estimated_bytes=r["estimated_bytes"],
            extension=r["extension"],
            can_select=r["can_select"],
            columns=tuple(cols.get(r["oid"], ())),
            definition=r["view_definition"],
            depends_on=tuple(sorted(oids[o] for o in r["view_depends"] or () if o in oids)),
        )
        for r in relations
    )


def _constraint(r: Row, names: dict[int, Name]) -> Constraint:
    ref = Name(r["ref_schema"], r["ref_table"]) if r["ref_table"] is not None else None
    return Constraint(
        table=names[r["table_oid"]],
        name=r["name"],
        type=ConstraintType(r["type"]),
        columns=tuple(r["columns"]),
        ref_table=ref,
        ref_columns=tuple(r["ref_columns"]),
        deferrable=r["deferrable"],
        deferred=r["deferred"],
        validated=r["validated"],
        definition=r["definition"],
        inherited=r["inherited"],
    )


def _sequences(
    seq_rows: list[Row], feed_rows: list[Row], names: dict[int, Name]
) -> tuple[Sequence, ...]:
    # Merge the ways one column is fed (a serial is both OWNED BY and DEFAULT).
    kinds: dict[tuple[int, int, str], set[FeedKind]] = defaultdict(set)
    defaults: dict[tuple[int, int, str], str] = {}
    for r in feed_rows:
        key = (r["sequence_oid"], r["table_oid"], r["column_name"])
        kinds[key].add(FeedKind(r["how"]))
        if r["default_expr"] is not None:
            defaults[key] = r["default_expr"]
    feeds: dict[int, list[Feed]] = defaultdict(list)
    for key, how in kinds.items():
        seq_oid, table_oid, column = key
        if table_oid not in names:  # a table in a system schema
            continue
        if FeedKind.EXPRESSION in how and len(how) > 1:
            how.discard(FeedKind.OWNED)
        feeds[seq_oid].append(
            Feed(ColumnRef(names[table_oid], column), frozenset(how), defaults.get(key))
        )
    return tuple(
        Sequence(
            oid=r["oid"],
            name=Name(r["schema"], r["name"]),
            data_type=r["data_type"],
            start=r["start_value"],
            increment=r["increment"],
            min_value=r["min_value"],
            max_value=r["max_value"],
            cycle=r["cycle"],
            cache=r["cache"],
            extension=r["extension"],
            can_select=r["can_select"],
            can_update=r["can_update"],
            owner=r["owner"],
            feeds=tuple(
                sorted(feeds.get(r["oid"], ()), key=lambda f: (f.column.table, f.column.column))
            ),
        )
        for r in seq_rows
    )
