"""``pgferry preflight``."""

from __future__ import annotations

from pathlib import Path

import click

from .. import config as configmod
from .. import endpoints
from ..errors import ExitCode
from ..preflight import Scope, preflight
from . import render
from .options import json_option, schema_option


@click.command("preflight")
@click.option("--from", "from_url", metavar="URL", help="Production (default: $PROD_DATABASE_URL).")
@click.option("--to", "to_url", metavar="URL", help="QA (default: $QA_DATABASE_URL).")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Config file (default: ./pgferry.toml when present).",
)
@click.option(
    "--tables", multiple=True, metavar="PATTERN", help="Only tables matching (repeatable)."
)
@click.option(
    "--exclude", multiple=True, metavar="PATTERN", help="Leave tables matching out (repeatable)."
)
@schema_option
@click.option(
    "--strategy",
    type=click.Choice(["refresh", "swap"]),
    default="refresh",
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
    cfg = configmod.load(config_path)
    src = endpoints.resolve(
        from_url, role="prod", env_names=[cfg.source_env] if cfg.source_env else None
    )
    dst = endpoints.resolve(
        to_url, role="qa", env_names=[cfg.target_env] if cfg.target_env else None
    )
    scope = Scope(
        tables=tables or cfg.tables,
        exclude=(*cfg.exclude, *exclude),
        schemas=schemas or ((dst.schema,) if dst.schema else ()),
        backup=cfg.backup and not no_backup,
        backup_method=cfg.backup_method,
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
