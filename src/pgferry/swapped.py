"""Swapped URLs: the target is production, or the source is a copy.

``--from`` and ``--to`` swapped, with ``--yes`` and a production role that can
write, would replace production's data with QA's.  Two checks stand in the way,
both read-only and both made before anything is written:

* **The source.**  pgferry marks every database it refreshes (a line in the
  database's comment, see :func:`mark`), and tags the copies it makes (backups,
  the database a swap replaced).  A source carrying either is a copy, not
  production, and is refused unless the user says it is on purpose (a chain
  such as staging refreshing dev: ``--from-copy``, ``[source] copy = true``).
* **The target.**  A target pgferry has refreshed before carries the mark and
  passes.  One it has never refreshed is compared with the source: holding
  more data (by more than 1 MiB and 10 %), five or more client sessions more,
  or taking more row changes than the source during a three-second sample, in
  at least two of its seconds (taken only when other sessions are connected to
  it) is a sign of production.  With
  a sign, the run stops unless the user typed the target's name at the prompt,
  which then shows the signs, or passed ``--first-refresh``.

The mark is written after the backup and before the first write; a role that
may not comment on QA's database (not its owner) leaves it unmarked, and the
check then runs again on the next refresh.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import psycopg
from psycopg import sql

from . import queries
from .endpoints import Endpoint
from .errors import RefusedError

#: how every mark line begins (the rest says from where and when)
MARK = "pgferry refreshed this database"
#: how the comments of the copies pgferry makes begin (see pgferry.safety.databases.tag)
_TAG = '{"pgferry"'
#: the target may hold this much more than the source before it counts as a sign
SLACK_BYTES = 1024 * 1024
SLACK_RATIO = 1.10
MORE_SESSIONS = 5
SAMPLE_SECONDS = 3.0
#: the sample's intervals: the target must take changes in two of them
SAMPLES = 3


@dataclass(frozen=True)
class Use:
    """What a database shows of its use (see ``sql/database_activity.sql``)."""

    sessions: int
    comment: str | None

    @property
    def refreshed(self) -> str | None:
        """The mark pgferry left (or the tag of a copy it made), else ``None``."""
        text = self.comment or ""
        if text.startswith(_TAG):
            return "a copy pgferry made (a backup, or the database a swap replaced)"
        return next((ln for ln in text.splitlines() if ln.startswith(MARK)), None)


def read(conn: psycopg.Connection[Any]) -> Use:
    row = conn.execute(queries.load("database_activity")).fetchone()
    assert row is not None  # the connected database is always there
    return Use(int(row[0]), row[1])


def size(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute(queries.load("database_size")).fetchone()
    return int(row[0]) if row else 0


def row_changes(conn: psycopg.Connection[Any]) -> int:
    conn.execute("SELECT pg_catalog.pg_stat_clear_snapshot()")  # fresh numbers in a transaction
    row = conn.execute(queries.load("database_row_changes")).fetchone()
    return int(row[0]) if row else 0


def signs(
    src_conn: psycopg.Connection[Any],
    dst_conn: psycopg.Connection[Any],
    src: Use,
    dst: Use,
    sample_seconds: float = SAMPLE_SECONDS,
) -> list[str]:
    """What makes the target look like production next to the source."""
    found: list[str] = []
    src_size, dst_size = size(src_conn), size(dst_conn)  # a marked target never gets here
    if dst_size > src_size + SLACK_BYTES and dst_size > src_size * SLACK_RATIO:
        found.append(
            f"it holds more data than the source ({_mb(dst_size)} against {_mb(src_size)})"
        )
    if dst.sessions >= src.sessions + MORE_SESSIONS:
        found.append(
            f"{dst.sessions} client sessions are connected to it, {src.sessions} to the source"
        )
    if dst.sessions > 0:  # nothing else can be writing to it otherwise
        busy, src_changes, dst_changes = _sample(src_conn, dst_conn, sample_seconds)
        if busy and dst_changes > src_changes:
            found.append(
                f"it took {dst_changes} row changes in {sample_seconds:g} s, "
                f"the source {src_changes}"
            )
    return found


def _sample(
    src_conn: psycopg.Connection[Any], dst_conn: psycopg.Connection[Any], seconds: float
) -> tuple[bool, int, int]:
    """Row changes on both sides over *seconds*, read at :data:`SAMPLES` + 1 moments;
    busy: the target's grew in at least two of the intervals.  A session reports its
    changes about once a second while it works, but once only, up to seconds late, for
    what it did before (a rolled-back test insert, a finished load): that single late
    report is not an app at work."""
    src = [row_changes(src_conn)]
    dst = [row_changes(dst_conn)]
    for _ in range(SAMPLES):
        time.sleep(seconds / SAMPLES)
        src.append(row_changes(src_conn))
        dst.append(row_changes(dst_conn))
    grew = sum(1 for a, b in pairwise(dst) if b > a)
    return grew >= 2, src[-1] - src[0], dst[-1] - dst[0]


def check(
    src_conn: psycopg.Connection[Any],
    dst_conn: psycopg.Connection[Any],
    source: Endpoint,
    target: Endpoint,
    *,
    first_refresh: bool = False,
    from_copy: bool = False,
    refuse: bool = True,
) -> tuple[str, ...]:
    """Refuse a source pgferry made or refreshed (unless *from_copy*); return the signs
    that an unmarked target is production (none with *first_refresh*).  With *refuse*
    (no one to ask: ``--yes``), signs stop the run here instead."""
    src = read(src_conn)
    if src.refreshed and not from_copy:
        raise RefusedError(
            f"the source {source.describe()} is not production: {src.refreshed}; "
            "are --from and --to swapped? nothing was written",
            hint="production goes in --from ($PROD_DATABASE_URL), QA in --to; to refresh "
            "from a copy on purpose (staging into dev), pass --from-copy "
            "([source] copy = true in pgferry.toml)",
        )
    dst = read(dst_conn)
    if dst.refreshed or first_refresh:
        return ()
    found = tuple(signs(src_conn, dst_conn, src, dst))
    if found and refuse:
        raise RefusedError(
            f"the target {target.describe()} may be production: pgferry has never refreshed "
            f"it, and {'; '.join(found)}; nothing was written",
            hint="check that --to is QA and --from production (swapped URLs?); if this is "
            "QA's first refresh, pass --first-refresh, or run without --yes and type its name",
        )
    return found


def marked(comment: str | None, line: str) -> str:
    """*comment* with its mark replaced by *line*; a copy's tag gives way entirely."""
    text = "" if comment is None or comment.startswith(_TAG) else comment
    own = [ln for ln in text.splitlines() if not ln.startswith(MARK)]
    while own and not own[-1].strip():
        own.pop()
    return "\n".join([*own, line]) if own else line


def mark(conn: psycopg.Connection[Any], dbname: str, source: Endpoint) -> bool:
    """Mark *dbname* as refreshed by pgferry from *source*, keeping its own comment;
    ``False`` where this role may not (only the owner or a superuser comments)."""
    row = conn.execute(queries.load("database_comment"), (dbname,)).fetchone()
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    line = f"{MARK} from {source.describe()} at {when}"
    body = marked(row[0] if row else None, line)
    try:
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(dbname), sql.Literal(body)
            )
        )
    except psycopg.errors.InsufficientPrivilege:
        return False
    return True


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


__all__ = ["MARK", "Use", "check", "mark", "marked", "read", "signs", "size"]
