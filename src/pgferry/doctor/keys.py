"""Unique and foreign-key violations: is a sequence behind, which rows are orphans?"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from .. import journal
from ..catalog import Catalog, ColumnRef, Constraint, ConstraintType, Name, Table, quote_ident
from ..integrity import count_orphans
from ..sequences import SequenceState, Status, inspect_sequences
from .context import Context
from .messages import Symptom
from .model import Finding, Severity
from .names import UniqueKey, find_column, find_constraint, find_table, find_unique, unique_keys

#: Missing parent keys listed per foreign key.
EXAMPLES = 5


def _table_of(ctx: Context, s: Symptom) -> Table | None:
    for name in (s.table, s.model):
        found = find_table(ctx.qa, name, schema=s.schema, prefer=ctx.prefer)
        if found is not None:
            return found.obj
    return None


def _key_text(columns: tuple[str, ...], values: str) -> str:
    return f"({', '.join(columns)})=({values})"


def _split_values(values: str | None, n: int) -> list[str] | None:
    """'1, x' -> ['1', 'x'] when that gives exactly *n* values (PostgreSQL does not quote)."""
    if values is None:
        return None
    parts = [values] if n == 1 else values.split(", ")
    return parts if len(parts) == n else None


def _count_where(
    conn: psycopg.Connection[Any], table: Name, columns: tuple[str, ...], values: list[str]
) -> int:
    cond = sql.SQL(" AND ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in columns)
    row = conn.execute(
        sql.SQL("SELECT count(*) FROM {} WHERE {}").format(table.ident, cond), values
    ).fetchone()
    return int(row[0]) if row else 0


# -- unique violations ---------------------------------------------------------------


def _unique_candidates(ctx: Context, s: Symptom) -> list[UniqueKey]:
    table = _table_of(ctx, s)
    if s.constraint:
        found = find_unique(ctx.qa, s.constraint, table=table.name if table else None)
        return [found.obj] if found else []
    wanted = s.columns or s.key_columns
    if not wanted:
        return []
    keys = unique_keys(ctx.qa)
    if table is not None:
        cols = [find_column(table, c) for c in wanted]
        if all(cols):
            names = {c.obj.name for c in cols if c}
            on_table = [k for k in keys if k.table == table.name and set(k.columns) == names]
            if on_table:
                return on_table
    lowered = {c.lower() for c in wanted}
    return [k for k in keys if {c.lower() for c in k.columns} == lowered]


def _family(ctx: Context, table: Name) -> set[Name]:
    """The table, its ancestors and its descendants: a sequence may feed any of them."""
    out = {table, *ctx.qa.ancestors(table)}
    out |= {t.name for t in ctx.qa.tables if table in ctx.qa.ancestors(t.name)}
    return out


def _feeding(ctx: Context, states: list[SequenceState], key: UniqueKey) -> list[SequenceState]:
    family = _family(ctx, key.table)
    return [
        st
        for st in states
        if any(
            f.column.table in family and f.column.column in key.columns for f in st.sequence.feeds
        )
    ]


def sequence_finding(ctx: Context, st: SequenceState, key_text: str = "") -> Finding:
    """A sequence behind its data (or out of range), with the numbers and the fix."""
    seq = st.sequence
    at: ColumnRef | None = st.extreme_at or (st.feeds[0].column if st.feeds else None)
    facts = (
        ("sequence", str(st.name)),
        ("column", str(at) if at else None),
        ("data_max" if seq.ascending else "data_min", st.data_extreme),
        ("next_value", st.next_value),
        ("fixed_next_value", st.target_next),
    )
    if st.status is Status.OUT_OF_RANGE:
        return Finding(
            Severity.PROBLEM,
            "sequence cannot pass its data",
            st.note,
            table=at.table if at else None,
            column=at.column if at else None,
            fix=f"{_widen(st)}; then {ctx.sequences_fix()}",
            facts=facts,
        )
    bound = "up to" if seq.ascending else "down to"
    failed = f" (the failed insert: {key_text})" if key_text else ""
    return Finding(
        Severity.PROBLEM,
        "sequence behind its data",
        f"sequence {st.name} hands out {st.next_value} next, but {at} already holds values "
        f"{bound} {st.data_extreme}: inserts that take the default reuse ids existing rows hold "
        f"until the sequence passes {st.data_extreme}{failed}. The rows were copied with their "
        "ids; the sequence was not moved.",
        table=at.table if at else None,
        column=at.column if at else None,
        fix=ctx.sequences_fix(),
        details=(
            "restart the application's connection pool afterwards if the sequence caches "
            "values (CACHE > 1)",
        )
        if seq.cache > 1
        else (),
        facts=facts,
    )


def _widen(st: SequenceState) -> str:
    """The statement that lets a sequence reach past its data."""
    seq = st.sequence
    if seq.data_type in ("smallint", "integer"):
        return f"ALTER SEQUENCE {st.name} AS bigint"
    return f"ALTER SEQUENCE {st.name} NO {'MAXVALUE' if seq.ascending else 'MINVALUE'}"


def unique(ctx: Context, s: Symptom) -> list[Finding]:
    keys = _unique_candidates(ctx, s)
    if not keys:
        what = s.constraint or ", ".join(s.columns or s.key_columns) or "(not named)"
        return [
            Finding(
                Severity.INFO,
                "unique key not found",
                f"QA has no unique key {what}"
                + (f" on {s.model or s.table}" if s.model or s.table else "")
                + ": is --db the database that raised this error?",
            )
        ]
    schemas = sorted({k.table.schema for k in keys})
    states = inspect_sequences(ctx.db, ctx.qa, schemas=schemas)
    findings: list[Finding] = []
    clear: list[str] = []
    natural: list[UniqueKey] = []
    key_text = _key_text(s.key_columns, s.key_values) if s.key_values else ""
    for key in keys:
        fed = _feeding(ctx, states, key)
        if not fed:
            natural.append(key)
        for st in fed:
            if st.is_problem:
                findings.append(sequence_finding(ctx, st, key_text))
            elif st.status is Status.OK:
                extreme = "none" if st.data_extreme is None else st.data_extreme
                bound = "max" if st.sequence.ascending else "min"
                clear.append(f"{st.name} (next {st.next_value}, data {bound} {extreme})")
    if findings:
        return findings
    if clear:
        return [
            Finding(
                Severity.INFO,
                "sequences clear",
                f"the sequences feeding {_keys_text(keys)} are clear of their data now: "
                + "; ".join(clear[:5])
                + ". The error is not reproducible now (was pgferry sequences fix run since?).",
                table=keys[0].table if len(keys) == 1 else None,
                constraint=keys[0].name if len(keys) == 1 else None,
            )
        ]
    return [_natural_key(ctx, s, k) for k in natural[:5]]


def _keys_text(keys: list[UniqueKey]) -> str:
    if len(keys) == 1:
        k = keys[0]
        return f"{k.what} {quote_ident(k.name)} on {k.table} ({', '.join(k.columns)})"
    return f"{len(keys)} unique keys"


def _natural_key(ctx: Context, s: Symptom, key: UniqueKey) -> Finding:
    values = _split_values(s.key_values, len(key.columns))
    exists = ""
    if values is not None and tuple(s.key_columns) == key.columns:
        n = _count_where(ctx.db, key.table, key.columns, values)
        exists = (
            f" QA holds a row with {_key_text(key.columns, s.key_values or '')}."
            if n
            else f" QA holds no row with {_key_text(key.columns, s.key_values or '')} now."
        )
    return Finding(
        Severity.INFO,
        "value already taken",
        f"no sequence feeds {key.what} {quote_ident(key.name)} on {key.table} "
        f"({', '.join(key.columns)}): the application supplied a value another row already "
        f"has.{exists} Not a problem with the copy.",
        table=key.table,
        constraint=key.name,
        column=key.columns[0] if len(key.columns) == 1 else None,
    )


# -- foreign-key violations ------------------------------------------------------------


def _find_fk(ctx: Context, catalog: Catalog | None, s: Symptom) -> Constraint | None:
    """The foreign key *s* names, in *catalog*: by name, else by its columns."""
    if catalog is None:
        return None
    table = None
    for name in (s.table, s.model):
        found = find_table(catalog, name, schema=s.schema, prefer=ctx.prefer)
        if found is not None:
            table = found.obj
            break
    for name in (s.constraint, s.field):
        fk = find_constraint(
            catalog,
            name,
            types=[ConstraintType.FOREIGN_KEY],
            table=table.name if table else None,
        )
        if fk is not None:
            return fk.obj
    if table is None:
        return None
    wanted = s.columns or s.key_columns or ((s.field,) if s.field else ())
    cols = [find_column(table, c) for c in wanted]
    if not wanted or not all(cols):
        return None
    names = tuple(c.obj.name for c in cols if c)
    return next(
        (
            c
            for c in catalog.constraints_of(table.name)
            if c.type is ConstraintType.FOREIGN_KEY and set(c.columns) == set(names)
        ),
        None,
    )


def missing_parents(
    conn: psycopg.Connection[Any], fk: Constraint, limit: int = EXAMPLES
) -> list[tuple[str, ...]]:
    """Distinct child keys of *fk* with no parent row, as text."""
    assert fk.ref_table is not None
    pairs = list(zip(fk.columns, fk.ref_columns, strict=True))
    rows = conn.execute(
        sql.SQL(
            "SELECT DISTINCT {keys} FROM {child} c WHERE {nn} AND NOT EXISTS "
            "(SELECT 1 FROM {parent} p WHERE {match}) LIMIT {limit}"
        ).format(
            keys=sql.SQL(", ").join(
                sql.SQL("c.{}::text").format(sql.Identifier(c)) for c, _ in pairs
            ),
            child=fk.table.ident,
            nn=sql.SQL(" AND ").join(
                sql.SQL("c.{} IS NOT NULL").format(sql.Identifier(c)) for c, _ in pairs
            ),
            parent=fk.ref_table.ident,
            match=sql.SQL(" AND ").join(
                sql.SQL("p.{} = c.{}").format(sql.Identifier(r), sql.Identifier(c))
                for c, r in pairs
            ),
            limit=sql.Literal(limit),
        )
    ).fetchall()
    return [tuple(str(v) for v in r) for r in rows]


def _in_prod(ctx: Context, fk: Constraint, values: list[str]) -> bool | None:
    """Whether production's parent table has the key *values* (None: cannot tell)."""
    if ctx.source_conn is None or ctx.source is None or fk.ref_table is None:
        return None
    parent = ctx.source.table(fk.ref_table)
    if parent is None or any(parent.column(c) is None for c in fk.ref_columns):
        return None
    return _count_where(ctx.source_conn, fk.ref_table, fk.ref_columns, values) > 0


