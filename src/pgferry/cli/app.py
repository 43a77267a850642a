"""The command group and the options every command shares."""

from __future__ import annotations

import click

from .. import __version__
from .backup import backup_command, backups_command, rollback_command
from .config import config_group
from .demo import demo_command
from .doctor import doctor_command
from .init import init_command
from .masking import mask_group
from .migrate import migrate_command
from .pii import pii_group
from .preflight import preflight_command
from .schema import schema_group
from .sequences import sequences
from .verify import verify_command


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="pgferry")
@click.option(
    "--traceback", is_flag=True, help="Show the Python traceback when an error stops a command."
)
def cli(traceback: bool) -> None:
    """Refresh QA and staging PostgreSQL databases from production: safely,
    consistently, fast, and verified.

    Connection URLs come from the flags or the environment: PROD_DATABASE_URL
    (--from), QA_DATABASE_URL (--to), DATABASE_URL (--db); else libpq's PG*
    variables and ~/.pgpass.  Prisma URL parameters such as ?schema=public are
    accepted.  ./pgferry.toml (or --config) is read by every command that
    connects; pgferry config show prints what it all resolves to.
    """


cli.add_command(sequences)
cli.add_command(migrate_command)
cli.add_command(demo_command)
cli.add_command(init_command)
cli.add_command(verify_command)
cli.add_command(doctor_command)
cli.add_command(schema_group)
cli.add_command(backup_command)
cli.add_command(backups_command)
cli.add_command(rollback_command)
cli.add_command(preflight_command)
cli.add_command(config_group)
cli.add_command(pii_group)
cli.add_command(mask_group)
