"""``pgferry migrate``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .. import config as configmod
from .. import report
from ..errors import ExitCode, PgferryError, RefusedError, translating
from ..migrate import MigrateOptions, MigrateReport, Refresh, Strategy, check_counts, execute
from ..plan import Plan
from ..refresh.masksteps import mask_steps
from . import render
from .options import (
    config_option,
    exclude_option,
    json_option,
    schema_option,
    tables_option,
)
from .progress import progress_for


def _confirm(plan: Plan, dbname: str) -> bool:
    if plan.cautions:  # pgferry never refreshed it, and it looks like production
        click.secho(
            f"Careful: pgferry has never refreshed {dbname!r}, and it may be production:",
            err=True,
            fg="red",
            bold=True,
        )
        for caution in plan.cautions:
            click.secho(f"  - {caution}", err=True, fg="red")
        click.echo("Check that --to is QA and --from production before going on.", err=True)
    click.echo(
        f"This replaces the data of {len(plan.truncate)} tables in QA database {dbname!r} "
        "with production's.",
        err=True,
    )
    typed: str = click.prompt(
        "Type the QA database's name to go on", err=True, default="", show_default=False
    )
    return typed.strip() == dbname


def _stopped(
    exc: PgferryError | KeyboardInterrupt, stopped: MigrateReport | None, report_dir: Path | None
) -> BaseException:
    """*exc*, saying where the report of what was done is (written to *report_dir*)."""
    written = None
    if stopped is not None and report_dir is not None:
        written, _ = report.write(stopped, report_dir)
    if isinstance(exc, KeyboardInterrupt):  # Ctrl-C, SIGTERM, SIGHUP: the one line names it
        if written is not None:
            exc.report_path = written  # type: ignore[attr-defined]
        return exc
    extra = [f"what was done: {written}"] if written is not None else []
    if stopped is not None and stopped.mid_refresh:
        extra.append(stopped.mid_refresh)
    return exc.with_hint(*extra) if extra else exc


@click.command("migrate")
@click.option(
    "--from", "from_url", metavar="URL", help="Production (default: $PROD_DATABASE_URL). Only read."
)
@click.option(
    "--to", "to_url", metavar="URL", help="QA, whose data is replaced (default: $QA_DATABASE_URL)."
)
@config_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (for scripts and CI).")
@click.option(
    "--jobs", type=click.IntRange(min=1), help="Tables copied in parallel (default: CPU count)."
)
@tables_option
@exclude_option
@schema_option
@click.option("--dry-run", is_flag=True, help="Print the plan and stop; write nothing.")
@click.option(
    "--push-schema",
    is_flag=True,
    help="First make QA's schema match production's (pgferry schema push, additive only).",
)
@json_option
@click.option(
    "--report-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=report.DEFAULT_DIR,
    show_default=True,
    help="Where the run report is written.",
)
@click.option("--no-report", is_flag=True, help="Write no report files.")
@click.option(
    "--no-verify",
    is_flag=True,
    help="Skip the final check that one insert per table, taking every default, works "
    "(always rolled back).",
)
@click.option(
    "--no-backup",
    is_flag=True,
    help="Do not back QA up first (default: a backup, see pgferry backup; [migrate] backup).",
)
@click.option(
    "--no-large-objects",
    is_flag=True,
    help="Leave production's large objects behind and QA's as they are (default: copy them "
    "all, same OIDs; [migrate] large_objects).",
)
@click.option(
    "--strategy",
    type=click.Choice([s.value for s in Strategy]),
    default=Strategy.REFRESH.value,
    show_default=True,
    help="refresh: QA's tables in place; swap: load a sibling database, verify it, then "
    "swap names in one step (CREATEDB; the old database stays as the rollback target).",
)
@click.option(
    "--force",
    is_flag=True,
    help="End other sessions on QA where a step needs it alone (a template backup, the "
    "swap's copy and rename).",
)
@click.option(
    "--first-refresh",
    is_flag=True,
    help="QA has never been refreshed by pgferry and looks like production (more data, "
    "more sessions, busier): it is QA all the same, go on (see docs/safety.md).",
)
@click.option(
    "--from-copy",
    is_flag=True,
    help="The source is itself a copy pgferry refreshed or made (staging into dev): read it "
    "anyway ([source] copy).",
)
@click.option(
    "--lock-timeout",
    metavar="DURATION",
    help="Longest wait for a lock on QA before stopping with the sessions that hold it "
    "named (exit 6), e.g. 60s, 500ms, 2min (default: 60s; [migrate] lock_timeout).",
)
def migrate_command(
    from_url: str | None,
    to_url: str | None,
    config_path: Path | None,
    yes: bool,
    jobs: int | None,
    tables: tuple[str, ...],
    exclude: tuple[str, ...],
    schemas: tuple[str, ...],
    dry_run: bool,
    push_schema: bool,
    as_json: bool,
    report_dir: Path,
    no_report: bool,
    no_verify: bool,
    no_backup: bool,
    no_large_objects: bool,
    strategy: str,
    force: bool,
    first_refresh: bool,
    from_copy: bool,
    lock_timeout: str | None,
) -> None:
    """Replace QA's data with production's: one snapshot, FK-safe, parallel, verified.

    Refuses before writing anything when QA's schema does not fit, when the
    target is production itself or protected, when the URLs look swapped (a
    source pgferry refreshed; a target it never refreshed that looks like
    production: --first-refresh), or without confirmation (type the
    database's name, or --yes).  Backs QA up first (pgferry backup; --no-backup
    skips it) and names the backup and the rollback command.  With --strategy
    swap, production is loaded into a sibling database that replaces QA in one
    rename once verified; QA is untouched until then.

    Exit codes: 0 done and verified; 1 row counts (or large-object counts)
    differ afterwards or a foreign key is left NOT VALID; 3 no backup could be
    taken; 5 a privilege is missing (or row-level security would hide rows); 6
    refused, or another session held a lock on QA past --lock-timeout (named); 7
    schema mismatch; 8 a table failed to copy or a materialized view
    failed to refresh; 9 QA's server ran out of a resource (out of shared
    memory, disk full) or its lock table cannot hold a step: the setting is named.
    """
    settings = configmod.resolve(
        configmod.Flags(
            from_url=from_url,
            to_url=to_url,
            tables=tables,
            exclude=exclude,
            schemas=schemas,
            jobs=jobs,
            push_schema=push_schema,
            no_backup=no_backup,
            no_large_objects=no_large_objects,
            lock_timeout=lock_timeout,
            from_copy=from_copy,
        ),
        config_path,
    )
    src, dst = settings.source_endpoint(), settings.target_endpoint()  # protected: guard()
    options = MigrateOptions(
        **settings.migrate_options(),
        dry_run=dry_run,
        verify=not no_verify,
        force=force,
        strategy=Strategy(strategy),
        first_refresh=first_refresh,
    )
    if not (yes or dry_run) and not sys.stdin.isatty():
        raise RefusedError(
            f"refusing to replace the data of {dst.describe()} without confirmation",
            hint="pass --yes (no terminal to ask on)",
        )
    if not (no_report or dry_run):  # before anything is written to QA
        report.check_folder(report_dir)
    confirm = None if (yes or dry_run) else _confirm
    # outermost: the library calls the run makes leave the server's errors to it
    with translating(), progress_for(as_json=as_json) as progress:
        masks = mask_steps(  # the key is read here, before anything is written
            {table: dict(columns) for table, columns in settings.mask},
            key_env=settings.mask_key_env,
            strict=settings.mask_strict,
            large_objects=settings.large_objects.value,
        )
        run = Refresh(
            src,
            dst,
            options,
            confirm=confirm,
            progress=progress,
            shapers=masks.shapers,
            checks=masks.checks,
        )
        try:
            result = execute(run)
        except (PgferryError, KeyboardInterrupt) as exc:  # a stopped run leaves its report
            raise _stopped(exc, run.report, None if no_report or dry_run else report_dir) from None
    if as_json:
        render.print_json(result.to_dict())
    else:
        render.migrate_summary(result)
    if dry_run:
        if result.plan.blocking:
            raise click.exceptions.Exit(int(ExitCode.SCHEMA))
        return
    if not no_report:
        md, _ = report.write(result, report_dir)
        if not as_json:
            render.console().print(f"report: {md}", markup=False)
    check_counts(result)