def fits(ctx: Context, fk: Constraint) -> bool:
    """Whether QA has both ends of *fk* (a production constraint), columns included."""
    child = ctx.qa.table(fk.table)
    parent = ctx.qa.table(fk.ref_table) if fk.ref_table is not None else None
    return (
        child is not None
        and parent is not None
        and all(child.column(c) is not None for c in fk.columns)
        and all(parent.column(c) is not None for c in fk.ref_columns)
    )


def _journaled(ctx: Context, name: str) -> journal.Entry | None:
    return next(
        (e for e in journal.pending(ctx.db) if e.kind is journal.Kind.FK and e.name == name), None
    )


def foreign_key(ctx: Context, s: Symptom) -> list[Finding]:
    fk = _find_fk(ctx, ctx.qa, s)
    if fk is None:
        return _fk_absent(ctx, s)
    assert fk.ref_table is not None
    n, _ = count_orphans(ctx.db, fk)
    keys = ", ".join(fk.columns)
    facts: list[tuple[str, str | int | None]] = [
        ("constraint", fk.name),
        ("parent", str(fk.ref_table)),
        ("orphans", n),
    ]
    if n:
        missing = missing_parents(ctx.db, fk)
        details = [
            f"missing in {fk.ref_table}: ({', '.join(fk.ref_columns)})=({', '.join(m)})"
            for m in missing
        ]
        in_prod = [_in_prod(ctx, fk, list(m)) for m in missing]
        where = ""
        if any(x is not None for x in in_prod):
            have = sum(1 for x in in_prod if x)
            where = (
                f" Production has {have} of the {len(missing)} missing parent keys listed: QA's "
                f"{fk.ref_table} is older than its {fk.table} (copied at different moments)."
                if have
                else " Production lacks them too: production itself holds these orphans "
                "(its foreign key is missing or NOT VALID there)."
            )
        state = "" if fk.validated else " The constraint is NOT VALID, so they were never checked."
        return [
            Finding(
                Severity.PROBLEM,
                "orphan rows",
                f"{n} row{'s' if n != 1 else ''} of {fk.table} reference{'s' if n == 1 else ''} "
                f"{fk.ref_table} rows QA does not have ({fk.name}: ({keys}) -> "
                f"{fk.ref_table}).{state}{where} Tables copied one by one, each at its own "
                f"moment, or {fk.ref_table} left out of the copy, give exactly this.",
                table=fk.table,
                column=fk.columns[0] if len(fk.columns) == 1 else None,
                constraint=fk.name,
                fix=ctx.migrate_fix(),
                details=(
                    *details,
                    f"if {fk.ref_table} is left out of the copy (--exclude or pgferry.toml), "
                    "include it: pgferry migrate copies parents and children from one snapshot",
                ),
                facts=(*facts, ("missing_parent_keys", "; ".join(", ".join(m) for m in missing))),
            )
        ]
    return [_fk_key_check(ctx, s, fk, facts)]


