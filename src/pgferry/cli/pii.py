"""``pgferry pii scan``."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from .. import config as configmod
from ..catalog import quote_ident
from ..errors import ExitCode
from ..pii import Scan, scan
from . import render
from .options import config_option, exclude_option, json_option, schema_option, tables_option


@click.group("pii")
def pii_group() -> None:
    """Find personal data in production, and the [mask] rules it needs."""


@pii_group.command("scan")
@click.option(
    "--from", "from_url", metavar="URL", help="Production (default: $PROD_DATABASE_URL). Only read."
)
@click.option(
    "--sample",
    type=click.IntRange(min=0),
    default=1000,
    show_default=True,
    metavar="N",
    help="Most non-empty values read per text column to validate (0: names and types only).",
)
@config_option
@tables_option
@exclude_option
@schema_option
@json_option
def scan_command(
    from_url: str | None,
    sample: int,
    config_path: Path | None,
    tables: tuple[str, ...],
    exclude: tuple[str, ...],
    schemas: tuple[str, ...],
    as_json: bool,
) -> None:
    """Suggest [mask] rules for production's personal columns.

    A column is personal when its name says so (email, e_mail, phone, tel, dob,
    ssn, iban, first_name, passwordHash, address_line1, ip, notes, ...) or when
    most of a sample of its values validate as emails, phone numbers, card
    numbers (Luhn), IBANs, IP addresses or national identifiers.  Prints each
    with its evidence (never a value) and a block to paste into pgferry.toml.
    Read-only: one REPEATABLE READ, READ ONLY transaction, nothing created.
    Exit codes: 0 every personal column has a rule in [mask] (keep counts),
    1 some have none.
    """
    settings = configmod.resolve(
        configmod.Flags(from_url=from_url, tables=tables, exclude=exclude, schemas=schemas),
        config_path,
    )
    found = scan(
        settings.source_endpoint(),
        sample=sample,
        rules={table: [column for column, _ in columns] for table, columns in settings.mask},
        **settings.scope(),
    )
    if as_json:
        render.print_json(found.to_dict())
    else:
        _show(found)
    if not found.ok:
        raise click.exceptions.Exit(int(ExitCode.FOUND))


def _show(found: Scan) -> None:
    out = render.console()
    sampled = f"up to {found.sample} values sampled per column" if found.sample else "no sampling"
    out.print(f"production {escape(found.source)}, one snapshot, {sampled}:", markup=False)
    for f in found.findings:
        unique = ", unique" if f.unique else ""
        state = "[green]has a rule[/]" if f.has_rule else "[red]no rule[/]"
        out.print(
            f"{escape(str(f.table))}.{escape(quote_ident(f.column))} ({escape(f.type)}{unique}): "
            f"{escape(f.kind)}, {state}"
        )
        for line in f.evidence:
            out.print(f"    {line}", markup=False)
    tables = len({f.table for f in found.findings})
    missing = len(found.missing)
    out.print(
        f"{len(found.findings)} personal columns in {tables} tables "
        f"({found.tables} tables, {found.columns} columns scanned); "
        + (
            f"[red]{missing} without a rule in \\[mask][/]"
            if missing
            else "[green]all have rules[/]"
        )
    )
    if missing:
        out.print("Add to pgferry.toml (then choose kinds that suit your data):", markup=False)
        click.echo()
        click.echo(found.toml(), nl=False)
