"""``pgferry schema diff`` and ``pgferry schema push``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape as esc

from .. import config as configmod
from .. import endpoints, journal
from ..errors import ExitCode, RefusedError
from ..plan import Severity
from ..schema import SchemaDiff
from ..schema.compare import schema_diff
from ..schema.push import PushPlan, PushResult, push
from . import render
from .options import config_option, json_option, schema_option

_FROM = click.option(
    "--from", "from_url", metavar="URL", help="Production (default: $PROD_DATABASE_URL). Only read."
)
_TO = click.option("--to", "to_url", metavar="URL", help="QA (default: $QA_DATABASE_URL).")

_NO_GRANTS = click.option(
    "--no-grants",
    is_flag=True,
    help="Leave privileges (GRANT/REVOKE, default privileges) out of the comparison and push.",
)
_ACROSS = click.option(
    "--across-servers",
    is_flag=True,
    help="Compare production's and QA's servers directly instead of restoring production's "
    "schema into a scratch database on QA's server (less exact across versions).",
)

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
@config_option
@schema_option
@json_option
@click.option(
    "--exit-code",
    is_flag=True,
    help="Exit with 1 when there is something to act on: a blocking or warning difference "
    "(like git diff --exit-code).",
)
@click.option(
    "--strict",
    is_flag=True,
    help="With --exit-code, informational differences (extension versions, column order, "
    "comments) count too.",
)
@_NO_GRANTS
@_ACROSS
def diff_command(
    from_url: str | None,
    to_url: str | None,
    config_path: Path | None,
    schemas: tuple[str, ...],
    as_json: bool,
    exit_code: bool,
    strict: bool,
    no_grants: bool,
    across_servers: bool,
) -> None:
    """List how QA's schema differs from production's, and what each difference means.

    Production's schema is dumped by pg_dump and restored into a scratch database
    on QA's own server (dropped afterwards), so both sides are written by the same
    server version: no false drift.  Every object kind pg_dump knows is compared,
    row-level security, policies, grants, rules, casts and comments included.
    Where QA's role may not create databases, the servers are compared directly
    and the output says so.  Every difference is classed: blocking (pgferry
    migrate refuses to start), warning (the copy runs, something behaves
    differently), or info.  Exit codes: 0 (or, with --exit-code, 0 nothing to act
    on and 1 blocking or warning differences; info counts only with --strict); 4 a
    connection failed; 2 bad arguments.
    """
    settings = configmod.resolve(
        configmod.Flags(from_url=from_url, to_url=to_url, schemas=schemas), config_path
    )
    src, dst = settings.source_endpoint(), settings.target_endpoint()
    schemas = settings.schemas.value  # --schema, [migrate] schema, Prisma's ?schema=
    with endpoints.connect(dst, read_only=True, autocommit=True) as conn:
        mid_refresh = journal.mid_refresh(conn)
    if mid_refresh is not None:  # the schema is whole, the data are not: say it first
        click.echo(f"warning: {mid_refresh}", err=True)
    found = schema_diff(
        src, dst, schemas=schemas, with_grants=not no_grants, exact=not across_servers
    )
    if as_json:
        render.print_json(found.to_dict())
    else:
        show_diff(found)
    if exit_code and found.actionable(strict=strict):
        raise click.exceptions.Exit(int(ExitCode.FOUND))


def show_diff(found: SchemaDiff) -> None:
    out = render.console()
    for note in found.notes:
        out.print(f"[dim]note: {esc(note)}[/]")
    if found.mode:
        out.print(f"[dim]compared: {esc(found.mode)}[/]")
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
@config_option
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
    help="Build every statement from the catalogs instead of pg_dump's archive (leaves out "
    "row-level security, policies, grants, rules and casts).",
)
@_NO_GRANTS
@_ACROSS
@json_option
def push_command(
    from_url: str | None,
    to_url: str | None,
    config_path: Path | None,
    schemas: tuple[str, ...],
    dry_run: bool,
    yes: bool,
    allow_drop: bool,
    no_pg_dump: bool,
    no_grants: bool,
    across_servers: bool,
    as_json: bool,
) -> None:
    """Make QA's schema match production's, in one transaction.

    Prints the SQL first, in pg_dump's dependency order.  Every object QA lacks is
    created by pg_dump's own SQL (row-level security, policies, grants for roles
    QA has, comments and all); pgferry writes only column changes, enum labels
    and sequence bounds itself.  What QA's server cannot hold (a newer feature)
    is named before anything runs, with what depends on it.  Additive by default;
    what drops or narrows data runs only with --allow-drop.  A schema too big for
    QA's lock table is pushed in several transactions (rerun to finish one that
    stopped).  Exit codes: 0 done (or nothing to do); 6 refused (no
    confirmation, or the target matches pgferry.toml's [target] protected); 7 a
    statement failed (QA unchanged).
    """
    settings = configmod.resolve(
        configmod.Flags(from_url=from_url, to_url=to_url, schemas=schemas), config_path
    )
    src, dst = settings.source_endpoint(), settings.writable_target()  # protected: refused
    schemas = settings.schemas.value  # --schema, [migrate] schema, Prisma's ?schema=

    def run(dry: bool) -> PushResult:
        return push(
            src,
            dst,
            dry_run=dry,
            allow_drop=allow_drop,
            schemas=schemas,
            use_pg_dump=not no_pg_dump,
            grants=not no_grants,
            exact=not across_servers,
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
    out.print(f"[bold]-- {plan.size} change(s), by {plan.method}[/]")
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