def _fk_key_check(
    ctx: Context, s: Symptom, fk: Constraint, facts: list[tuple[str, str | int | None]]
) -> Finding:
    """No orphans now: does the parent the failed statement wanted exist?"""
    assert fk.ref_table is not None
    values = _split_values(s.key_values, len(fk.columns))
    if values is None or set(s.key_columns) != set(fk.columns):
        return Finding(
            Severity.INFO,
            "no orphan rows",
            f"{fk.table} has no row without its {fk.ref_table} parent under {fk.name} now: the "
            "failed statement referenced a parent that does not exist (the message does not say "
            "which key)."
            + ("" if ctx.source else " Rerun with --from to compare with production."),
            table=fk.table,
            constraint=fk.name,
            facts=tuple(facts),
        )
    by_col = dict(zip(s.key_columns, values, strict=True))
    ordered = [by_col[c] for c in fk.columns]
    wanted = _key_text(fk.ref_columns, ", ".join(ordered))
    if _count_where(ctx.db, fk.ref_table, fk.ref_columns, ordered):
        return Finding(
            Severity.INFO,
            "parent exists now",
            f"{fk.ref_table} has {wanted} now: the error is not reproducible.",
            table=fk.table,
            constraint=fk.name,
            facts=tuple(facts),
        )
    in_prod = _in_prod(ctx, fk, ordered)
    if in_prod:
        return Finding(
            Severity.PROBLEM,
            "parent row missing in QA",
            f"QA's {fk.ref_table} has no {wanted}, but production's has: QA's copy of "
            f"{fk.ref_table} is behind production, so rows that exist there cannot be referenced "
            "here.",
            table=fk.ref_table,
            constraint=fk.name,
            fix=ctx.migrate_fix(),
            facts=tuple(facts),
        )
    neither = "neither QA nor production has" if in_prod is False else "QA has no"
    more = "" if in_prod is not None else " Rerun with --from to see whether production has it."
    return Finding(
        Severity.INFO,
        "parent does not exist",
        f"{neither} {fk.ref_table} {wanted}: the application referenced a row that does not "
        f"exist (a stale id or a fixture from another database); no orphan rows in QA.{more}",
        table=fk.table,
        constraint=fk.name,
        facts=tuple(facts),
    )


