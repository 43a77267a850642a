"""The two entry points: :func:`diagnose` a pasted message, or check a database's :func:`health`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from ..catalog import read_catalog
from ..errors import translating
from .context import Context, describe, url_of
from .health import run_checks
from .keys import foreign_key, still_referenced, unique
from .messages import Kind, Symptom, recognise
from .model import Diagnosis, Finding, Severity
from .schema import enum_value, missing_column, missing_table
from .tools import archive_version, dump_version, restrict, transaction_timeout
from .values import column_data, datetime_value, input_syntax

Handler = Callable[[Context, Symptom], list[Finding]]

HANDLERS: dict[Kind, Handler] = {
    Kind.UNIQUE: unique,
    Kind.FOREIGN_KEY: foreign_key,
    Kind.STILL_REFERENCED: still_referenced,
    Kind.MISSING_TABLE: missing_table,
    Kind.MISSING_COLUMN: missing_column,
    Kind.COLUMN_DATA: column_data,
    Kind.DATETIME: datetime_value,
    Kind.ENUM: enum_value,
    Kind.INPUT_SYNTAX: input_syntax,
    Kind.DUMP_VERSION: dump_version,
    Kind.TRANSACTION_TIMEOUT: transaction_timeout,
    Kind.RESTRICT: restrict,
    Kind.ARCHIVE_VERSION: archive_version,
}

NOT_RECOGNISED = Finding(
    Severity.INFO,
    "message not recognised",
    "doctor knows Prisma's P2002, P2003, P2021, P2022 and P2023, PostgreSQL's 23505, 23503, "
    "22007, 22008, 22P02, 42P01 and 42703, and pg_dump, psql and pg_restore version errors; "
    "this message is none of them. Paste the whole error, code included, or run pgferry doctor "
    "with no message for a full health check.",
    fix="pgferry doctor",
)


def _context(
    conn: psycopg.Connection[Any] | None,
    source_conn: psycopg.Connection[Any] | None,
    *,
    db_arg: str | None,
    from_arg: str | None,
    schemas: Sequence[str],
) -> Context:
    return Context(
        conn=conn,
        catalog=read_catalog(conn) if conn is not None else None,
        source_conn=source_conn,
        source=read_catalog(source_conn) if source_conn is not None else None,
        db_arg=db_arg or (url_of(conn) if conn is not None else '"$DATABASE_URL"'),
        from_arg=from_arg or (url_of(source_conn) if source_conn is not None else None),
        prefer=tuple(schemas),
    )


@translating()
def diagnose(
    conn: psycopg.Connection[Any] | None,
    message: str,
    *,
    source_conn: psycopg.Connection[Any] | None = None,
    db_arg: str | None = None,
    from_arg: str | None = None,
    schemas: Sequence[str] = (),
) -> Diagnosis:
    """Recognise *message*, then find out in the database what is wrong now.

    *conn* is the database that raised the error (QA), read-only; *source_conn*
    production, for comparisons.  *conn* may be None for the dump tools'
    messages, which are about the binaries on this machine.  *db_arg* and
    *from_arg* are how the fix commands name the two databases (default: a URL
    built from the connection, without its password); *schemas* are preferred
    when a name exists in several.  Nothing is written to either database.
    """
    symptom = recognise(message)
    database = describe(conn) if conn is not None else None
    source = describe(source_conn) if source_conn is not None else None
    if symptom is None:
        return Diagnosis("message", database, source, recognised=False, findings=(NOT_RECOGNISED,))
    if conn is None and not symptom.kind.is_tool:
        raise ValueError(f"diagnosing a {symptom.kind.value} needs a database connection")
    ctx = _context(conn, source_conn, db_arg=db_arg, from_arg=from_arg, schemas=schemas)
    findings = HANDLERS[symptom.kind](ctx, symptom)
    return Diagnosis("message", database, source, symptom=symptom, findings=tuple(findings))


@translating()
def health(
    conn: psycopg.Connection[Any],
    *,
    source_conn: psycopg.Connection[Any] | None = None,
    db_arg: str | None = None,
    from_arg: str | None = None,
    schemas: Sequence[str] = (),
) -> Diagnosis:
    """Check *conn*'s database as a whole: sequences, foreign keys, constraints, indexes,
    triggers, an interrupted pgferry run, Prisma's migrations, and, given production,
    schema drift.  Read-only."""
    ctx = _context(conn, source_conn, db_arg=db_arg, from_arg=from_arg, schemas=schemas)
    findings, checked = run_checks(ctx, list(schemas) or None)
    return Diagnosis(
        "health",
        describe(conn, ctx.catalog),
        describe(source_conn, ctx.source) if source_conn is not None else None,
        findings=tuple(findings),
        checked=tuple(checked),
    )
