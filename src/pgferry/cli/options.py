"""Options several commands share."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def db_option(f: F) -> F:
    return click.option(
        "--db",
        "db_url",
        metavar="URL",
        help="Database to work on (default: $DATABASE_URL, then $QA_DATABASE_URL, then PG*).",
    )(f)


def schema_option(f: F) -> F:
    return click.option(
        "--schema",
        "schemas",
        multiple=True,
        metavar="NAME",
        help="Only this schema (repeatable; default: [migrate] schema, else the URL's ?schema=, "
        "else all schemas).",
    )(f)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")(f)


def config_option(f: F) -> F:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(path_type=Path, dir_okay=False),
        help="Config file (default: ./pgferry.toml when present).",
    )(f)


def tables_option(f: F) -> F:
    return click.option(
        "--tables",
        multiple=True,
        metavar="PATTERN",
        help="Only tables matching (repeatable; 'public.*', 'Order'; default: [migrate] tables, "
        "else all).",
    )(f)


def exclude_option(f: F) -> F:
    return click.option(
        "--exclude",
        multiple=True,
        metavar="PATTERN",
        help="Leave tables matching out (repeatable; added to [migrate] exclude).",
    )(f)
