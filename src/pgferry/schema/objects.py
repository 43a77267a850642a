"""Differences in schemas, extensions, types (enums, domains, composites), sequences and
functions."""

from __future__ import annotations

from typing import Any

from psycopg import sql

from ..catalog import (
    Catalog,
    Name,
    RelKind,
    quote_ident,
)
from ..plan import Severity
from . import ddl
from .ddl import Step
from .model import Change, Difference, Scope, norm, only_in_qa, pair

# -- schemas, extensions, types ----------------------------------------------------------


def namespaces(source: Catalog, target: Catalog, scope: Scope) -> list[Difference]:
    missing, extra, _ = pair(
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


def extensions(source: Catalog, target: Catalog) -> list[Difference]:
    missing, extra, both = pair(source.extensions, target.extensions, lambda e: e.name)
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


def enums(source: Catalog, target: Catalog, scope: Scope) -> list[Difference]:
    missing, extra, both = pair(
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
    out += [only_in_qa("enum", str(e.name), ddl.drop_type(e.name)) for e in extra]
    for s, t in both:
        lacking = [lb for lb in s.labels if lb not in t.labels]
        surplus = [lb for lb in t.labels if lb not in s.labels]
        if lacking:
            steps = []
            for lb in lacking:
                # in production's order: each after the one before it, present or just added
                i = s.labels.index(lb)
                after = s.labels[i - 1] if i > 0 else None
                before = None if after else next((x for x in s.labels if x in t.labels), None)
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


def domains_and_composites(source: Catalog, target: Catalog, scope: Scope) -> list[Difference]:
    out: list[Difference] = []
    missing, extra, both = pair(
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
        out.append(only_in_qa("domain", str(d.name), ddl.drop_type(d.name, "DOMAIN")))
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
    missing_c, extra_c, both_c = pair(
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
        out.append(only_in_qa("composite type", str(c.name), ddl.drop_type(c.name)))
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


def sequences(source: Catalog, target: Catalog, scope: Scope) -> list[Difference]:
    def own(cat: Catalog) -> list[Any]:
        return [
            s
            for s in cat.sequences
            if scope(s.name, s.extension) and not ddl.is_identity_sequence(s)
        ]

    missing, extra, both = pair(own(source), own(target), lambda s: s.name)
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
        out.append(only_in_qa("sequence", str(s.name), ddl.drop_sequence(s.name)))
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


def functions(source: Catalog, target: Catalog, scope: Scope) -> list[Difference]:
    missing, extra, both = pair(
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
        if norm(s.definition) == norm(t.definition):
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
