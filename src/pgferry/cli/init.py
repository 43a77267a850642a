"""``pgferry init``."""

from __future__ import annotations

from pathlib import Path

import click

from ..init import init


@click.command("init")
@click.option(
    "--dir",
    "folder",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=Path("."),
    show_default=True,
    help="The project folder to write pgferry.toml and .gitignore in.",
)
@click.option("--force", is_flag=True, help="Replace an existing pgferry.toml.")
def init_command(folder: Path, force: bool) -> None:
    """Write a commented pgferry.toml for this project, and ignore run reports in git.

    The file names the environment variables that hold the URLs (found in this
    shell: PROD_DATABASE_URL, QA_DATABASE_URL, ...), never their values.
    """
    result = init(folder, force=force)
    click.echo(f"wrote {result.config}: source ${result.source_env}, target ${result.target_env}")
    if result.gitignore_added:
        click.echo(f"added pgferry-runs/ to {result.gitignore}")
