"""``pgferry pii scan``: production's personal columns, and the ``[mask]`` rules they need.

One ``REPEATABLE READ, READ ONLY`` transaction on production reads the catalog
and then, for each text-like column (and each ``inet``), at most *sample*
non-empty values as text, from at most :data:`SCAN_FACTOR` times as many rows;
nothing is created or written.  A column is personal when its name says so
(:func:`pgferry.pii.names.match`) or when a high share of its sampled values
validates as one kind (:mod:`pgferry.pii.values`).  The values are counted and
dropped: a :class:`Finding` holds counts, never a value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from ..catalog import Catalog, Column, Generated, Name, RelKind, Table, read_catalog
from ..endpoints import Endpoint, connect
from ..errors import ConfigError, translating
from ..plan import select_tables
from . import names, toml, values
from .values import Share

#: a column is sampled from at most this many times *sample* rows (a mostly-NULL
#: column of a huge table is not read to its end)
SCAN_FACTOR = 20

#: characters of a value read: every validator refuses a value longer than 254 (an
#: email's limit), so a longer one cut to this still validates as nothing
VALUE_CHARS = 300

#: what the catalog read needs: tables, columns, and the unique indexes
_PARTS = frozenset({"schemas", "relations", "columns", "constraints", "indexes"})

#: types whose values are validated (a domain counts as its base type)
_SAMPLED = frozenset({names.TEXT, names.INET})


@dataclass(frozen=True)
class Finding:
    """A personal column: the kind to mask it with, and why (never a value)."""

    table: Name
    column: str
    type: str  # as format_type writes it
    kind: str
    #: the kind's setting: fixed's value, date_shift's bound
    argument: str | None = None
    #: the name evidence: 'name looks like an email ("e_mail")'; None: values alone
    pattern: str | None = None
    #: the validators' counts shown as evidence (the kind's own, and any strong one)
    shares: tuple[Share, ...] = ()
    sampled: int = 0  # non-empty values read
    unique: bool = False  # in a primary key, unique constraint or unique index
    note: str | None = None  # "unique: hash, not name (could collide)", "not sampled: ..."
    has_rule: bool = False  # pgferry.toml's [mask] has a rule for it

    @property
    def evidence(self) -> tuple[str, ...]:
        """What a person reads: the name pattern, the shares, the note."""
        return tuple(
            e for e in (self.pattern, *(str(s) for s in self.shares), self.note) if e is not None
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": f"{self.table.schema}.{self.table.name}",
            "schema": self.table.schema,
            "name": self.table.name,
            "column": self.column,
            "type": self.type,
            "kind": self.kind,
            "argument": self.argument,
            "unique": self.unique,
            "has_rule": self.has_rule,
            "evidence": {
                "name": self.pattern,
                "values": [s.to_dict() for s in self.shares],
                "sampled": self.sampled,
                "note": self.note,
            },
            "rule": toml.value(self.kind, self.argument),
        }


@dataclass(frozen=True)
class Scan:
    """What ``pii scan`` found in production."""

    source: str  # host:port/db as user, never a password
    sample: int
    tables: int  # tables looked at
    columns: int  # columns looked at
    findings: tuple[Finding, ...]
    #: the rule tables pgferry.toml already has, as it names them, per table
    rule_tables: Mapping[Name, str] = field(default_factory=dict)

    @property
    def missing(self) -> tuple[Finding, ...]:
        """Personal columns without a rule in ``[mask]``."""
        return tuple(f for f in self.findings if not f.has_rule)

    @property
    def ok(self) -> bool:
        """Every personal column has a rule (``"keep"`` counts): exit 0."""
        return not self.missing

    def toml(self) -> str:
        """The ``[mask]`` lines for the columns without a rule, ready to paste."""
        return toml.render(
            toml.Line(
                self.rule_tables.get(f.table, f"{f.table.schema}.{f.table.name}"),
                f.column,
                f.kind,
                f.argument,
                "; ".join(f.evidence),
                existing=f.table in self.rule_tables,
            )
            for f in self.missing
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "sample": self.sample,
            "tables": self.tables,
            "columns": self.columns,
            "ok": self.ok,
            "findings": [f.to_dict() for f in self.findings],
            "missing": len(self.missing),
            "toml": self.toml(),
        }


# -- rules pgferry.toml has --------------------------------------------------------------


Rules = Mapping[str, Sequence[str]]


def _names(text: str, table: Name) -> bool:
    """Whether [mask] table *text* is *table*: "schema.table", or "table" for that table
    in any schema (as :func:`pgferry.refresh.masking.masking` reads it)."""
    schema, dot, name = text.rpartition(".")
    return name == table.name and (not dot or schema == table.schema)


def _rule_table(table: Name, rules: Rules) -> str | None:
    """The name pgferry.toml gives *table*, when it has rules for it."""
    return next((text for text in rules if _names(text, table)), None)


def _ruled(table: Name, column: str, rules: Rules) -> bool:
    return any(column in columns for text, columns in rules.items() if _names(text, table))


# -- the catalog ---------------------------------------------------------------------

_IDENT = re.compile(r'"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*)')
_INDEX_COLUMNS = re.compile(r" USING \w+ \((.*)\)")


def unique_columns(catalog: Catalog, table: Name) -> set[str]:
    """Columns of *table* in a primary key, a unique constraint or a unique index
    (Prisma's ``@unique``), expression indexes (``lower(email)``) included."""
    t = catalog.table(table)
    own = {c.name for c in t.columns} if t is not None else set()
    out: set[str] = set()
    for ix in catalog.indexes:
        if ix.table != table or not ix.unique:
            continue
        m = _INDEX_COLUMNS.search(ix.definition)
        if m is None:
            continue
        for quoted, plain in _IDENT.findall(m.group(1)):
            name = quoted.replace('""', '"') if quoted else plain
            if name in own:
                out.add(name)
    return out


def _scanned(
    catalog: Catalog, tables: Sequence[str], exclude: Sequence[str], schemas: Sequence[str]
) -> list[Table]:
    chosen, _ = select_tables(catalog, tables=tables, exclude=exclude, schemas=schemas)
    out = [
        t for t in chosen if t.kind in (RelKind.TABLE, RelKind.PARTITIONED) and not t.is_partition
    ]
    if not out and (tables or exclude or schemas):
        given = [f"--tables {p!r}" for p in tables] + [f"--schema {s!r}" for s in schemas]
        given += [f"--exclude {p!r}" for p in exclude]
        raise ConfigError(
            f"{' '.join(given)} matches no table of production to scan",
            hint="patterns match 'schema.table' or 'table' (case-sensitive, * and ? as wildcards)",
        )
    return out


# -- sampling ---------------------------------------------------------------------------


def _sample(conn: psycopg.Connection[Any], table: Table, column: str, n: int) -> list[str]:
    """At most *n* non-empty values of *column*, as text cut to :data:`VALUE_CHARS`,
    from the first rows read."""
    only = sql.SQL("ONLY ") if table.kind is RelKind.TABLE else sql.SQL("")
    query = sql.SQL(
        "SELECT v FROM (SELECT pg_catalog.left({c}::text, {chars}) AS v FROM {only}{t} "
        "LIMIT {scan}) s WHERE v <> '' LIMIT {n}"
    ).format(
        c=sql.Identifier(column),
        chars=sql.Literal(VALUE_CHARS),
        only=only,
        t=table.name.ident,
        scan=sql.Literal(n * SCAN_FACTOR),
        n=sql.Literal(n),
    )
    return [str(row[0]) for row in conn.execute(query)]


def _column(
    table: Table,
    col: Column,
    sampled: list[str] | None,
    *,
    unique: bool,
    note: str | None,
    rules: Rules,
) -> Finding | None:
    """The finding for one column, from its name and its sampled values (None: not personal)."""
    type_name = col.base_type.name
    by_name = names.match(table.name.name, col.name, type_name)
    found = values.shares(sampled) if sampled else ()
    strong = values.strongest(found)
    if by_name is None and strong is None:
        return None
    kind = by_name.kind if by_name is not None else ""
    argument = by_name.argument if by_name is not None else None
    if strong is not None and strong.kind != kind:  # the values say what they are
        kind, argument = strong.kind, None
    shown = [s for s in found if s is strong or s is values.for_kind(found, kind)]
    if unique and (safe := names.unique_safe(kind, type_name)) != kind:
        note = f"unique: {safe}, as {kind} could make two values one"
        kind, argument = safe, None
    return Finding(
        table=table.name,
        column=col.name,
        type=col.type,
        kind=kind,
        argument=argument,
        pattern=by_name.pattern if by_name is not None else None,
        shares=tuple(shown),
        sampled=len(sampled or ()),
        unique=unique,
        note=note,
        has_rule=_ruled(table.name, col.name, rules),
    )


def table_findings(
    conn: psycopg.Connection[Any], catalog: Catalog, table: Table, n: int, rules: Rules
) -> list[Finding]:
    """*table*'s personal columns, by name and by up to *n* sampled values a column,
    read on *conn* (already in the snapshot it should read); *rules* as for :func:`scan`."""
    unique = unique_columns(catalog, table.name)
    out: list[Finding] = []
    for col in table.columns:
        if col.generated is not Generated.NONE:  # computed in QA from the masked columns
            continue
        note = None
        sampled: list[str] | None = None
        if n and names.category(col.base_type.name) in _SAMPLED:
            if not table.can_select:
                note = "not sampled: the role may not read the table"
            else:
                try:
                    with conn.transaction():  # a savepoint: a column privilege may be missing
                        sampled = _sample(conn, table, col.name, n)
                except psycopg.errors.InsufficientPrivilege:
                    note = "not sampled: the role may not read the column"
        finding = _column(table, col, sampled, unique=col.name in unique, note=note, rules=rules)
        if finding is not None:
            out.append(finding)
    return out


@translating(doing="scanning production for personal data", server="production's server")
def scan(
    source: Endpoint,
    *,
    sample: int = 1000,
    rules: Mapping[str, Iterable[str]] | None = None,
    tables: Sequence[str] = (),
    exclude: Sequence[str] = (),
    schemas: Sequence[str] = (),
) -> Scan:
    """Find production's personal columns, read-only, under one snapshot.

    *sample*: the most non-empty values read per text-like column (0: names and
    types only).  *rules*: the columns ``[mask]`` has rules for, by table as
    pgferry.toml names it (``{"users": ["email"], "public.clients": [...]}``;
    a mapping of columns to rules will do), so each finding says whether it is
    covered.  *tables*, *exclude*, *schemas*: the scope, as ``migrate`` reads it.
    """
    if sample < 0:
        raise ConfigError(f"--sample must be 0 or more, not {sample}")
    given = {text: list(columns) for text, columns in (rules or {}).items()}
    findings: list[Finding] = []
    with (
        connect(source, read_only=True, autocommit=True, application_name="pgferry pii") as conn,
        conn.transaction(),  # one snapshot for the catalog and every sample
    ):
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        catalog = read_catalog(conn, parts=_PARTS)
        scanned = _scanned(catalog, tables, exclude, schemas)
        for t in scanned:
            findings += table_findings(conn, catalog, t, sample, given)
    rule_tables = {
        t.name: text for t in scanned if (text := _rule_table(t.name, given)) is not None
    }
    return Scan(
        source=source.describe(),
        sample=sample,
        tables=len(scanned),
        columns=sum(len(t.columns) for t in scanned),
        findings=tuple(findings),
        rule_tables=rule_tables,
    )
