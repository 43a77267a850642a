"""``pgferry schema diff`` and ``pgferry schema push``."""

from __future__ import annotations

import sys

import click
from rich.markup import escape as esc

from .. import endpoints
from ..catalog import read_catalog
from ..errors import ExitCode, RefusedError
from ..plan import Severity
from ..schema import SchemaDiff, diff
from ..schema.push import PushPlan, PushResult, push
from . import render
from .options import json_option, schema_option

_FROM = click.option(
    "--from", "from_url", metavar="URL", help="Production (default: $PROD_DATABASE_URL). Only read."
)
_TO = click.option("--to", "to_url", metavar="URL", help="QA (default: $QA_DATABASE_URL).")

_MARK = {
    Severity.BLOCKING: "[red]✗ blocking[/]",
    Severity.WARNING: "[yellow]! warning[/]",
    Severity.INFO: "[dim]· info[/]",
}


@click.group("schema")
def schema_group() -> None:
    """Find and close schema drift between production and QA."""


@schema_group.command("diff")
@_FROM
@_TO
@schema_option
@json_option
@click.option(
    "--exit-code",
    is_flag=True,
    help="Exit with 1 when there are differences (like git diff --exit-code).",
)
def diff_command(
    from_url: str | None,
    to_url: str | None,
    schemas: tuple[str, ...],
    as_json: bool,
    exit_code: bool,
) -> None:
    """List how QA's schema differs from production's, and what each difference means.

    Every difference is classed: blocking (pgferry migrate refuses to start),
    warning (the copy runs, something behaves differently), or info.  Exit
    codes: 0 (or, with --exit-code, 0 no differences and 1 differences); 4 a
    connection failed; 2 bad arguments.
    """
    src = endpoints.resolve(from_url, role="prod")
    dst = endpoints.resolve(to_url, role="qa")
    schemas = schemas or ((dst.schema,) if dst.schema else ())  # Prisma's ?schema=
    with (
        endpoints.connect(src, read_only=True, autocommit=True) as sconn,
        endpoints.connect(dst, read_only=True, autocommit=True) as tconn,
    ):
        found = diff(read_catalog(sconn), read_catalog(tconn), schemas=schemas)
    if as_json:
        render.print_json(found.to_dict())
    else:
        show_diff(found)
    if exit_code and found:
        raise click.exceptions.Exit(int(ExitCode.FOUND))


def show_diff(found: SchemaDiff) -> None:
    out = render.console()
    if not found:
        out.print("[green]no differences: QA's schema matches production's[/]")
        return
    for kind, items in found.grouped().items():
        out.print(f"[bold]{kind}s[/]" if not kind.endswith("x") else f"[bold]{kind}es[/]")
        for d in items:
            out.print(f"  {_MARK[d.severity]} {d.change.value} {esc(d.name)}: {esc(d.detail)}")
            out.print(f"      [dim]migrate: {esc(d.migrate)}[/]")
            if d.refused:
                out.print(f"      [dim]schema push: not done: {esc(d.refused)}[/]")
    counts = ", ".join(f"{len(found.of(s))} {s.value}" for s in Severity)
    out.print(f"{len(found.differences)} differences ({counts})")
    if found.blocking:
        out.print("fix: [bold]pgferry schema push[/] (add --dry-run to see the SQL first)")


@schema_group.command("push")
@_FROM
@_TO
@schema_option
@click.option("--dry-run", is_flag=True, help="Print the SQL and stop; change nothing.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (for scripts and CI).")
@click.option(
    "--allow-drop",
    is_flag=True,
    help="Also run what drops or narrows data in QA (extra tables, columns, constraints).",
)
@click.option(
    "--no-pg-dump",
    is_flag=True,
    help="Build an empty QA's schema from the catalog instead of pg_dump.",
)
@json_option
def push_command(
    from_url: str | None,
    to_url: str | None,
    schemas: tuple[str, ...],
    dry_run: bool,
    yes: bool,
    allow_drop: bool,
    no_pg_dump: bool,
    as_json: bool,
) -> None:
    """Make QA's schema match production's, in one transaction.

    Prints the SQL first, ordered so that types come before tables and tables
    before constraints.  Additive by default; what drops or narrows data runs
    only with --allow-drop.  An empty QA gets production's whole schema from a
    pg_dump at least as new as production.  Exit codes: 0 done (or nothing to
    do); 6 refused (no confirmation); 7 a statement failed (QA unchanged).
    """
    src = endpoints.resolve(from_url, role="prod")
    dst = endpoints.resolve(to_url, role="qa")
    schemas = schemas or ((dst.schema,) if dst.schema else ())  # Prisma's ?schema=

    def run(dry: bool) -> PushResult:
        return push(
            src,
            dst,
            dry_run=dry,
            allow_drop=allow_drop,
            schemas=schemas,
            use_pg_dump=not no_pg_dump,
        )

    preview = run(True)
    if not as_json:
        show_plan(preview.plan)
    if dry_run or not preview.plan.statements:
        if as_json:
            render.print_json(preview.to_dict())
        return
    if not yes:
        if not sys.stdin.isatty():
            raise RefusedError(
                f"refusing to change the schema of {dst.describe()} without confirmation",
                hint="pass --yes (no terminal to ask on), or --dry-run to see the SQL only",
            )
        if not click.confirm(f"Apply this to {dst.dbname!r}?", err=True):
            raise RefusedError("schema push cancelled: nothing was changed")
    result = run(False)
    if as_json:
        render.print_json(result.to_dict())
    else:
        show_result(result)


def show_plan(plan: PushPlan) -> None:
    out = render.console()
    for note in plan.notes:
        out.print(f"[dim]note: {esc(note)}[/]")
    for d in plan.drops:
        held = d in plan.held_back
        word = "held back (needs --allow-drop)" if held else "drops data"
        out.print(f"[red]{word}: {d.kind} {esc(d.name)}: {esc(d.detail)}[/]")
    for d in plan.refused:
        out.print(f"[yellow]not done: {d.kind} {esc(d.name)}: {esc(d.refused or '')}[/]")
    if not plan.statements:
        out.print("[green]nothing to do: QA's schema matches production's[/]")
        return
    out.print(f"[bold]-- {len(plan.steps)} change(s), by {plan.method}, in one transaction[/]")
    for text in plan.statements:
        out.print(
            text if text.endswith(";") or "\n" in text else text + ";", markup=False, soft_wrap=True
        )


def show_result(result: PushResult) -> None:
    out = render.console()
    out.print("[green]schema push applied[/]")
    for note in result.notes:
        out.print(f"[dim]note: {esc(note)}[/]")
    left = result.remaining
    if left:
        out.print(f"{len(left.differences)} difference(s) left (see pgferry schema diff):")
        for d in left.differences[:20]:
            out.print(f"  {_MARK[d.severity]} {d.kind} {esc(d.name)}: {esc(d.detail)}")
