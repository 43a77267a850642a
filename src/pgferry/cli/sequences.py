"""``pgferry sequences check`` and ``pgferry sequences fix``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import psycopg

from .. import config as configmod
from .. import endpoints, journal
from ..errors import ExitCode
from ..sequencefix import fix_database
from ..sequences import SequenceReport, Status, check_sequences
from . import render
from .options import config_option, db_option, json_option, schema_option


@click.group()
def sequences() -> None:
    """Find and fix sequences behind their data (Prisma's "Unique constraint failed on (id)")."""


def _settings(
    db_url: str | None, schemas: tuple[str, ...], config_path: Path | None
) -> configmod.Settings:
    """--db, or pgferry.toml's [target] url_env, or $DATABASE_URL, $QA_DATABASE_URL, PG*."""
    flags = configmod.Flags(to_url=db_url, schemas=schemas)
    return configmod.resolve(flags, config_path, target_role="db")


def _say_mid_refresh(conn: psycopg.Connection[Any]) -> None:
    """A load that did not finish leaves tables half-refreshed: sequences are the least of it."""
    if (line := journal.mid_refresh(conn)) is not None:
        click.echo(f"warning: {line}", err=True)


def _show(report: SequenceReport, *, as_json: bool, show_all: bool) -> None:
    if as_json:
        render.print_json(report.to_dict())
        return
    out = render.console()
    table, hidden = render.sequence_table(report, show_all=show_all)
    if table is not None:
        out.print(table)
    if hidden:
        out.print(f"... and {hidden} more (--all or --json lists every one)")
    out.print(render.sequence_summary(report))
    for hint in report.hints:
        out.print(f"hint: {hint}", markup=False)


@sequences.command("check")
@db_option
@schema_option
@config_option
@json_option
@click.option("--all", "show_all", is_flag=True, help="List healthy sequences too.")
def check(
    db_url: str | None,
    schemas: tuple[str, ...],
    config_path: Path | None,
    as_json: bool,
    show_all: bool,
) -> None:
    """List every sequence whose next value would collide with existing rows.

    Exit code 0 when all are healthy, 1 when any is behind its data.
    """
    settings = _settings(db_url, schemas, config_path)
    ep = settings.target_endpoint()
    with endpoints.connect(ep, read_only=True, autocommit=True) as conn:
        _say_mid_refresh(conn)
        report = check_sequences(
            conn,
            schemas=list(settings.schemas.value) or None,
            connect=lambda: endpoints.connect(ep, read_only=True, autocommit=True),
        )
    _show(report, as_json=as_json, show_all=show_all)
    if not report.healthy:
        if not as_json:
            click.echo(
                "the next insert into these tables fails with a duplicate key "
                "(Prisma P2002, PostgreSQL 23505); fix with: pgferry sequences fix",
                err=True,
            )
        raise click.exceptions.Exit(int(ExitCode.FOUND))


@sequences.command("fix")
@db_option
@click.option(
    "--from",
    "from_url",
    metavar="URL",
    help="Production: leave no sequence behind the position of its namesake there (read-only).",
)
@schema_option
@config_option
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
@json_option
@click.option("--all", "show_all", is_flag=True, help="List healthy sequences too.")
def fix(
    db_url: str | None,
    from_url: str | None,
    schemas: tuple[str, ...],
    config_path: Path | None,
    dry_run: bool,
    as_json: bool,
    show_all: bool,
) -> None:
    """Move every sequence past the data of every column it feeds, never backwards.

    Exit code 0 when every sequence is healthy afterwards, 1 when some could not
    be fixed (for example an integer sequence that cannot reach the data); 6
    the database matches pgferry.toml's [target] protected.
    """
    settings = _settings(db_url, schemas, config_path)
    ep = settings.writable_target()  # pgferry.toml's [target] protected: refused
    src = endpoints.resolve(from_url, role="prod") if from_url else None
    result = fix_database(ep, src, schemas=settings.schemas.value, dry_run=dry_run)
    if result.put_back.restored:
        click.echo(
            f"put back {len(result.put_back.restored)} constraints/triggers an interrupted "
            "pgferry migrate had set aside",
            err=True,
        )
    if result.mid_refresh is not None:  # sequences are the least of a half-refreshed QA
        click.echo(f"warning: {result.mid_refresh}", err=True)
    report = result.report
    _show(report, as_json=as_json, show_all=show_all)
    if any(s.status is Status.OUT_OF_RANGE for s in report.states):
        raise click.exceptions.Exit(int(ExitCode.FOUND))
