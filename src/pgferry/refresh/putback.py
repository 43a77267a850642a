"""What a run put back in QA, and what it left: the report's side of the journal.

After the load (or its failure), :func:`pgferry.journal.restore` brings back
what was set aside; these record in the :class:`~.outcome.MigrateReport` what
came back, what stays NOT VALID or was skipped, whether QA is still mid-refresh,
and the keys QA keeps NOT VALID as production does, with their orphans counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from .. import journal
from ..catalog import Catalog, Constraint, RelKind
from ..integrity import NOT_VALID_IN_PRODUCTION, ForeignKeyCheck, orphan_check
from .outcome import MigrateReport
from .streams import RunLog


def record(report: MigrateReport, put_back: journal.RestoreResult, log: RunLog) -> None:
    """What came back, what is left NOT VALID or skipped, and whether QA is mid-refresh:
    in the report of a stopped run as much as of a finished one."""
    report.put_back = len(put_back.restored)
    log.note(f"put back {len(put_back.restored)} objects")
    report.not_validated = [(f"{e.table}.{e.name}", why) for e, why in put_back.not_validated]
    report.journal_skipped += skipped(put_back, log)
    if put_back.unfinished:
        last = put_back.unfinished[-1].describe()
        report.mid_refresh = f"QA is mid-refresh: {last}; {journal.MID_REFRESH_HINT}"


def skipped(result: journal.RestoreResult, log: RunLog) -> list[tuple[str, str]]:
    """Journal entries that no longer apply, said in the log and kept in the report with
    the statement that set them up (the journal's history)."""
    out = []
    for e, why in result.skipped:
        what = f"{e.kind} {e.table}.{e.name}"
        log.note(f"journal: {what} {why}")
        out.append((what, f"{why}; its definition was: {e.definition}"))
    return out


def kept_not_valid(
    tconn: psycopg.Connection[Any],
    fks: Sequence[Constraint],
    dst_cat: Catalog,
    put_back: journal.RestoreResult,
) -> list[ForeignKeyCheck]:
    """The keys QA holds NOT VALID as production does, each with its orphans counted
    (production's rows: information, not a failure).  A partitioned table's key comes
    back validated (PostgreSQL before 18 has no NOT VALID there) or not at all."""
    failed = {(e.table, e.name) for e, _ in put_back.not_validated}
    return [
        orphan_check(tconn, fk, NOT_VALID_IN_PRODUCTION)
        for fk in fks
        if (fk.table, fk.name) not in failed
        and not ((t := dst_cat.table(fk.table)) is not None and t.kind is RelKind.PARTITIONED)
    ]


__all__ = ["kept_not_valid", "record", "skipped"]