def _fk_absent(ctx: Context, s: Symptom) -> list[Finding]:
    name = s.constraint or s.field or ", ".join(s.columns)
    entry = _journaled(ctx, s.constraint or s.field or "") if (s.constraint or s.field) else None
    if entry is not None:
        return [
            Finding(
                Severity.PROBLEM,
                "foreign key set aside",
                f"foreign key {entry.name} on {entry.table} was dropped by a pgferry run that did "
                "not finish, and is still recorded in pgferry.journal: QA runs without it.",
                table=entry.table,
                constraint=entry.name,
                fix=ctx.journal_fix(),
            )
        ]
    prod_fk = _find_fk(ctx, ctx.source, s)
    if prod_fk is not None and fits(ctx, prod_fk):
        n, example = count_orphans(ctx.db, prod_fk)
        return [
            Finding(
                Severity.PROBLEM,
                "foreign key missing in QA",
                f"foreign key {prod_fk.name} on {prod_fk.table} exists in production but not in "
                f"QA; {n} row{'s' if n != 1 else ''} of QA's {prod_fk.table} would violate it.",
                table=prod_fk.table,
                constraint=prod_fk.name,
                fix=ctx.schema_fix(),
                details=(example,) if example else (),
                facts=(("orphans", n),),
            )
        ]
    return [
        Finding(
            Severity.INFO,
            "foreign key not found",
            f"QA has no foreign key {name or '(not named)'}: is --db the database that raised "
            "this error?",
        )
    ]


def still_referenced(ctx: Context, s: Symptom) -> list[Finding]:
    fk = _find_fk(ctx, ctx.qa, s)
    where = f" ({fk.name} on {fk.table})" if fk else ""
    return [
        Finding(
            Severity.INFO,
            "parent still referenced",
            f"a row of {s.ref_table} was deleted or its key changed while rows of {s.table} "
            f"still point at it{where}. Deleting parents before children is the order problem of "
            "copy scripts that empty tables one by one; pgferry migrate empties the whole copy "
            "set in one TRUNCATE and loads it from one snapshot, so this does not arise.",
            table=fk.table if fk else None,
            constraint=fk.name if fk else s.constraint,
        )
    ]
