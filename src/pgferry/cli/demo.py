"""``pgferry demo``."""

from __future__ import annotations

import time

import click

from .. import demo as demomod
from ..demo import DemoResult
from . import render
from .progress import progress_for


def _wait(result: DemoResult) -> None:
    click.echo("")
    click.echo("the servers stay up until you press Ctrl-C:")
    click.echo(f"  export PROD_DATABASE_URL='{result.prod_url}'")
    click.echo(f"  export QA_DATABASE_URL='{result.qa_url}'")
    click.echo("  pgferry migrate --dry-run")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        click.echo("")


@click.command("demo")
@click.option(
    "--keep", is_flag=True, help="Leave the servers running and print their URLs, until Ctrl-C."
)
@click.option(
    "--scale",
    type=click.FloatRange(min=0.01, max=100),
    default=1.0,
    show_default=True,
    help="Size of the demo's production (1: about 125,000 rows).",
)
def demo_command(keep: bool, scale: float) -> None:
    """See pgferry fix a refresh in one command, on two throwaway PostgreSQL servers.

    Needs no database of yours: it starts two servers (the machine's PostgreSQL or
    the one pip installs with pgferry[embedded]), shows the usual copy script
    failing with "Unique constraint failed on the fields: (`id`)", runs pgferry
    migrate, shows the same insert succeeding, and removes everything it started.
    """
    with progress_for(as_json=False) as progress:
        result = demomod.run(
            scale=scale,
            keep=keep,
            say=lambda line: click.echo(line, err=False),
            progress=progress,
            wait=_wait,
        )
    if result.migrate is not None:
        render.migrate_summary(result.migrate)
    click.echo(
        f"done in {result.seconds:.1f} s: the refresh that failed now works, "
        f"sequences {'healthy' if result.healthy_after else 'NOT healthy'}"
    )
