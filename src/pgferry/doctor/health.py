"""With no message: everything that makes a QA database fail after a refresh."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import psycopg
from psycopg import sql

from .. import journal
from ..catalog import Constraint, ConstraintType, quote_ident
from ..errors import PgferryError, first_line
from ..integrity import ForeignKeyStatus, check_foreign_keys
from ..plan import build_plan
from ..sequences import Status, inspect_sequences, read_positions
from .context import Context
from .keys import fits, missing_parents, sequence_finding
from .model import Finding, Severity
from .schema import migration_findings

_JOURNAL_WHAT = {"fk": "foreign key", "trigger": "trigger", "index": "index"}


def journal_findings(ctx: Context) -> list[Finding]:
    """A load that did not finish (QA is mid-refresh), then each object it left aside."""
    out = [
        Finding(
            Severity.PROBLEM,
            "QA is mid-refresh",
            f"QA is mid-refresh: {load.describe()}, so QA holds part of production's data "
            "and may hold rows whose parents were not loaded.",
            fix=f"{ctx.migrate_fix()}  (or pgferry rollback, to return to the backup)",
            facts=(("run_id", load.run_id), ("tables", load.tables)),
        )
        for load in journal.unfinished(ctx.db)
    ]
    present = {(fk.table, fk.name) for fk in (ctx.qa.foreign_keys() if ctx.catalog else ())}
    for e in journal.pending(ctx.db):
        if e.kind is journal.Kind.FK and (e.table, e.name) in present:
            state = "is NOT VALID: a pgferry run put it back but QA's data do not satisfy it yet"
        else:
            verb = "disabled" if e.kind is journal.Kind.TRIGGER else "dropped"
            state = f"was {verb} by a pgferry run that did not finish: QA runs without it"
        out.append(
            Finding(
                Severity.PROBLEM,
                "left over by an interrupted run",
                f"{_JOURNAL_WHAT.get(e.kind, e.kind)} {quote_ident(e.name)} on {e.table} "
                f"{state} (pgferry.journal still holds it).",
                table=e.table,
                constraint=e.name if e.kind is journal.Kind.FK else None,
                fix=ctx.journal_fix(),
                facts=(("journal_id", e.id), ("kind", e.kind)),
            )
        )
    return out


def sequence_findings(ctx: Context, schemas: list[str] | None) -> list[Finding]:
    positions = read_positions(ctx.source_conn, ctx.source) if ctx.source_conn else None
    out: list[Finding] = []
    for st in inspect_sequences(ctx.db, ctx.qa, schemas=schemas, source_positions=positions):
        if st.status in (Status.BEHIND, Status.OUT_OF_RANGE):
            out.append(sequence_finding(ctx, st))
        elif st.status is Status.BEHIND_SOURCE:
            out.append(
                Finding(
                    Severity.WARNING,
                    "sequence behind production",
                    f"sequence {st.name} is clear of QA's data (next {st.next_value}) but behind "
                    f"production's position ({st.source_next}): QA may hand out ids production "
                    "already used for rows it deleted.",
                    fix=ctx.sequences_fix(),
                    facts=(
                        ("sequence", str(st.name)),
                        ("next_value", st.next_value),
                        ("production_next_value", st.source_next),
                    ),
                )
            )
    return out


def _orphan_details(ctx: Context, fk: Constraint) -> tuple[str, ...]:
    assert fk.ref_table is not None
    return tuple(
        f"missing in {fk.ref_table}: ({', '.join(fk.ref_columns)})=({', '.join(m)})"
        for m in missing_parents(ctx.db, fk)
    )


def foreign_key_findings(ctx: Context) -> list[Finding]:
    fks = {(c.table, c.name): c for c in ctx.qa.foreign_keys()}
    source = ctx.source
    if source is not None:  # QA can be checked against production's keys where it has both ends
        source = replace(
            source,
            constraints=tuple(
                c
                for c in source.constraints
                if c.type is not ConstraintType.FOREIGN_KEY
                or (c.table, c.name) in fks
                or fits(ctx, c)
            ),
        )
    prod = {(c.table, c.name): c for c in source.foreign_keys()} if source else {}
    tables = {t.name for t in ctx.qa.tables}
    journaled = {(e.table, e.name) for e in journal.pending(ctx.db) if e.kind is journal.Kind.FK}
    # without production's catalog, a key NOT VALID in QA may be production's own state
    unsure = (
        " If production holds this key NOT VALID too, that is production's state and "
        "pgferry keeps it so (pgferry doctor --from production's URL tells)."
        if source is None
        else ""
    )
    out: list[Finding] = []
    for check in check_foreign_keys(ctx.db, ctx.qa, source, tables):
        key = (check.table, check.name)
        fk = fks.get(key) or prod.get(key)
        if check.as_in_production and fk is not None and key not in journaled:
            # production's own state, copied as it is: explained, no VALIDATE offered
            out.append(
                Finding(
                    Severity.INFO,
                    "foreign key NOT VALID in production too",
                    check.explain() + ".",
                    table=fk.table,
                    constraint=fk.name,
                    details=_orphan_details(ctx, fk) if check.orphans else (),
                    facts=(("orphans", check.orphans),),
                )
            )
            continue
        if check.ok or fk is None or key in journaled:
            continue
        definition = f"{fk.name}: ({', '.join(fk.columns)}) -> {fk.ref_table}"
        if check.status is ForeignKeyStatus.MISSING:
            out.append(
                Finding(
                    Severity.PROBLEM,
                    "foreign key missing in QA",
                    f"foreign key {definition} on {fk.table} exists in production but not in QA"
                    + (f"; {check.orphans} rows of QA would violate it" if check.orphans else "")
                    + ".",
                    table=fk.table,
                    constraint=fk.name,
                    fix=ctx.schema_fix(),
                    details=_orphan_details(ctx, fk) if check.orphans else (),
                    facts=(("orphans", check.orphans),),
                )
            )
        elif check.orphans:
            out.append(
                Finding(
                    Severity.PROBLEM,
                    "orphan rows",
                    f"foreign key {definition} on {fk.table} is NOT VALID and {check.orphans} "
                    f"row{'s' if check.orphans != 1 else ''} of {fk.table} have no parent in "
                    f"{fk.ref_table}: tables copied at different moments, or the parent left "
                    "out of the copy." + unsure,
                    table=fk.table,
                    constraint=fk.name,
                    fix=ctx.migrate_fix(),
                    details=_orphan_details(ctx, fk),
                    facts=(("orphans", check.orphans),),
                )
            )
        else:
            out.append(
                Finding(
                    Severity.WARNING,
                    "foreign key not validated",
                    f"foreign key {definition} on {fk.table} is NOT VALID, though no row breaks "
                    "it now: new rows are checked, existing ones never were." + unsure,
                    table=fk.table,
                    constraint=fk.name,
                    fix=f"ALTER TABLE {fk.table} VALIDATE CONSTRAINT {quote_ident(fk.name)}",
                )
            )
    return out


def check_findings(ctx: Context) -> list[Finding]:
    """CHECK constraints left NOT VALID, with the rows that break them."""
    out: list[Finding] = []
    for c in ctx.qa.constraints:
        if c.type is not ConstraintType.CHECK or c.validated:
            continue
        expr = c.definition.removesuffix(" NOT VALID").removeprefix("CHECK ")
        row = ctx.db.execute(
            sql.SQL("SELECT count(*) FROM {} WHERE NOT {}").format(
                c.table.ident,
                sql.SQL(expr),  # pg_get_constraintdef's text
            )
        ).fetchone()
        n = int(row[0]) if row else 0
        out.append(
            Finding(
                Severity.PROBLEM if n else Severity.WARNING,
                "check constraint not validated",
                f"check constraint {quote_ident(c.name)} on {c.table} is NOT VALID"
                + (
                    f" and {n} row{'s break' if n != 1 else ' breaks'} it: correct them first."
                    if n
                    else ", though no row breaks it now."
                ),
                table=c.table,
                constraint=c.name,
                fix=f"ALTER TABLE {c.table} VALIDATE CONSTRAINT {quote_ident(c.name)}",
                facts=(("violating_rows", n),),
            )
        )
    return out


def index_findings(ctx: Context) -> list[Finding]:
    """Indexes left invalid (a CREATE INDEX CONCURRENTLY that failed)."""
    journaled = {(e.table, e.name) for e in journal.pending(ctx.db) if e.kind is journal.Kind.INDEX}
    return [
        Finding(
            Severity.PROBLEM if ix.unique else Severity.WARNING,
            "index invalid",
            f"index {quote_ident(ix.name)} on {ix.table} is invalid (a CREATE INDEX CONCURRENTLY "
            "or REINDEX that failed)"
            + (": uniqueness is not enforced by it" if ix.unique else ": queries do not use it")
            + ".",
            table=ix.table,
            constraint=ix.constraint,
            fix=f"REINDEX INDEX CONCURRENTLY {quote_ident(ix.table.schema)}.{quote_ident(ix.name)}",
        )
        for ix in ctx.qa.indexes
        if not ix.valid and (ix.table, ix.name) not in journaled
    ]


def trigger_findings(ctx: Context) -> list[Finding]:
    journaled = {
        (e.table, e.name) for e in journal.pending(ctx.db) if e.kind is journal.Kind.TRIGGER
    }
    return [
        Finding(
            Severity.WARNING,
            "trigger disabled",
            f"trigger {quote_ident(t.name)} on {t.table} is disabled: it does not fire for the "
            "application (intended, or left by a load that disabled it).",
            table=t.table,
            fix=f"ALTER TABLE {t.table} ENABLE TRIGGER {quote_ident(t.name)}",
        )
        for t in ctx.qa.triggers
        if t.enabled == "D" and (t.table, t.name) not in journaled
    ]


def drift_findings(ctx: Context) -> list[Finding]:
    if ctx.source is None:
        return []
    plan = build_plan(ctx.source, ctx.qa)
    return [
        Finding(
            Severity.PROBLEM,
            "schema differs from production",
            p.message,
            table=p.table,
            fix=ctx.schema_fix(),
        )
        for p in plan.blocking
    ]


def run_checks(ctx: Context, schemas: list[str] | None) -> tuple[list[Finding], list[str]]:
    """Every health check; one that the role may not run becomes a warning, not a failure."""
    checks: list[tuple[str, Callable[[], list[Finding]]]] = [
        ("interrupted runs", lambda: journal_findings(ctx)),
        ("sequences", lambda: sequence_findings(ctx, schemas)),
        ("foreign keys", lambda: foreign_key_findings(ctx)),
        ("check constraints", lambda: check_findings(ctx)),
        ("indexes", lambda: index_findings(ctx)),
        ("triggers", lambda: trigger_findings(ctx)),
        ("Prisma migrations", lambda: migration_findings(ctx)),
    ]
    if ctx.source is not None:
        checks.append(("schema against production", lambda: drift_findings(ctx)))
    findings: list[Finding] = []
    done: list[str] = []
    for label, check in checks:
        try:
            findings += check()
            done.append(label)
        except (PgferryError, psycopg.Error) as exc:  # e.g. a privilege the role lacks
            findings.append(
                Finding(
                    Severity.WARNING,
                    f"{label} not checked",
                    first_line(exc),
                )
            )
    return findings, done
