"""``sequences fix`` on a database: lock it, put back what an interrupted ``migrate`` set
aside, then move its sequences (:func:`pgferry.sequences.fix_sequences`)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass

from . import journal
from .endpoints import Endpoint, connect
from .errors import translating
from .sequences import SequenceReport, fix_sequences


@dataclass(frozen=True)
class FixResult:
    """What ``sequences fix`` did: the sequences' report, and what was put back first."""

    report: SequenceReport
    #: what an interrupted migrate had set aside and was put back first
    put_back: journal.RestoreResult
    #: set when QA is mid-refresh (a load that did not finish): what to run
    mid_refresh: str | None = None


@translating()
def fix_database(
    target: Endpoint,
    source: Endpoint | None = None,
    *,
    schemas: Sequence[str] = (),
    dry_run: bool = False,
) -> FixResult:
    """Fix every sequence of *target* (none backwards; with *source*, none behind its
    namesake there, read-only); a dry run writes nothing, not even the putting back."""
    with connect(target, autocommit=True) as conn, ExitStack() as stack:
        put_back = stack.enter_context(journal.recovered(conn, put_back=not dry_run))
        mid_refresh = journal.mid_refresh(conn)
        src = None
        if source is not None:
            src = stack.enter_context(connect(source, read_only=True, autocommit=True))
        report = fix_sequences(
            conn,
            source=src,
            schemas=list(schemas) or None,
            dry_run=dry_run,
            connect=lambda: connect(target, read_only=True, autocommit=True),
        )
    return FixResult(report, put_back, mid_refresh)


__all__ = ["FixResult", "fix_database"]
