"""A complete schema for an empty QA, from a pg_dump at least as new as production.

pg_dump refuses a server newer than itself ("server version mismatch"), and
a newer pg_dump writes what an older server or psql does not know (``SET
transaction_timeout``, ``\\restrict``).  :func:`dump_schema` picks a pg_dump
that fits production from everything on this machine (pip wheels included)
and :func:`clean` removes what QA's server would not take.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Collection, Iterable

from ..clienttools import Tool, install_hint, libpq_env, pick_tool
from ..endpoints import Endpoint, mask
from ..errors import DatabaseError
from ..plan import OWN_SCHEMA

_SET = re.compile(r"^SET\s+([a-z_.]+)\s*=", re.IGNORECASE)
_META = re.compile(r"^\\(restrict|unrestrict)\b")
_CREATE_SCHEMA = re.compile(r"^CREATE SCHEMA (?!IF NOT EXISTS)")


def find_pg_dump(source_major: int) -> Tool | None:
    return pick_tool("pg_dump", source_major)


def missing_pg_dump(source_major: int) -> str:
    return install_hint("pg_dump", source_major)


def dump_schema(source: Endpoint, tool: Tool, schemas: Iterable[str] = ()) -> str:
    """Production's schema as SQL, owners and privileges left out."""
    args = [
        str(tool.path),
        "--schema-only",
        "--no-owner",
        "--no-privileges",
        "--no-tablespaces",
        "--no-publications",
        "--no-subscriptions",
        "--no-security-labels",
        f"--exclude-schema={OWN_SCHEMA}",
        *[f"--schema={s}" for s in schemas],
    ]
    try:
        done = subprocess.run(
            args,
            env=libpq_env(source.params()),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise DatabaseError(f"could not run {tool.label}: {exc}") from None
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise DatabaseError(
            f"{tool.label} failed on production: {mask(first)}",
            hint="run it by hand with the same URL to see the whole message",
        )
    return done.stdout


def clean(script: str, target_settings: Collection[str]) -> str:
    """*script* without what QA's server would refuse.

    Drops ``\\restrict`` lines (psql meta-commands of 2025's releases), ``SET``
    lines naming a setting QA's server does not have (``transaction_timeout``
    before 17), the comment on the ``public`` schema (only its owner may set
    it), and makes ``CREATE SCHEMA`` idempotent (``public`` exists already).
    """
    known = {s.lower() for s in target_settings}
    out: list[str] = []
    for line in script.splitlines():
        if _META.match(line):
            continue
        m = _SET.match(line)
        if m and m.group(1).lower() not in known:
            continue
        if line.startswith("COMMENT ON SCHEMA public IS"):
            continue
        out.append(_CREATE_SCHEMA.sub("CREATE SCHEMA IF NOT EXISTS ", line))
    return "\n".join(out) + "\n"
