"""Masking as a plan shaper (issue 14): each masked table is read as COPY text and
its rows pass through :func:`pgferry.masking.rewrite.rewriter` on the way to QA.

Production is only read; the masks are computed in this process from a key
that never goes to either server, so it cannot appear in their logs.  ``sql``
rules are the exception by design: they hold no secret, and production's server
evaluates them in the COPY query.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace

from psycopg import sql

from ..catalog import Catalog, Column, ConstraintType, Generated, Name
from ..errors import ConfigError
from ..masking import Keyed
from ..masking.columns import build, known, shifter, unique_safe
from ..masking.fakes import KINDS
from ..masking.kind import Fake
from ..masking.rewrite import Shift, rewriter
from ..masking.rules import Rule, parse
from ..plan import Plan, TablePlan, Transform
from .pipeline import Shaper

#: rules as the caller writes them: per table (``"public.users"`` or ``"users"``),
#: per column, a :class:`Rule` or what ``[mask]`` in pgferry.toml holds
Rules = Mapping[str, Mapping[str, Rule | str | dict[str, object]]]

#: a column's rule, found by its table and name
Found = dict[tuple[Name, str], Rule]

#: strict mode's hook: refuses a plan whose personal or new columns lack a rule
Strict = Callable[[Plan, Catalog, Catalog, Found], None]

_DATES = ("date", "timestamp", "timestamptz")
_NUMBERS = ("int2", "int4", "int8", "numeric", "float4", "float8")  # money: "$1,234.50"
_JSON = ("json", "jsonb")
SAFE = ("email", "hash", "digits", "uuid")
#: a type with a length limit, as format_type writes it
LENGTH = re.compile(r"^(?:character varying|character|bit varying|bit)\((\d+)\)")
#: the kinds that need no key
UNKEYED = ("keep", "null", "fixed", "sql")
#: what the unkeyed kinds are built with: they never read it
_UNUSED = Keyed(b"unkeyed kinds never read this")
#: the types a rule kind can mask, and how to say them
_TYPES = {
    "date_shift": (_DATES, "dates and timestamps"),
    "noise": (_NUMBERS, "numbers"),
    "json": (_JSON, "json and jsonb"),
}


def _read(rules: Rules) -> dict[str, dict[str, Rule]]:
    out: dict[str, dict[str, Rule]] = {}
    for table, columns in rules.items():
        for column, value in columns.items():
            try:
                rule = parse(value)
            except ConfigError as exc:
                raise ConfigError(f"masking {table}.{column}: {exc}") from None
            kinds = [rule.kind, *(inner.kind for _, inner in rule.paths)]
            for kind in kinds:
                if not known(kind):
                    raise ConfigError(
                        f"masking {table}.{column}: there is no kind {kind!r}",
                        hint="kinds: " + ", ".join(sorted(kinds_known())),
                    )
            out.setdefault(table, {})[column] = rule
    return out


def kinds_known() -> list[str]:
    """Every kind a rule may name."""
    return [*KINDS, "keep", "null", "fixed", "sql", "date_shift", "noise", "json"]


def _resolve(
    rules: Mapping[str, Mapping[str, Rule]], source: Catalog
) -> dict[Name, dict[str, Rule]]:
    """The rules by production's table: a name without a schema is the table of that
    name in any schema, as ``[migrate] tables`` reads it (ambiguous: an error)."""
    out: dict[Name, dict[str, Rule]] = {}
    for text, columns in rules.items():
        schema, dot, table = text.rpartition(".")
        found = [
            t.name
            for t in source.tables
            if t.name.name == table and (not dot or t.name.schema == schema)
        ]
        if len(found) > 1:
            raise ConfigError(
                f"masking names {text}, which is a table in several schemas: "
                + ", ".join(str(n) for n in found),
                hint='qualify the name in pgferry.toml, e.g. [mask."' + str(found[0]) + '"]',
            )
        name = found[0] if found else Name(schema if dot else "public", table)
        merged = out.setdefault(name, {})  # [mask.users] and [mask."public.users"] alike
        for column, rule in columns.items():
            if column in merged and merged[column] != rule:
                raise ConfigError(
                    f"masking gives {name}.{column} two rules, {merged[column]} and {rule}",
                    hint="keep one: the table is named twice in the masking rules",
                )
            merged[column] = rule
    return out


def resolved(rules: Rules, source: Catalog) -> dict[Name, dict[str, Rule]]:
    """*rules* read and keyed by production's tables (``keep`` rules included)."""
    return _resolve(_read(rules), source)


