"""``migrate``: replace QA's data with production's, consistently and verifiably.

The flow, one named step each (:class:`pgferry.refresh.pipeline.Refresh`): open
one snapshot of production -> guard the target (not production itself, not
protected, not swapped with the source: :mod:`pgferry.swapped`) and run the
cheap preflight lines -> put back anything an interrupted run set aside -> read
both catalogs and plan (refuse before any write if the schemas do not fit: see
:mod:`pgferry.refresh.refusals`) -> confirm -> back QA up (unless told not to; QA's own
session is closed meanwhile, as a template copy needs QA alone) -> push the
schema (``--push-schema``) and plan again -> mark QA as refreshed by pgferry ->
set foreign keys and triggers aside (or use ``session_replication_role``), with
what pg_dump shows for them (:mod:`pgferry.details`), and record in QA that a
load is in progress -> truncate exactly the copy set -> COPY in parallel ->
replace QA's large objects with production's (same snapshot, same OIDs; see
:mod:`pgferry.largeobjects`) -> put constraints and triggers back (after a
failure too: a load that did not finish has every key over it checked, see
:mod:`pgferry.journal`) -> fix sequences -> refresh materialized views as
production has them (see :mod:`pgferry.matviews`) -> compare row counts -> one
insert per table.
"""

from __future__ import annotations

from collections.abc import Callable

from . import journal
from .catalog import RelKind
from .endpoints import Endpoint, connect
from .errors import translating
from .plan import Plan
from .refresh.options import MigrateOptions, Strategy
from .refresh.outcome import CountCheck, MigrateReport, VerificationFailed, check_counts
from .refresh.pipeline import Refresh
from .refresh.streams import Progress
from .swap import swap


@translating()
def migrate(
    source: Endpoint,
    target: Endpoint,
    options: MigrateOptions | None = None,
    *,
    confirm: Callable[[Plan, str], bool] | None = None,
    progress: Progress | None = None,
) -> MigrateReport:
    """Replace QA's data with production's.  See the module docstring for the flow.

    *confirm* gets the plan and the target database's name and returns whether
    to go on; ``None`` means the caller already confirmed (``--yes``).  One run per
    QA database at a time (see :mod:`pgferry.runlock`); a dry run writes nothing.
    ``options.strategy`` swap loads a sibling and swaps it in (:mod:`pgferry.swap`).
    To keep the report of a run that fails, make a :class:`Refresh`, pass it to
    :func:`execute` and read its ``report`` after it raised.
    """
    return execute(Refresh(source, target, options, confirm=confirm, progress=progress))


@translating()
def execute(run: Refresh) -> MigrateReport:
    """Run *run*: in place, or for ``--strategy swap`` on a sibling swapped in
    (:func:`pgferry.swap.swap`).  After a failure, ``run.report`` is the report so far."""
    if run.options.strategy is Strategy.SWAP and not run.options.dry_run:
        return swap(run)
    return run.run()


def recover(target: Endpoint) -> journal.RestoreResult:
    """Put back what an interrupted run set aside in *target* (a no-op when nothing is)."""
    with connect(target, autocommit=True) as conn, journal.exclusive(conn):
        return journal.restore(conn)  # kept keys of an unfinished load included


__all__ = [
    "CountCheck",
    "MigrateOptions",
    "MigrateReport",
    "Refresh",
    "RelKind",
    "Strategy",
    "VerificationFailed",
    "check_counts",
    "execute",
    "migrate",
    "recover",
]
