"""``pgferry config show``."""

from __future__ import annotations

from pathlib import Path

import click

from .. import config as configmod
from ..endpoints import mask
from . import render
from .options import (
    config_option,
    exclude_option,
    json_option,
    schema_option,
    tables_option,
)


@click.group("config")
def config_group() -> None:
    """What pgferry.toml, the environment and the flags resolve to."""


@config_group.command("show")
@click.option("--from", "from_url", metavar="URL", help="Production, as migrate's --from.")
@click.option("--to", "to_url", metavar="URL", help="QA, as migrate's --to.")
@config_option
@tables_option
@exclude_option
@schema_option
@click.option("--jobs", type=click.IntRange(min=1), help="As migrate's --jobs.")
@click.option("--lock-timeout", metavar="DURATION", help="As migrate's --lock-timeout.")
@json_option
def show_command(
    from_url: str | None,
    to_url: str | None,
    config_path: Path | None,
    tables: tuple[str, ...],
    exclude: tuple[str, ...],
    schemas: tuple[str, ...],
    jobs: int | None,
    lock_timeout: str | None,
    as_json: bool,
) -> None:
    """Print every setting a command would use, and where it came from.

    Each line: the setting (as pgferry.toml names it), its value, and its
    origin: flag, env (the variable, and whether pgferry.toml's url_env named
    it), file ([section] key of the config file), or default.  Flags given here
    are resolved as migrate resolves them.  URLs are shown with the password
    masked.  Connects to nothing.
    """
    settings = configmod.resolve(
        configmod.Flags(
            from_url=from_url,
            to_url=to_url,
            tables=tables,
            exclude=exclude,
            schemas=schemas,
            jobs=jobs,
            lock_timeout=lock_timeout,
        ),
        config_path,
    )
    if as_json:
        render.print_json(settings.to_dict())
        return
    click.echo(f"config file: {settings.path or '(none: ./pgferry.toml does not exist)'}")
    rows = settings.rows()
    width = max(len(key) for key, *_ in rows)
    shown = max(len(value) for _, value, *_ in rows)
    for key, value, origin, where in rows:
        click.echo(mask(f"{key:<{width}}  {value:<{shown}}  {origin.value:<7}  {where}".rstrip()))
