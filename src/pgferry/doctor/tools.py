"""pg_dump, psql and pg_restore of the wrong version: find one on this machine that fits."""

from __future__ import annotations

import re
import shlex

from ..clienttools import ARCHIVE_READERS, RESTRICT_SINCE, Tool, find_tools, install_hint
from .context import Context
from .messages import Symptom
from .model import Finding, Severity


def _major(version: str | None) -> int | None:
    m = re.match(r"(\d+)", version or "")
    return int(m.group(1)) if m else None


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
