"""``pgferry mask check`` and ``pgferry mask preview`` (a module named ``mask`` would hide
the URL-masking function ``pgferry.cli`` imports under that name)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from .. import config as configmod
from ..masking.rules import Rule
from ..refresh.maskcheck import SAMPLE_ROWS
from ..refresh.maskreview import preview, review
from . import render
from .options import config_option, exclude_option, json_option, schema_option, tables_option

_FROM = click.option(
    "--from", "from_url", metavar="URL", help="Production (default: $PROD_DATABASE_URL). Only read."
)


def _settings(
    from_url: str | None,
    config_path: Path | None,
    tables: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
    schemas: tuple[str, ...] = (),
) -> configmod.Settings:
    flags = configmod.Flags(from_url=from_url, tables=tables, exclude=exclude, schemas=schemas)
    return configmod.resolve(flags, config_path)


def _rules(settings: configmod.Settings) -> dict[str, dict[str, Rule]]:
    return {table: dict(columns) for table, columns in settings.mask}


@click.group("mask")
def mask_group() -> None:
    """Try pgferry.toml's [mask] rules against production, without copying."""


@mask_group.command("check")
@_FROM
@config_option
@tables_option
@exclude_option
@schema_option
@click.option(
    "--sample",
    type=click.IntRange(min=1),
    default=SAMPLE_ROWS,
    show_default=True,
    help="Production rows per masked table run through the rules.",
)
@json_option
def check_command(
    from_url: str | None,
    config_path: Path | None,
    tables: tuple[str, ...],
    exclude: tuple[str, ...],
    schemas: tuple[str, ...],
    sample: int,
    as_json: bool,
) -> None:
    """Check every [mask] rule against production's catalog and a sample of rows.

    Tables and columns exist; kinds fit their columns' types; no rule that can
    give two rows the same value masks a unique column; foreign keys that point
    at a masked column follow it; with [mask] strict, every personal-looking or
    new column has a rule; and a sample of rows through the rules keeps lengths,
    NOT NULL, types, enums, domains and CHECK constraints.  Reads production
    under one read-only snapshot and writes nothing anywhere.  Exit codes: 0
    the rules fit, 2 a rule does not (the message names it).
    """
    settings = _settings(from_url, config_path, tables=tables, exclude=exclude, schemas=schemas)
    result = review(
        settings.source_endpoint(),
        _rules(settings),
        key_env=settings.mask_key_env,
        strict=settings.mask_strict,
        sample=sample,
        **settings.scope(),
        large_objects=settings.large_objects.value,
    )
    if as_json:
        render.print_json(result.to_dict())
        return
    out = render.console()
    for t in result.tables:
        followed = set(t.followed)
        parts = [
            f"{escape(c)} ({escape(k)}{', follows a foreign key' if c in followed else ''})"
            for c, k in t.masked
        ]
        out.print(f"{escape(str(t.table))}: " + ", ".join(parts))
    out.print(
        f"[green]The rules fit[/]: {len(result.tables)} tables masked, {sample} rows of each "
        "run through the rules."
    )


@mask_group.command("preview")
@_FROM
@config_option
@click.option("--table", "table", required=True, metavar="NAME", help="The table to show.")
@click.option(
    "--limit",
    type=click.IntRange(min=1, max=1000),
    default=5,
    show_default=True,
    help="Rows to show.",
)
@json_option
def preview_command(
    from_url: str | None, config_path: Path | None, table: str, limit: int, as_json: bool
) -> None:
    """Show a few rows of one table as QA would get them: masked.

    Rows are read from production (read-only) and masked here; production's own
    values of the masked columns are never printed.
    """
    settings = _settings(from_url, config_path)
    shown = preview(
        settings.source_endpoint(),
        _rules(settings),
        table,
        key_env=settings.mask_key_env,
        limit=limit,
    )
    if as_json:
        render.print_json(shown.to_dict())
        return
    grid = Table(title=f"{escape(str(shown.table))}, masked", title_justify="left")
    for column in shown.columns:
        grid.add_column(escape(column) + (" *" if column in shown.masked else ""))
    for row in shown.rows:
        grid.add_row(*(escape(v) if v is not None else "[dim]NULL[/]" for v in row))
    out = render.console()
    out.print(grid)
    out.print("* masked")
