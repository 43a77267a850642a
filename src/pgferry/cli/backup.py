"""``pgferry backup``, ``pgferry backups`` and ``pgferry rollback``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from .. import config as configmod
from .. import endpoints
from ..errors import RefusedError
from ..safety import backup as backupmod
from ..safety.restore import rollback
from . import render
from .options import config_option, json_option

_db = click.option(
    "--db", "db_url", metavar="URL", help="The QA database (default: $QA_DATABASE_URL)."
)
_config = config_option
_folder = click.option(
    "--folder",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where dump backups live (default: ./pgferry-backups, or [backup] folder).",
)


def _settings(db_url: str | None, config_path: Path | None, **flags: Any) -> configmod.Settings:
    return configmod.resolve(configmod.Flags(to_url=db_url, **flags), config_path)


def _say(line: str) -> None:
    click.echo(endpoints.mask(line), err=True)


@click.command("backup")
@_db
@click.option("--name", help="The backup's name (default: the UTC time, 20260131_120000).")
@click.option(
    "--method",
    type=click.Choice(backupmod.METHODS),
    help="template: a server-side copy (CREATEDB, QA alone for a moment); dump: pg_dump "
    "archive; auto (default): template when allowed, else dump.",
)
@click.option("--force", is_flag=True, help="End other sessions on QA for a template copy.")
@click.option("--keep", type=click.IntRange(min=1), help="Keep the newest N backups (default: 5).")
@_folder
@_config
@json_option
def backup_command(
    db_url: str | None,
    name: str | None,
    method: str | None,
    force: bool,
    keep: int | None,
    folder: Path | None,
    config_path: Path | None,
    as_json: bool,
) -> None:
    """Back QA up, by the fastest method the server allows, and say which and why.

    Exit codes: 0 backed up; 3 no way to back up (no CREATEDB and no suitable
    pg_dump) or pg_dump failed; 5 a privilege is missing; 6 other sessions are
    on QA (a template copy needs it alone: --force ends them), or QA matches
    pgferry.toml's [target] protected.
    """
    settings = _settings(
        db_url, config_path, backup_method=method, backup_keep=keep, backup_folder=folder
    )
    made = backupmod.backup(
        settings.writable_target(),  # pgferry.toml's [target] protected: refused
        name,
        method=settings.backup_method.value,
        force=force,
        folder=settings.backup_folder.value,
        keep=settings.backup_keep.value,
        say=_say,
        protected=settings.protected.value,
    )
    if as_json:
        render.print_json(made.to_dict())
        return
    render.console().print(
        f"backup {made.name} of {made.database}: {made.method} ({made.reason}), "
        f"{render.size(made.size)}, at {made.location}\n"
        f"roll back with: pgferry rollback --backup {made.name}",
        markup=False,
    )


@click.command("backups")
@_db
@_folder
@_config
@json_option
def backups_command(
    db_url: str | None, folder: Path | None, config_path: Path | None, as_json: bool
) -> None:
    """List QA's backups (template copies, dumps, databases a swap replaced), oldest first."""
    settings = _settings(db_url, config_path, backup_folder=folder)
    listed = backupmod.list_backups(settings.target_endpoint(), settings.backup_folder.value)
    if as_json:
        render.print_json([b.to_dict() for b in listed])
        return
    render.backups_table(listed)


@click.command("rollback")
@_db
@click.option("--backup", "name", metavar="NAME", help="The backup (default: the newest).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (for scripts and CI).")
@click.option("--force", is_flag=True, help="End other sessions on QA (the switch needs it alone).")
@_folder
@_config
def rollback_command(
    db_url: str | None,
    name: str | None,
    yes: bool,
    force: bool,
    folder: Path | None,
    config_path: Path | None,
) -> None:
    """Bring QA back to a backup exactly: data, schema and sequence positions.

    A template copy (or the database a swap replaced) is copied again and
    renamed into QA's place in one transaction; a dump is restored into a new
    database and renamed likewise, or, when the role may not create databases,
    restored in place in one transaction.  Exit codes: 0 rolled back; 3 no such
    backup or the restore failed; 5 a privilege is missing; 6 not confirmed or
    sessions are on QA (--force ends them).
    """
    settings = _settings(db_url, config_path, backup_folder=folder)
    target = settings.writable_target()  # pgferry.toml's [target] protected, before all else
    folder = settings.backup_folder.value
    chosen = backupmod.find(target, name, folder)
    if not yes:
        if not sys.stdin.isatty():
            raise RefusedError(
                f"refusing to roll {target.describe()} back without confirmation",
                hint="pass --yes (no terminal to ask on)",
            )
        click.echo(
            f"This replaces everything in QA database {target.dbname!r} with backup "
            f"{chosen.name} ({chosen.method}, {chosen.created}).",
            err=True,
        )
        typed = click.prompt(
            "Type the QA database's name to go on", err=True, default="", show_default=False
        )
        if typed.strip() != target.dbname:
            raise RefusedError(
                f"not confirmed: QA database {target.dbname} was left as it was",
                hint="type the database's name at the prompt, or pass --yes in scripts",
            )
    done = rollback(
        target,
        chosen.name,
        force=force,
        folder=folder,
        say=_say,
        protected=settings.protected.value,
    )
    render.console().print(
        f"rolled {done.database} back to backup {done.backup.name}: {done.how} "
        f"in {done.seconds:.1f} s",
        markup=False,
    )
    for line in done.not_carried:
        render.console().print(f"not carried over (no privilege): {line}", markup=False)
