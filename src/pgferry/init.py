"""``pgferry init``: a commented ``pgferry.toml`` and ``.gitignore`` lines, for a project.

Only the *names* of the environment variables that hold URLs are written,
never their values: the file is meant to be committed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .config import DEFAULT_PATH
from .errors import RefusedError
from .report import DEFAULT_DIR
from .safety.backup import DEFAULT_FOLDER as BACKUP_DIR

_SOURCE_NAMES = ("PROD_DATABASE_URL", "PRODUCTION_DATABASE_URL", "SOURCE_DATABASE_URL")
_TARGET_NAMES = ("QA_DATABASE_URL", "STAGING_DATABASE_URL", "TARGET_DATABASE_URL", "DATABASE_URL")

TEMPLATE = """\
# pgferry.toml: how `pgferry migrate` refreshes QA from production.
# Commit this file: it names environment variables, never URLs or passwords.

[source]
# The variable holding production's URL (read-only for pgferry).{source_note}
url_env = "{source}"

[target]
# The variable holding QA's URL: its data are replaced.{target_note}
url_env = "{target}"
# Refuse any target whose database name or host:port/db matches one of these.
protected = ["*prod*", "*production*", "*live*"]

[migrate]
# Copy only these tables (patterns: "public.*", "Order"); empty = every table.
tables = []
# Leave these out (their QA data stay as they are).
exclude = []
# Tables copied in parallel; leave unset for the number of CPUs.
# jobs = 4
# Bring QA's schema level with production's (pgferry schema push, additive) first.
push_schema = false
# Back QA up before writing; `pgferry rollback` brings it back.
backup = true
# Copy production's large objects (false: leave them, like --no-large-objects).
large_objects = true

[backup]
# auto (a template copy where the role may, else pg_dump), template or dump.
method = "auto"
# Backups kept per QA database; older ones are removed.
keep = 5
# Where dump backups go (add it to .gitignore).
folder = "pgferry-backups"
"""


@dataclass(frozen=True)
class InitResult:
    """The files ``pgferry init`` wrote, and the environment variables it chose."""

    config: Path
    gitignore: Path
    source_env: str
    target_env: str
    gitignore_added: bool


def _pick(names: tuple[str, ...], environ: Mapping[str, str]) -> tuple[str, bool]:
    for name in names:
        if environ.get(name):
            return name, True
    return names[0], False


def init(
    folder: Path | None = None, *, force: bool = False, environ: Mapping[str, str] | None = None
) -> InitResult:
    """Write ``pgferry.toml`` and add ``pgferry-runs/`` and ``pgferry-backups/`` to
    ``.gitignore`` in *folder*."""
    folder = folder or Path.cwd()
    env = os.environ if environ is None else environ
    config = folder / DEFAULT_PATH.name
    if config.exists() and not force:
        raise RefusedError(
            f"{config} exists already: left as it is", hint="pass --force to replace it"
        )
    source, found_source = _pick(_SOURCE_NAMES, env)
    target, found_target = _pick(_TARGET_NAMES, env)
    unset = "\n# (not set in this shell when pgferry init ran: set it before pgferry migrate)"
    config.write_text(
        TEMPLATE.format(
            source=source,
            target=target,
            source_note="" if found_source else unset,
            target_note="" if found_target else unset,
        ),
        encoding="utf-8",
    )
    gitignore = folder / ".gitignore"
    existing = gitignore.read_text(encoding="utf-8").splitlines() if gitignore.exists() else []
    wanted = [
        ("# pgferry run reports", f"{DEFAULT_DIR.as_posix()}/"),
        ("# pgferry dump backups of QA (production's data)", f"{BACKUP_DIR.as_posix()}/"),
    ]
    missing = [(why, line) for why, line in wanted if line not in existing]
    if missing:
        with gitignore.open("a", encoding="utf-8") as f:
            if existing and existing[-1] != "":
                f.write("\n")
            for why, line in missing:
                f.write(f"{why}\n{line}\n")
    return InitResult(config, gitignore, source, target, bool(missing))
