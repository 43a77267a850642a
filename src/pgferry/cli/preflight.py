"""``pgferry preflight``."""

from __future__ import annotations

from pathlib import Path

import click

from .. import config as configmod
from ..errors import ExitCode
from ..migrate import Strategy
from ..safety.preflight import Scope, preflight
from . import render
from .options import (
    config_option,
    exclude_option,
    json_option,
    schema_option,
    tables_option,
)


@click.command("preflight")
@click.option("--from", "from_url", metavar="URL", help="Production (default: $PROD_DATABASE_URL).")
@click.option("--to", "to_url", metavar="URL", help="QA (default: $QA_DATABASE_URL).")
@config_option
@tables_option
@exclude_option
@schema_option
@click.option(
    "--strategy",
    type=click.Choice([s.value for s in Strategy]),
    default=Strategy.REFRESH.value,
    show_default=True,
    help="Check for this migrate strategy.",
)
@click.option("--no-backup", is_flag=True, help="Check for a migrate run with --no-backup.")
@click.option(
    "--force", is_flag=True, help="Check for a migrate run with --force (sessions may be ended)."
)
@json_option
def preflight_command(
    from_url: str | None,
    to_url: str | None,
    config_path: Path | None,
    tables: tuple[str, ...],
    exclude: tuple[str, ...],
    schemas: tuple[str, ...],
    strategy: str,
    no_backup: bool,
    force: bool,
    as_json: bool,
) -> None:
    """The pre-migration checklist: a line per check, ok / warn / fail, with the fix.

    Connections, versions, client tools, production's read privileges and
    row-level security, QA's write privileges, the backup method, schema
    compatibility, sizes (free disk space cannot be read from SQL), sessions and
    long transactions on QA, and a run-time estimate.  Writes nothing.  Exit
    codes: 0 no line fails; 1 a line fails.
    """
    settings = configmod.resolve(
        configmod.Flags(
            from_url=from_url,
            to_url=to_url,
            tables=tables,
            exclude=exclude,
            schemas=schemas,
            no_backup=no_backup,
        ),
        config_path,
    )
    src, dst = settings.source_endpoint(), settings.target_endpoint()
    scope = Scope(
        **settings.scope(),
        backup=settings.backup.value,
        backup_method=settings.backup_method.value,
        strategy=strategy,
        force=force,
    )
    result = preflight(src, dst, scope)
    if as_json:
        render.print_json(result.to_dict())
    else:
        render.preflight_lines(result)
    if not result.ok:
        raise click.exceptions.Exit(int(ExitCode.FOUND))
