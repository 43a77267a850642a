"""Compare production's and QA's catalogs: every difference, classed, with its fix.

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

from psycopg import sql

from .. import casts
from ..casts import CastKind
from ..catalog import (
    Catalog,
    Column,
    Constraint,
    ConstraintType,
    Generated,
    Identity,
    Name,
    RelKind,
    Table,
    quote_ident,
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
    differences: tuple[Difference, ...]
    source: str = ""  # 'PostgreSQL 18.1, database app'
    target: str = ""

    def __bool__(self) -> bool:
        return bool(self.differences)

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
            "counts": {s.value: len(self.of(s)) for s in Severity},
            "differences": [d.to_dict() for d in self.differences],
        }


T = TypeVar("T")
K = TypeVar("K")


def _pair(
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


def _norm(text: str | None) -> str:
    return " ".join((text or "").split())


_QUALIFIER = re.compile(r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)\.(?=["A-Za-z_])')


def _same_query(a: Table, b: Table) -> bool:
    """Whether two views say the same, read past how each server version deparses them.

    PostgreSQL 16 stopped qualifying columns of single-table views
    (``"Order".id`` became ``id``): qualifiers are removed from both texts
    before comparing, and the columns (names and types) must match too.
    """
    if [(c.name, c.type) for c in a.columns] != [(c.name, c.type) for c in b.columns]:
        return False
    return _QUALIFIER.sub("", _norm(a.definition)) == _QUALIFIER.sub("", _norm(b.definition))


class _Scope:
    """Which objects take part: user schemas (or the chosen ones), no extension members."""

    def __init__(self, schemas: Iterable[str]) -> None:
        self.schemas = frozenset(schemas)

    def schema(self, name: str) -> bool:
        return name != OWN_SCHEMA and (not self.schemas or name in self.schemas)

    def __call__(self, name: Name, extension: str | None = None) -> bool:
        return extension is None and self.schema(name.schema)


def diff(source: Catalog, target: Catalog, *, schemas: Iterable[str] = ()) -> SchemaDiff:
    """Every difference between production (*source*) and QA (*target*)."""
    scope = _Scope(schemas)
    out: list[Difference] = []
    out += _schemas(source, target, scope)
    out += _extensions(source, target)
    out += _enums(source, target, scope)
    out += _domains_and_composites(source, target, scope)
    out += _sequences(source, target, scope)
    out += _functions(source, target, scope)
    missing = _relations(source, target, scope, out)
    out += _constraints(source, target, scope, missing)
    out += _indexes(source, target, scope, missing)
    out += _triggers(source, target, scope, missing)
    order = {k: i for i, k in enumerate(KINDS)}
    rank = {s: i for i, s in enumerate(Severity)}
    out.sort(key=lambda d: (rank[d.severity], order.get(d.kind, 99), d.name))
    return SchemaDiff(
        tuple(out),
        f"PostgreSQL {source.server_version.split()[0]}, database {source.database}",
        f"PostgreSQL {target.server_version.split()[0]}, database {target.database}",
    )


# -- schemas, extensions, types ----------------------------------------------------------


def _schemas(source: Catalog, target: Catalog, scope: _Scope) -> list[Difference]:
    missing, extra, _ = _pair(
        [s for s in source.schemas if s.extension is None and scope.schema(s.name)],
        [s for s in target.schemas if s.extension is None and scope.schema(s.name)],
        lambda s: s.name,
    )
    out = [
        Difference(
            "schema",
            quote_ident(s.name),
            Change.MISSING,
            Severity.WARNING,
            "production has this schema, QA does not",
            "the tables in it are missing in QA (listed on their own)",
            (ddl.create_schema(s.name),),
        )
        for s in missing
    ]
    out += [
        Difference(
            "schema",
            quote_ident(s.name),
            Change.EXTRA,
            Severity.INFO,
            "QA has this schema, production does not",
            "leaves it alone",
            (
                Step(
                    ddl.Phase.DROP_SCHEMA, sql.SQL("DROP SCHEMA {}").format(sql.Identifier(s.name))
                ),
            ),
            drops=True,
        )
        for s in extra
    ]
    return out


def _extensions(source: Catalog, target: Catalog) -> list[Difference]:
    missing, extra, both = _pair(source.extensions, target.extensions, lambda e: e.name)
    out = [
        Difference(
            "extension",
            e.name,
            Change.MISSING,
            Severity.WARNING,
            f"production has extension {e.name} {e.version}, QA does not",
            "columns of its types are reported on their own",
            (ddl.create_extension(e.name, e.schema),),
        )
        for e in missing
    ]
    out += [
        Difference(
            "extension",
            e.name,
            Change.EXTRA,
            Severity.INFO,
            f"QA has extension {e.name} {e.version}, production does not",
            "leaves it alone",
            (
                Step(
                    ddl.Phase.DROP_EXTENSION,
                    sql.SQL("DROP EXTENSION {}").format(sql.Identifier(e.name)),
                ),
            ),
            drops=True,
        )
        for e in extra
    ]
    out += [
        Difference(
            "extension",
            s.name,
            Change.CHANGED,
            Severity.INFO,
            f"version {s.version} in production, {t.version} in QA",
            "copies data either way",
            refused="pgferry does not update extensions: ALTER EXTENSION ... UPDATE, if wanted",
        )
        for s, t in both
        if s.version != t.version
    ]
    return out


def _enums(source: Catalog, target: Catalog, scope: _Scope) -> list[Difference]:
    missing, extra, both = _pair(
        [e for e in source.enums if scope(e.name, e.extension)],
        [e for e in target.enums if scope(e.name, e.extension)],
        lambda e: e.name,
    )
    out = [
        Difference(
            "enum",
            str(e.name),
            Change.MISSING,
            Severity.WARNING,
            f"production has enum {e.name} ({', '.join(e.labels)}), QA does not",
            "columns of this type are reported on their own",
            (ddl.create_enum(e),),
        )
        for e in missing
    ]
    out += [
        Difference(
            "enum",
            str(e.name),
            Change.EXTRA,
            Severity.INFO,
            "QA has this enum, production does not",
            "leaves it alone",
            (ddl.drop_type(e.name),),
            drops=True,
        )
        for e in extra
    ]
    for s, t in both:
        lacking = [lb for lb in s.labels if lb not in t.labels]
        surplus = [lb for lb in t.labels if lb not in s.labels]
        if lacking:
            steps = []
            for lb in lacking:
                i = s.labels.index(lb)
                after = next((x for x in reversed(s.labels[:i]) if x in t.labels), None)
                before = None if after else next((x for x in s.labels[i:] if x in t.labels), None)
                steps.append(ddl.add_enum_label(s.name, lb, after, before))
            used = s.name in _enums_in_use(source)
            out.append(
                Difference(
                    "enum label",
                    str(s.name),
                    Change.MISSING,
                    Severity.BLOCKING if used else Severity.WARNING,
                    f"QA lacks label{'s' if len(lacking) > 1 else ''} "
                    + ", ".join(repr(x) for x in lacking),
                    "refuses to start: a row with such a value cannot be written to QA"
                    if used
                    else "copies data: no production column uses this enum",
                    tuple(steps),
                )
            )
        if surplus:
            out.append(
                Difference(
                    "enum label",
                    str(s.name),
                    Change.EXTRA,
                    Severity.INFO,
                    "QA has label"
                    + ("s " if len(surplus) > 1 else " ")
                    + ", ".join(repr(x) for x in surplus)
                    + " that production lacks",
                    "copies data either way",
                    refused="PostgreSQL cannot drop an enum label; leave it, or rebuild the type",
                )
            )
        common_s = [x for x in s.labels if x in t.labels]
        common_t = [x for x in t.labels if x in s.labels]
        if common_s != common_t:
            out.append(
                Difference(
                    "enum label",
                    str(s.name),
                    Change.CHANGED,
                    Severity.WARNING,
                    f"labels sort differently: {', '.join(common_s)} in production, "
                    f"{', '.join(common_t)} in QA",
                    "copies values by label; ORDER BY on this column sorts differently in QA",
                    refused="PostgreSQL cannot reorder enum labels; rebuild the type by hand",
                )
            )
    return out


def _enums_in_use(catalog: Catalog) -> set[Name]:
    """Enum types some column of a table stores (arrays of them included)."""
    return {
        Name(n.schema, n.name.removeprefix("_"))
        for t in catalog.tables
        if t.kind is not RelKind.VIEW
        for c in t.columns
        for n in (c.type_name, c.base_type)  # a domain over an enum stores the enum
    }


def _domains_and_composites(source: Catalog, target: Catalog, scope: _Scope) -> list[Difference]:
    out: list[Difference] = []
    missing, extra, both = _pair(
        [d for d in source.domains if scope(d.name, d.extension)],
        [d for d in target.domains if scope(d.name, d.extension)],
        lambda d: d.name,
    )
    for d in missing:
        out.append(
            Difference(
                "domain",
                str(d.name),
                Change.MISSING,
                Severity.WARNING,
                f"production has domain {d.name} ({d.base_type}), QA does not",
                "columns of this type are reported on their own",
                (ddl.create_domain(d),),
            )
        )
    for d in extra:
        out.append(
            Difference(
                "domain",
                str(d.name),
                Change.EXTRA,
                Severity.INFO,
                "QA has this domain, production does not",
                "leaves it alone",
                (ddl.drop_type(d.name, "DOMAIN"),),
                drops=True,
            )
        )
    for s, t in both:
        if (s.base_type, s.not_null, s.default, s.checks) != (
            t.base_type,
            t.not_null,
            t.default,
            t.checks,
        ):
            out.append(
                Difference(
                    "domain",
                    str(s.name),
                    Change.CHANGED,
                    Severity.WARNING,
                    _domain_words(s.base_type, s.not_null, s.checks)
                    + " in production; "
                    + _domain_words(t.base_type, t.not_null, t.checks)
                    + " in QA",
                    "a production value QA's domain rejects stops the copy of its table",
                    refused="change the domain by hand (ALTER DOMAIN), pgferry does not",
                )
            )
    missing_c, extra_c, both_c = _pair(
        [c for c in source.composites if scope(c.name, c.extension)],
        [c for c in target.composites if scope(c.name, c.extension)],
        lambda c: c.name,
    )
    for c in missing_c:
        out.append(
            Difference(
                "composite type",
                str(c.name),
                Change.MISSING,
                Severity.WARNING,
                "production has this composite type, QA does not",
                "columns of this type are reported on their own",
                (ddl.create_composite(c),),
            )
        )
    for c in extra_c:
        out.append(
            Difference(
                "composite type",
                str(c.name),
                Change.EXTRA,
                Severity.INFO,
                "QA has this composite type, production does not",
                "leaves it alone",
                (ddl.drop_type(c.name),),
                drops=True,
            )
        )
    for s_c, t_c in both_c:
        if s_c.attributes != t_c.attributes:
            out.append(
                Difference(
                    "composite type",
                    str(s_c.name),
                    Change.CHANGED,
                    Severity.WARNING,
                    f"({_attrs(s_c.attributes)}) in production, ({_attrs(t_c.attributes)}) in QA",
                    "a column of this type may not copy",
                    refused="change the type by hand (ALTER TYPE ... ADD/ALTER ATTRIBUTE)",
                )
            )
    return out


def _domain_words(base: str, not_null: bool, checks: tuple[str, ...]) -> str:
    words = base + (" NOT NULL" if not_null else "")
    return words + (" " + " ".join(checks) if checks else "")


def _attrs(attrs: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f"{quote_ident(n)} {t}" for n, t in attrs)


# -- sequences and functions ---------------------------------------------------------------


def _sequences(source: Catalog, target: Catalog, scope: _Scope) -> list[Difference]:
    def own(cat: Catalog) -> list[Any]:
        return [
            s
            for s in cat.sequences
            if scope(s.name, s.extension) and not ddl.is_identity_sequence(s)
        ]

    missing, extra, both = _pair(own(source), own(target), lambda s: s.name)
    out: list[Difference] = []
    for s in missing:
        owner = ddl.sequence_owner(s)
        out.append(
            Difference(
                "sequence",
                str(s.name),
                Change.MISSING,
                Severity.WARNING,
                f"production has sequence {s.name} ({s.data_type}), QA does not",
                "cannot set it; a column default that calls it fails in QA",
                (ddl.create_sequence(s), *([owner] if owner else [])),
            )
        )
    for s in extra:
        out.append(
            Difference(
                "sequence",
                str(s.name),
                Change.EXTRA,
                Severity.INFO,
                "QA has this sequence, production does not",
                "leaves it alone",
                (ddl.drop_sequence(s.name),),
                drops=True,
            )
        )
    for s, t in both:
        theirs = (t.data_type, t.increment, t.min_value, t.max_value, t.cycle)
        ours = (s.data_type, s.increment, s.min_value, s.max_value, s.cycle)
        if theirs != ours:
            out.append(
                Difference(
                    "sequence",
                    str(s.name),
                    Change.CHANGED,
                    Severity.WARNING,
                    f"{_seq_words(s)} in production, {_seq_words(t)} in QA",
                    "sets its position from production's data; new values follow QA's settings",
                    (ddl.alter_sequence(s),),
                )
            )
    return out


def _seq_words(s: Any) -> str:
    return f"{s.data_type} by {s.increment} from {s.min_value} to {s.max_value}" + (
        " cycling" if s.cycle else ""
    )


def _functions(source: Catalog, target: Catalog, scope: _Scope) -> list[Difference]:
    missing, extra, both = _pair(
        [f for f in source.functions if scope(f.name, f.extension)],
        [f for f in target.functions if scope(f.name, f.extension)],
        lambda f: (f.name, f.identity_args),
    )
    out: list[Difference] = []
    for f in missing:
        step = ddl.create_function(f, source)
        out.append(
            Difference(
                "function",
                f.signature,
                Change.MISSING,
                Severity.WARNING,
                f"production has {f.kind.name.lower()} {f.signature}, QA does not",
                "copies data; triggers or defaults that call it fail in QA",
                (step,) if step else (),
                refused=None if step else "an ordered-set aggregate is left to you",
            )
        )
    for f in extra:
        out.append(
            Difference(
                "function",
                f.signature,
                Change.EXTRA,
                Severity.INFO,
                f"QA has {f.kind.name.lower()} {f.signature}, production does not",
                "leaves it alone",
                (ddl.drop_function(f),),
                drops=True,
            )
        )
    for s, t in both:
        if _norm(s.definition) == _norm(t.definition):
            continue
        step = ddl.create_function(s, source)
        out.append(
            Difference(
                "function",
                s.signature,
                Change.CHANGED,
                Severity.WARNING,
                "its definition differs",
                "copies data; QA's code runs in QA",
                (step,) if step else (),
            )
        )
    return out


# -- tables, columns, views ------------------------------------------------------------------


_VIEWS = (RelKind.VIEW, RelKind.MATVIEW)


def _kind_word(t: Table) -> str:
    return {RelKind.VIEW: "view", RelKind.MATVIEW: "materialized view"}.get(t.kind, "table")


def _relations(source: Catalog, target: Catalog, scope: _Scope, out: list[Difference]) -> set[Name]:
    """Tables and views; returns the relations QA lacks (their parts come with them)."""
    missing, extra, both = _pair(
        [t for t in source.tables if scope(t.name, t.extension)],
        [t for t in target.tables if scope(t.name, t.extension)],
        lambda t: t.name,
    )
    for t in missing:
        out.append(_missing_relation(t, source))
    for t in extra:
        out.append(
            Difference(
                _kind_word(t),
                str(t.name),
                Change.EXTRA,
                Severity.WARNING if t.kind not in _VIEWS else Severity.INFO,
                f"QA has this {_kind_word(t)}, production does not",
                "leaves its rows as they are" if t.kind not in _VIEWS else "leaves it alone",
                (ddl.drop_table(t, target),),
                drops=t.kind not in _VIEWS,
                table=t.name,
            )
        )
    for s, t in both:
        if (s.kind in _VIEWS) != (t.kind in _VIEWS) or (s.kind in _VIEWS and s.kind != t.kind):
            out.append(
                Difference(
                    _kind_word(s),
                    str(s.name),
                    Change.CHANGED,
                    Severity.BLOCKING,
                    f"a {_kind_word(s)} in production, a {_kind_word(t)} in QA",
                    "refuses to start",
                    refused="drop QA's object by hand, then run schema push",
                    table=s.name,
                )
            )
            continue
        if s.kind in _VIEWS:
            if not _same_query(s, t):
                fix = (
                    (ddl.drop_table(t, target), ddl.create_view(s, source))
                    if s.kind is RelKind.MATVIEW
                    else (ddl.create_view(s, source, replace=True),)
                )
                out.append(
                    Difference(
                        _kind_word(s),
                        str(s.name),
                        Change.CHANGED,
                        Severity.WARNING,
                        "its query differs",
                        "refreshes it from QA's query"
                        if s.kind is RelKind.MATVIEW
                        else "leaves it alone: a view holds no rows",
                        fix,
                        table=s.name,
                    )
                )
            continue
        out += column_differences(s, t, source, target)
    return {t.name for t in missing}


def _missing_relation(t: Table, source: Catalog) -> Difference:
    if t.kind in _VIEWS:
        mv = t.kind is RelKind.MATVIEW
        return Difference(
            _kind_word(t),
            str(t.name),
            Change.MISSING,
            Severity.BLOCKING if mv else Severity.WARNING,
            f"production has this {_kind_word(t)}, QA does not",
            "refuses to start: it would refresh it"
            if mv
            else "leaves it alone: a view holds no rows",
            (ddl.create_view(t, source), *ddl.table_extras(t, source)),
            table=t.name,
        )
    if t.kind is RelKind.FOREIGN:
        return Difference(
            "table",
            str(t.name),
            Change.MISSING,
            Severity.INFO,
            "production has this foreign table, QA does not",
            "does not copy foreign tables",
            refused="a foreign table needs its server in QA: create it by hand",
            table=t.name,
        )
    owned = [
        ddl.sequence_owner(s)
        for s in source.sequences
        if any(f.column.table == t.name for f in s.feeds) and not ddl.is_identity_sequence(s)
    ]
    return Difference(
        "table",
        str(t.name),
        Change.MISSING,
        Severity.BLOCKING,
        f"production has table {t.name}, QA does not",
        "refuses to start (or leave it out with --exclude)",
        (ddl.create_table(t, source), *ddl.table_extras(t, source), *[o for o in owned if o]),
        table=t.name,
    )


def column_differences(
    src: Table, dst: Table, source: Catalog, target: Catalog
) -> list[Difference]:
    """How the columns of one table differ; also what :func:`pgferry.plan.build_plan` judges."""
    out: list[Difference] = []
    missing, extra, both = _pair(src.columns, dst.columns, lambda c: c.name)
    for c in missing:
        out.append(
            Difference(
                "column",
                f"{src.name}.{quote_ident(c.name)}",
                Change.MISSING,
                Severity.BLOCKING,
                f"production has column {c.name} ({c.type}), QA does not",
                "refuses to start: production's values have nowhere to go",
                tuple(ddl.add_column(src.name, c, source)),
                table=src.name,
            )
        )
    for c in extra:
        filled = c.default is not None or c.identity is not Identity.NONE
        blocked = c.not_null and not filled and c.generated is Generated.NONE
        out.append(
            Difference(
                "column",
                f"{dst.name}.{quote_ident(c.name)}",
                Change.EXTRA,
                Severity.BLOCKING if blocked else Severity.WARNING,
                f"QA has column {c.name} ({c.type}), production does not"
                + (", and it is NOT NULL without a default" if blocked else ""),
                "refuses to start: the rows would have no value for it"
                if blocked
                else "QA computes it"
                if c.generated is not Generated.NONE
                else f"fills it with {'its default' if filled else 'NULL'}",
                (ddl.drop_column(dst.name, c.name),),
                drops=True,
                table=dst.name,
            )
        )
    for s, d in both:
        out += _column_changes(src.name, s, d, source)
    order_s = [c.name for c in src.columns if dst.column(c.name) is not None]
    order_d = [c.name for c in dst.columns if src.column(c.name) is not None]
    if order_s != order_d:
        out.append(
            Difference(
                "column",
                f"{src.name} (column order)",
                Change.CHANGED,
                Severity.INFO,
                f"columns are in another order in QA: {', '.join(order_d)}",
                "copies by column name; SELECT * lists them in QA's order",
                refused="PostgreSQL cannot reorder columns; only recreating the table would",
                table=src.name,
            )
        )
    return out


def _column_changes(table: Name, s: Column, d: Column, source: Catalog) -> list[Difference]:
    out: list[Difference] = []
    name = f"{table}.{quote_ident(s.name)}"

    def changed(
        severity: Severity, detail: str, migrate: str, fix: tuple[Step, ...] = (), **kw: Any
    ) -> None:
        out.append(
            Difference(
                "column", name, Change.CHANGED, severity, detail, migrate, fix, table=table, **kw
            )
        )

    if s.type != d.type:
        copy = casts.classify(s, d)  # production -> QA: what a copy does
        push = casts.classify(d, s)  # QA -> production: what changing QA's type does
        severity = Severity.BLOCKING if copy is CastKind.UNSAFE else Severity.WARNING
        migrate = (
            "refuses to start: no cast keeps every value"
            if copy is CastKind.UNSAFE
            else casts.note(s, d)
        )
        step = ddl.set_type(table, s.name, s.type)
        if push is CastKind.SAFE:
            changed(severity, f"{s.type} in production, {d.type} in QA", migrate, (step,))
        elif push is CastKind.CHECKED:
            changed(
                severity, f"{s.type} in production, {d.type} in QA", migrate, (step,), drops=True
            )
        else:
            changed(
                severity,
                f"{s.type} in production, {d.type} in QA",
                migrate,
                refused=f"changing QA's {d.type} to {s.type} could change or lose values; "
                "change it by hand (ALTER TABLE ... ALTER COLUMN ... TYPE ... USING ...)",
            )
    if s.generated != d.generated:
        changed(
            Severity.WARNING,
            f"generated {s.generated.name.lower()} in production, {d.generated.name.lower()} in QA",
            "QA computes it"
            if d.generated is not Generated.NONE
            else "copies production's computed values",
            refused="a generated column cannot be switched in place: drop and add it by hand",
        )
        return out
    if s.identity != d.identity:
        if s.identity is not Identity.NONE and d.identity is not Identity.NONE:
            how = "ALWAYS" if s.identity is Identity.ALWAYS else "BY DEFAULT"
            fix: tuple[Step, ...] = (
                ddl.alter_column(table, s.name, sql.SQL("SET GENERATED " + how)),
            )
            changed(
                Severity.INFO,
                f"identity {s.identity.name.lower()} in production, "
                f"{d.identity.name.lower()} in QA",
                "copies values either way",
                fix,
            )
        else:
            changed(
                Severity.WARNING,
                f"identity {s.identity.name.lower()} in production, "
                f"{d.identity.name.lower()} in QA",
                "copies values; the sequences step sets what it can",
                refused="adding or removing an identity is left to you "
                "(ALTER TABLE ... ALTER COLUMN ... ADD/DROP IDENTITY)",
            )
    if s.not_null != d.not_null:
        if d.not_null:
            changed(
                Severity.WARNING,
                "nullable in production, NOT NULL in QA",
                "a NULL from production stops the copy of this table",
                (ddl.alter_column(table, s.name, sql.SQL("DROP NOT NULL")),),
            )
        else:
            changed(
                Severity.INFO,
                "NOT NULL in production, nullable in QA",
                "copies values either way",
                (ddl.alter_column(table, s.name, sql.SQL("SET NOT NULL")),),
            )
    if (
        s.generated is Generated.NONE
        and s.identity is Identity.NONE
        and d.identity is Identity.NONE
        and _norm(s.default) != _norm(d.default)
    ):
        fix_default = ddl.alter_column(
            table,
            s.name,
            sql.SQL("SET DEFAULT {}").format(sql.SQL(s.default))
            if s.default is not None
            else sql.SQL("DROP DEFAULT"),
        )
        changed(
            Severity.INFO,
            f"default {s.default or 'none'} in production, {d.default or 'none'} in QA",
            "copies values; new rows in QA get QA's default",
            (fix_default,),
        )
    return out


# -- constraints, indexes, triggers -------------------------------------------------------


_CON_WORDS = {
    ConstraintType.PRIMARY_KEY: "primary key",
    ConstraintType.UNIQUE: "unique constraint",
    ConstraintType.FOREIGN_KEY: "foreign key",
    ConstraintType.CHECK: "check constraint",
    ConstraintType.EXCLUSION: "exclusion constraint",
}


def _constraints(
    source: Catalog, target: Catalog, scope: _Scope, missing_tables: set[Name]
) -> list[Difference]:
    dst_tables = {t.name for t in target.tables}

    def keep(t: Name) -> bool:
        return scope(t) and t not in missing_tables

    missing, extra, both = _pair(
        [c for c in source.constraints if keep(c.table) and c.table in dst_tables],
        [c for c in target.constraints if keep(c.table) and source.table(c.table) is not None],
        lambda c: (c.table, c.name),
    )
    out: list[Difference] = []
    for c in missing:
        key = c.type in (ConstraintType.PRIMARY_KEY, ConstraintType.UNIQUE)
        out.append(
            Difference(
                "constraint",
                f"{c.name} on {c.table}",
                Change.MISSING,
                Severity.WARNING if key else Severity.INFO,
                f"production has {_CON_WORDS[c.type]} {c.definition}, QA does not",
                "copies data; QA does not enforce it",
                (ddl.add_constraint(c),),
                table=c.table,
            )
        )
    for c in extra:
        out.append(
            Difference(
                "constraint",
                f"{c.name} on {c.table}",
                Change.EXTRA,
                Severity.WARNING,
                f"QA has {_CON_WORDS[c.type]} {c.definition}, production does not",
                _extra_constraint_words(c),
                (ddl.drop_constraint(c),),
                drops=True,
                table=c.table,
            )
        )
    for s, t in both:
        if _norm(s.definition) != _norm(t.definition) or s.type != t.type:
            out.append(
                Difference(
                    "constraint",
                    f"{s.name} on {s.table}",
                    Change.CHANGED,
                    Severity.WARNING,
                    f"{s.definition} in production, {t.definition} in QA",
                    _extra_constraint_words(t),
                    (ddl.drop_constraint(t), ddl.add_constraint(s)),
                    table=s.table,
                )
            )
    return out


def _extra_constraint_words(c: Constraint) -> str:
    if c.type is ConstraintType.FOREIGN_KEY:
        return "validates it after the load: production rows it rejects are reported"
    return "a production row it rejects stops the copy of this table"


def _indexes(
    source: Catalog, target: Catalog, scope: _Scope, missing_tables: set[Name]
) -> list[Difference]:
    def own(cat: Catalog, other: Catalog) -> list[Any]:
        return [
            i
            for i in cat.indexes
            if scope(i.table)
            and i.table not in missing_tables
            and other.table(i.table)
            and not (i.constraint or i.in_partitioned)
        ]

    missing, extra, both = _pair(
        own(source, target), own(target, source), lambda i: (i.table, i.name)
    )
    out: list[Difference] = []
    for i in missing:
        out.append(
            Difference(
                "index",
                f"{Name(i.table.schema, i.name)} on {i.table}",
                Change.MISSING,
                Severity.WARNING if i.unique else Severity.INFO,
                f"production has {i.definition}, QA does not",
                "copies data; queries in QA may be slower"
                + (", and duplicates are not refused" if i.unique else ""),
                (ddl.create_index(i),),
                table=i.table,
            )
        )
    for i in extra:
        out.append(
            Difference(
                "index",
                f"{Name(i.table.schema, i.name)} on {i.table}",
                Change.EXTRA,
                Severity.WARNING if i.unique else Severity.INFO,
                f"QA has {i.definition}, production does not",
                "sets it aside during the load and builds it again"
                + ("; production duplicates stop that" if i.unique else ""),
                (ddl.drop_index(i),),
                table=i.table,
            )
        )
    for s, t in both:
        if _norm(s.definition) != _norm(t.definition):
            out.append(
                Difference(
                    "index",
                    f"{Name(s.table.schema, s.name)} on {s.table}",
                    Change.CHANGED,
                    Severity.INFO,
                    f"{s.definition} in production, {t.definition} in QA",
                    "copies data either way",
                    (ddl.drop_index(t), ddl.create_index(s)),
                    table=s.table,
                )
            )
    return out


def _triggers(
    source: Catalog, target: Catalog, scope: _Scope, missing_tables: set[Name]
) -> list[Difference]:
    def own(cat: Catalog, other: Catalog) -> list[Any]:
        return [
            t
            for t in cat.triggers
            if scope(t.table)
            and t.table not in missing_tables
            and other.table(t.table)
            and not t.is_clone
        ]

    missing, extra, both = _pair(
        own(source, target), own(target, source), lambda t: (t.table, t.name)
    )
    out: list[Difference] = []
    for t in missing:
        out.append(
            Difference(
                "trigger",
                f"{t.name} on {t.table}",
                Change.MISSING,
                Severity.WARNING,
                "production has this trigger, QA does not",
                "copies data (triggers do not fire during the load); in QA it never fires",
                tuple(ddl.create_trigger(t)),
                table=t.table,
            )
        )
    for t in extra:
        out.append(
            Difference(
                "trigger",
                f"{t.name} on {t.table}",
                Change.EXTRA,
                Severity.WARNING,
                "QA has this trigger, production does not",
                "keeps it from firing during the load; it fires for new rows",
                (ddl.drop_trigger(t),),
                table=t.table,
            )
        )
    for s, t in both:
        if _norm(s.definition) != _norm(t.definition) or s.is_enabled != t.is_enabled:
            out.append(
                Difference(
                    "trigger",
                    f"{s.name} on {s.table}",
                    Change.CHANGED,
                    Severity.WARNING,
                    "its definition or state differs",
                    "copies data either way",
                    (ddl.drop_trigger(t), *ddl.create_trigger(s)),
                    table=s.table,
                )
            )
    return out
