"""``pgferry doctor``."""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import psycopg
from rich.markup import escape

from .. import config as configmod
from .. import endpoints
from ..doctor import Diagnosis, Finding, Severity, diagnose, health, recognise
from . import render
from .options import config_option, db_option, json_option

_STYLE = {Severity.PROBLEM: "red", Severity.WARNING: "yellow", Severity.INFO: "dim"}


#: Said under the fixes when a URL in them lost its password to be pasteable.
PASSWORD_NOTE = (
    "note: the fix commands leave the password out of the URL (a *** there would be "
    "pasted as the password): pgferry reads it from PGPASSWORD or ~/.pgpass; Prisma needs "
    "it in the URL, or run the fix with the variable that holds the URL"
)


def _arg(value: str | None, names: Sequence[str]) -> tuple[str | None, bool]:
    """How the fix commands name a database, so they can be pasted and run: the
    environment variable holding it (also when the shell expanded it into the flag), else
    the flag's URL without its password (and True: say where the password must come
    from); None lets the library build one from the session."""
    if value is None:
        return next((f'"${n}"' for n in names if os.environ.get(n)), None), False
    for name in ("DATABASE_URL", "QA_DATABASE_URL", "PROD_DATABASE_URL"):
        if os.environ.get(name) == value:
            return f'"${name}"', False
    shown, had_password = endpoints.without_password(value)
    return shlex.quote(shown), had_password


@click.command("doctor")
@db_option
@config_option
@click.option(
    "--from",
    "from_url",
    metavar="URL",
    help="Production, to compare with (read-only): what QA lacks, what production has.",
)
@json_option
@click.argument("message", required=False)
def doctor_command(
    db_url: str | None,
    config_path: Path | None,
    from_url: str | None,
    as_json: bool,
    message: str | None,
) -> None:
    """Explain an error MESSAGE from the live database, or check its health.

    Paste the message as one argument (quote it), or give - to read it from
    stdin: Prisma's P2002, P2003, P2021, P2022, P2023, PostgreSQL's 23505,
    23503, 22007, 22008, 22P02, 42P01, 42703, and pg_dump / psql / pg_restore
    version errors.  doctor finds the table, column or constraint the message
    names, checks what is wrong with it now, and prints the command that fixes
    it.  With no message: sequences, foreign keys, invalid constraints and
    indexes, disabled triggers, an interrupted pgferry run, Prisma's
    migrations and, with --from, schema drift.  Only reads.

    Exit codes: 0 nothing wrong now, 1 a problem confirmed, 3 the message was
    not recognised.
    """
    text = sys.stdin.read() if message == "-" else message
    if text is not None and not text.strip():
        raise click.UsageError("the message is empty")
    settings = configmod.resolve(
        configmod.Flags(to_url=db_url), config_path, target_role="db"
    )  # --from stays opt-in: doctor compares with production only when asked
    # None: pgferry.toml's url_env names a variable that is not set (an error once needed)
    ep = settings.target_endpoint() if settings.target.value is not None else None
    symptom = recognise(text) if text is not None else None
    # A message doctor does not know needs no database; the dump tools' messages
    # need one only when a database was named.
    wants_db = text is None or (
        symptom is not None and (not symptom.kind.is_tool or ep is None or bool(ep.conninfo))
    )
    with contextlib.ExitStack() as stack:
        conn: psycopg.Connection[Any] | None = None
        source: psycopg.Connection[Any] | None = None
        if wants_db:
            db = settings.target_endpoint()  # the unset url_env variable is said here
            conn = stack.enter_context(endpoints.connect(db, read_only=True, autocommit=True))
        if from_url and (wants_db or symptom is not None):
            src = endpoints.resolve(from_url, role=endpoints.Role.PROD)
            source = stack.enter_context(endpoints.connect(src, read_only=True, autocommit=True))
        db_arg, db_note = _arg(db_url, settings.target_env)
        from_arg, from_note = _arg(from_url, ()) if from_url else (None, False)
        kwargs: dict[str, Any] = {
            "source_conn": source,
            "db_arg": db_arg,
            "from_arg": from_arg,
            "schemas": settings.schemas.value,
        }
        if text is None:
            assert conn is not None
            result = health(conn, **kwargs)
        else:
            result = diagnose(conn, text, **kwargs)
    if as_json:
        render.print_json(result.to_dict())
    else:
        show(result)
    if (db_note or from_note) and any(f.fix for f in result.findings):
        click.echo(PASSWORD_NOTE, err=True)
    raise click.exceptions.Exit(int(result.exit_code))


def _finding(f: Finding) -> list[str]:
    where = ", ".join(
        x
        for x in (
            str(f.table) if f.table else "",
            f"column {f.column}" if f.column else "",
            f"constraint {f.constraint}" if f.constraint else "",
        )
        if x
    )
    style = _STYLE[f.severity]
    head = f"[{style}]{f.severity.value}[/]: [bold]{escape(f.title)}[/]"
    lines = [head + (f" ({escape(where)})" if where else ""), f"  {escape(f.cause)}"]
    lines += [f"  - {escape(d)}" for d in f.details]
    if f.fix:
        lines.append(f"  fix: [bold]{escape(f.fix)}[/]")
    return lines


class _Out:
    """The console, with every line masked: a pasted message may hold a URL."""

    def __init__(self) -> None:
        self.console = render.console()

    def print(self, text: str) -> None:
        self.console.print(endpoints.mask(text))


def show(result: Diagnosis) -> None:
    out = _Out()
    s = result.symptom
    if s is not None:
        codes = ", ".join(s.codes) or (f"{s.code} by its wording" if s.code else "no code")
        out.print(f"recognised: {escape(s.kind.value)} ({escape(s.origin)}, {escape(codes)})")
        out.print(f"  {escape(s.line)}")
        named = [
            f"model {s.model}" if s.model else "",
            f"table {s.table}" if s.table else "",
            f"columns {', '.join(s.columns)}" if s.columns else "",
            f"constraint {s.constraint or s.field}" if s.constraint or s.field else "",
            f"key ({', '.join(s.key_columns)})=({s.key_values})" if s.key_values else "",
            f"type {s.type_name}" if s.type_name else "",
            f"value {s.value!r}" if s.value is not None else "",
        ]
        if any(named):
            out.print("  names " + escape(", ".join(x for x in named if x)))
    if result.database:
        out.print(f"checked {escape(result.database)}")
    if result.source:
        out.print(f"compared with {escape(result.source)}")
    if result.checked:
        out.print("looked at: " + escape(", ".join(result.checked)))
    for f in result.findings:
        out.print("")
        for line in _finding(f):
            out.print(line)
    out.print("")
    if not result.recognised:
        out.print("[yellow]message not recognised[/]")
    elif result.problems:
        n = len(result.problems)
        out.print(f"[red]{n} problem{'s' if n != 1 else ''} found[/]")
    else:
        out.print("[green]nothing wrong found now[/]")