def _follow_keys(
    wanted: Mapping[Name, Mapping[str, Rule]], source: Catalog, copied: set[Name]
) -> Found:
    """The rules with every column a foreign key points from a masked column added,
    with the same rule, so the keys still join in QA; a key whose two ends would
    be masked differently (or only its referencing end) stops the run."""
    rules = {(t, c): r for t, columns in wanted.items() for c, r in columns.items() if r.masks}
    for table, columns in wanted.items():  # a partitioned table's rules reach its partitions
        for leaf in leaves(source, table, copied):
            for c, r in columns.items():
                if r.masks:
                    rules.setdefault((leaf, c), r)
    keys = [c for c in source.constraints if c.type is ConstraintType.FOREIGN_KEY and c.ref_table]
    changed = True
    while changed:
        changed = False
        for fk in keys:
            assert fk.ref_table is not None
            for column, ref in zip(fk.columns, fk.ref_columns, strict=True):
                theirs = rules.get((fk.ref_table, ref))
                for table in (fk.table, *leaves(source, fk.table, copied)):
                    ours = rules.get((table, column))
                    if theirs is not None and ours is None and table in copied:
                        rules[(table, column)] = theirs
                        changed = True
                    elif ours is not None and ours != theirs:
                        said = f"masked as {theirs}" if theirs else "not masked"
                        raise ConfigError(
                            f"masking {table}.{column} as {ours} breaks foreign key {fk.name}: "
                            f"{fk.ref_table}.{ref}, which it references, is {said}",
                            hint=f"mask {fk.ref_table}.{ref} as {ours} (its referencing "
                            "columns follow it), or drop the rule",
                        )
    return rules


def leaves(source: Catalog, table: Name, copied: set[Name]) -> list[Name]:
    """The copied tables below *table*: its partitions, or an inheritance parent's
    children (the parent is read with ONLY, each child copied as a table of its
    own).  Their rows are *table*'s rows, and its rules and foreign keys apply."""
    out = []
    for name in (t.name for t in source.tables if table in t.parents):
        out += [name] if name in copied else []
        out += leaves(source, name, copied)  # an inheritance child's own children too
    return out


def _unique_constraint(source: Catalog, table: Name, column: str) -> str | None:
    """The primary key, unique constraint or unique index of *table* that *column* is
    part of, by name; ``None`` when there is none."""
    described = source.table(table)
    for parent in described.parents if described else ():  # a partitioned parent's keys
        found = _unique_constraint(source, parent, column)
        if found is not None:
            return found
    for c in source.constraints_of(table):
        if c.type in (ConstraintType.PRIMARY_KEY, ConstraintType.UNIQUE) and column in c.columns:
            return c.name
    word = re.compile(r'(?<![\w"])' + re.escape(column) + r'(?![\w"])|"' + re.escape(column) + '"')
    for index in source.indexes:
        if index.table == table and index.unique:
            columns = index.definition.partition(" USING ")[2]
            if word.search(columns.partition(" WHERE ")[0]):
                return index.name
    return None


def _check_fit(source: Catalog, table: Name, column: Column, rule: Rule) -> None:
    """A rule that cannot give a value of the column's type, or that could give two
    rows of a unique column the same value, stops the run here."""
    base = column.base_type.name if column.base_type.schema == "pg_catalog" else ""
    wants = _TYPES.get(rule.kind)
    if wants is not None and base not in wants[0]:
        raise ConfigError(
            f"masking {table}.{column.name} ({column.type}) with {rule.kind}: "
            f"{rule.kind} masks {wants[1]} only",
            hint="pick a kind for this column's type: see docs/masking.md",
        )
    if rule.masks and not unique_safe(rule):
        unique = _unique_constraint(source, table, column.name)
        if unique is not None:
            raise ConfigError(
                f"masking {table}.{column.name} as {rule} can give two rows the same value, "
                f"and {unique} keeps {column.name} unique",
                hint="use a kind that keeps distinct values distinct: "
                + ", ".join(SAFE)
                + " (or iban, card, ip)",
            )


