"""Materialized views after the load: refreshed as production has them.

A view production holds populated is refreshed over QA's new data; one that
is ``WITH NO DATA`` in production (never refreshed, or emptied on purpose) is
left, or made, unpopulated in QA too, since reading it fails in production
as well.  A refresh that fails is an error of the run
(:class:`pgferry.errors.RefreshFailed`), never a footnote.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from . import queries
from .catalog import Name
from .errors import RefreshFailed


def populated(conn: psycopg.Connection[Any]) -> dict[Name, bool]:
    """Every materialized view of the user schemas -> whether it holds data."""
    rows = conn.execute(queries.load("matviews_populated")).fetchall()
    return {Name(str(s), str(n)): bool(p) for s, n, p in rows}


@dataclass
class Refreshed:
    refreshed: list[Name] = field(default_factory=list)
    #: left WITH NO DATA, as production has them
    unpopulated: list[Name] = field(default_factory=list)
    failed: list[tuple[Name, str]] = field(default_factory=list)


def refresh(
    conn: psycopg.Connection[Any], views: Sequence[Name], production: dict[Name, bool]
) -> Refreshed:
    """Refresh *views* in QA (*conn*, autocommit), each in its own transaction, as
    *production* (view -> populated) says; a failure is recorded and the next view
    is tried."""
    out = Refreshed()
    for mv in views:
        keep_empty = not production.get(mv, True)
        statement = sql.SQL("REFRESH MATERIALIZED VIEW {}{}").format(
            mv.ident, sql.SQL(" WITH NO DATA" if keep_empty else "")
        )
        try:
            with conn.transaction():
                conn.execute(statement)
        except psycopg.Error as exc:
            if isinstance(exc, psycopg.OperationalError):
                raise
            out.failed.append((mv, (exc.diag.message_primary or str(exc)).strip()))
            continue
        (out.unpopulated if keep_empty else out.refreshed).append(mv)
    return out


def refresh_failed(failed: Sequence[tuple[Name, str]]) -> RefreshFailed:
    listed = "; ".join(f"{name}: {why}" for name, why in failed[:5])
    return RefreshFailed(
        f"{len(failed)} materialized view(s) could not be refreshed in QA: {listed}",
        hint="the view's query fails on QA's data or schema (run REFRESH MATERIALIZED VIEW "
        "in QA to see it); the tables are loaded, the view keeps what it held before",
    )
