"""``pgferry verify``."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from .. import config as configmod
from ..errors import ExitCode
from ..integrity import InsertStatus
from ..verify import VerifyReport, verify
from . import render
from .options import (
    config_option,
    exclude_option,
    json_option,
    schema_option,
    tables_option,
)


@click.command("verify")
@click.option(
    "--from", "from_url", metavar="URL", help="Production (default: $PROD_DATABASE_URL). Only read."
)
@click.option("--to", "to_url", metavar="URL", help="QA (default: $QA_DATABASE_URL).")
@config_option
@click.option(
    "--checksums",
    is_flag=True,
    help="Compare every table's content (an order-independent hash computed in each server), "
    "and name the keys that differ.",
)
@tables_option
@exclude_option
@schema_option
@click.option(
    "--no-insert-check",
    is_flag=True,
    help="Skip trying (and rolling back) one insert per table that takes every default.",
)
@click.option(
    "--no-large-objects",
    is_flag=True,
    help="Do not compare the number of large objects (for a migrate run with "
    "--no-large-objects; [migrate] large_objects = false does the same).",
)
@json_option
def verify_command(
    from_url: str | None,
    to_url: str | None,
    config_path: Path | None,
    checksums: bool,
    tables: tuple[str, ...],
    exclude: tuple[str, ...],
    schemas: tuple[str, ...],
    no_insert_check: bool,
    no_large_objects: bool,
    as_json: bool,
) -> None:
    """Prove QA matches production, and that QA works.

    Row counts per table (each side from one snapshot), materialized views
    populated as in production with the same row counts, the number of large
    objects, content checksums with --checksums, sequences clear of their
    data, foreign keys present and validated (orphans counted; a key production
    itself holds NOT VALID is reported as production's state, not failed), and
    one insert per table that takes every default, always rolled back.  The
    tables compared are those migrate copies: pgferry.toml's [migrate] tables,
    exclude and schema apply, as do --tables, --exclude and --schema.  Exit
    codes: 0 all good, 1 a check failed.
    """
    settings = configmod.resolve(
        configmod.Flags(
            from_url=from_url,
            to_url=to_url,
            tables=tables,
            exclude=exclude,
            schemas=schemas,
            no_large_objects=no_large_objects,
        ),
        config_path,
    )
    report = verify(
        settings.source_endpoint(),
        settings.target_endpoint(),
        **settings.scope(),
        checksums=checksums,
        inserts=not no_insert_check,
        large_objects=settings.large_objects.value,
        masked={table: dict(columns) for table, columns in settings.mask},
    )
    if as_json:
        render.print_json(report.to_dict())
    else:
        _show(report)
    if not report.ok:
        raise click.exceptions.Exit(int(ExitCode.FOUND))


def _show(report: VerifyReport) -> None:
    out = render.console()
    out.print(render.verify_table(report))
    if report.mid_refresh:
        out.print(f"[red]{escape(report.mid_refresh)}[/]")
    for p in report.plan.blocking:
        out.print(f"[red]schema: {escape(p.message)}[/]")
    for t in report.tables:
        for d in t.differences:
            out.print(f"[red]{escape(str(t.target))}: {escape(str(d))}[/]")
    for m in report.matviews:
        if m.source_populated != m.target_populated:
            state = {True: "populated", False: "WITH NO DATA"}
            out.print(
                f"[red]materialized view {escape(str(m.name))}: "
                f"{state[m.source_populated]} in production, {state[m.target_populated]} in QA[/]"
            )
        elif not m.ok:
            out.print(
                f"[red]materialized view {escape(str(m.name))}: "
                f"{m.source_rows} rows in production, {m.target_rows} in QA[/]"
            )
    lobs = report.large_objects
    if lobs is not None:
        style = "" if lobs.ok else "[red]"
        out.print(f"{style}large objects: {lobs.production} in production, {lobs.qa} in QA")
    if report.sequences_not_checked:
        out.print(f"[red]sequences not checked: {escape(report.sequences_not_checked)}[/]")
    if report.sequences is not None:
        for s in report.sequences.behind:
            out.print(
                f"[red]sequence {escape(str(s.name))} is behind: next value {s.next_value}, "
                f"data up to {s.data_extreme} ({escape(str(s.extreme_at))}); "
                "fix: pgferry sequences fix[/]"
            )
    kept = [f for f in report.foreign_keys if f.as_in_production]
    if kept:  # production's state, copied as it is: not a failure
        out.print("foreign keys NOT VALID in production too (kept so), for information:")
        for f in kept:
            out.print(f"  {escape(f.explain())}")
    for f in report.foreign_keys:
        if not f.ok:
            more = f", {f.orphans} orphan rows, e.g. {f.example}" if f.orphans else ""
            out.print(
                f"[red]foreign key {escape(str(f.table))}.{escape(f.name)}: "
                f"{escape(str(f.status))}{escape(more)}[/]"
            )
    for i in report.inserts:
        if i.status is InsertStatus.COLLISION:
            out.print(f"[red]a new row in {escape(str(i.table))} collides: {escape(i.detail)}[/]")
        elif i.status in (InsertStatus.ERROR, InsertStatus.NOT_TESTED) and i.detail:
            out.print(f"[dim]insert into {escape(str(i.table))} {i.status}: {escape(i.detail)}[/]")
        if i.consumed:
            consumed = escape(", ".join(str(c) for c in i.consumed))
            out.print(f"[dim]the insert check consumed one value of {consumed}[/]")
    for mc in report.masks:
        if not mc.ok:
            out.print(f"[red]masked column {escape(mc.explain())}[/]")
    verdict = "[green]QA matches production[/]" if report.ok else "[red]QA does NOT match[/]"
    how = " with checksums" if report.checksums else ""
    if report.masks:
        how += f", {len(report.masks)} masked columns checked on a sample"
    out.print(f"{len(report.tables)} tables compared{how}: {verdict}")