def max_length(column: Column) -> int | None:
    """The most characters *column* holds (``varchar(n)``, ``char(n)``), or None."""
    match = LENGTH.match(column.type)
    return int(match.group(1)) if match else None


def _cut(fake: Fake, length: int) -> Fake:
    def cut(value: str) -> str | None:
        out = fake(value)
        return out[:length] if out is not None else None

    return cut


def _table_masks(
    key: Keyed | None, tp: TablePlan, rules: Mapping[str, Rule], catalogs: tuple[Catalog, Catalog]
) -> tuple[dict[str, Fake], dict[str, tuple[str, Shift]], list[Transform]]:
    """The masks of one table's columns.  A kind that is not unique-safe (a name, a
    street) is cut to a ``varchar(n)`` column's length, as a person would shorten
    it; a unique-safe kind never is, since that could make two values meet (the
    sample check names the rule instead).  The length is QA's where QA has the
    column, else production's."""
    lengths: dict[str, int | None] = {}
    for catalog, name in zip(catalogs, (tp.source, tp.target), strict=True):
        described = catalog.table(name)  # QA's type last: the one its COPY must fit
        lengths |= {c.name: max_length(c) for c in described.columns} if described else {}
    fakes: dict[str, Fake] = {}
    shifts: dict[str, tuple[str, Shift]] = {}
    transforms = []
    for column, rule in rules.items():
        if key is None and rule.kind not in UNKEYED:
            raise ConfigError(f"masking {tp.source}.{column} as {rule.kind} needs the masking key")
        if rule.kind == "sql":
            expression = sql.SQL("({})").format(sql.SQL(rule.value or "NULL"))
            transforms.append(Transform(column, expression, note="masked by sql"))
        elif rule.by is not None:
            if rule.by not in tp.columns:
                raise ConfigError(
                    f"masking {tp.source}.{column}: by names {rule.by}, which is not copied",
                    hint="copied columns: " + ", ".join(tp.columns),
                )
            assert key is not None
            shifts[column] = (rule.by, shifter(rule, key))
        else:
            fakes[column] = build(rule, key or _UNUSED)
            length = lengths.get(column)
            if length is not None and not unique_safe(rule) and rule.kind != "fixed":
                fakes[column] = _cut(fakes[column], length)
    return fakes, shifts, transforms


def _checked(
    wanted: Mapping[Name, Mapping[str, Rule]], planned: Mapping[Name, TablePlan], source: Catalog
) -> None:
    for table, columns in wanted.items():
        tp = planned.get(table)
        below = leaves(source, table, set(planned))
        if tp is None and below:
            tp = planned[below[0]]
        if tp is None:
            found = source.table(table) is not None
            raise ConfigError(
                f"masking names {table}, which "
                + ("this run does not copy" if found else "production does not have"),
                hint="fix the table's name in the masking rules, or copy the table",
            )
        described = source.table(table)
        have = {c.name for c in described.columns} if described else set(tp.columns)
        missing = [c for c in columns if c not in have]
        if missing:
            raise ConfigError(
                f"masking names column {missing[0]} of {table}, which production does not have",
                hint="its columns: " + ", ".join(sorted(have)),
            )


def found_rules(plan: Plan, rules: Rules, source: Catalog) -> Found:
    """Every column *rules* masks in *plan*, foreign keys followed, each rule checked
    against production's catalog: what a run masks, found without the key."""
    planned = {tp.source: tp for tp in plan.tables}
    wanted = _resolve(_read(rules), source)
    _checked(wanted, planned, source)
    found = _follow_keys(wanted, source, set(planned))
    for (table, name), rule in list(found.items()):
        if table not in planned:  # a partitioned parent: its partitions carry the rule
            del found[(table, name)]
            continue
        described = source.table(table)
        column = next((c for c in described.columns if c.name == name), None) if described else None
        if name not in planned[table].columns or column is None:
            # not copied: generated (QA computes it), or not yet in QA (a schema push
            # adds it and the plan made after the push masks it): no value to mask here
            del found[(table, name)]
            continue
        _check_fit(source, table, column, rule)
    return found


def _refuse_computed(plan: Plan, rules: Rules, source: Catalog, found: Found) -> None:
    """A column production computes (GENERATED) but QA stores is copied as production
    computed it, from the row's raw values: in a masked table it needs a rule of its
    own (``keep`` when it holds nothing personal)."""
    named = {(t, c) for t, columns in resolved(rules, source).items() for c in columns}
    masked_tables = {t for t, _ in found}
    for tp in plan.tables:
        table = source.table(tp.source)
        if tp.source not in masked_tables or table is None:
            continue
        for column in table.columns:
            computed = column.generated is not Generated.NONE and column.name in tp.columns
            if computed and (tp.source, column.name) not in named | set(found):
                raise ConfigError(
                    f"{tp.source}.{column.name} is computed by production from the row's "
                    "unmasked values, and QA stores it as it is: it needs a masking rule",
                    hint=f'add {column.name} = "keep" (nothing personal in it) or a masking '
                    f'rule under [mask."{tp.source}"]',
                )


def _by_table(found: Found) -> dict[Name, dict[str, Rule]]:
    out: dict[Name, dict[str, Rule]] = {}
    for (table, column), rule in found.items():
        out.setdefault(table, {})[column] = rule
    return out


def needs_key(rules: Rules) -> bool:
    """Whether any of *rules* is keyed (all but keep, null, fixed and sql are)."""
    read = _read(rules)
    return any(r.kind not in UNKEYED for columns in read.values() for r in columns.values())


def masking(
    key: Keyed | None,
    rules: Rules,
    *,
    strict: Callable[[Plan, Catalog, Catalog, Found], None] | None = None,
) -> Shaper:
    """A shaper masking, per table (``"public.users"`` or ``"users"``), each column
    with its rule (``{"users": {"email": "email"}}``).  A table, column or kind that
    does not exist, or a rule that does not fit its column, stops the run before
    anything is written.  Columns that reference a masked column through a
    foreign key are masked with it.  *strict*, when given, is called with what
    was found and may refuse the run (see :mod:`pgferry.refresh.strict`)."""
    _read(rules)  # a malformed rule or unknown kind fails now, before any connection

    def shape(plan: Plan, source: Catalog, target: Catalog) -> Plan:
        found = found_rules(plan, rules, source)
        _refuse_computed(plan, rules, source, found)
        if strict is not None:
            strict(plan, source, target, found)
        planned = {tp.source: tp for tp in plan.tables}
        for table, columns in _by_table(found).items():
            tp = planned[table]
            fakes, shifts, transforms = _table_masks(key, tp, columns, (source, target))
            planned[table] = replace(
                tp,
                binary=False,
                masked=tuple((c, r.kind) for c, r in columns.items()),
                transforms=(*tp.transforms, *transforms),
                rewrite=rewriter(
                    tp.columns,
                    fakes,
                    shifts=shifts,
                    table=str(tp.source),
                    kinds={c: r.kind for c, r in columns.items()},
                )
                if fakes or shifts
                else None,
            )
        return replace(plan, tables=tuple(planned[tp.source] for tp in plan.tables))

    return shape


def mark_masked(plan: Plan, rules: Rules, source: Catalog) -> Plan:
    """*plan* with each table's masked columns named, foreign keys followed, and no
    rewriting: what ``verify`` needs, without the key."""
    by_table = _by_table(found_rules(plan, rules, source))
    tables = tuple(
        replace(tp, masked=tuple((c, r.kind) for c, r in by_table.get(tp.source, {}).items()))
        for tp in plan.tables
    )
    return replace(plan, tables=tables)


__all__ = [
    "Found",
    "Rules",
    "Strict",
    "found_rules",
    "kinds_known",
    "mark_masked",
    "masking",
    "needs_key",
    "resolved",
]
