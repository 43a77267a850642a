"""``migrate --strategy swap``: load a sibling database, verify it, then swap names.

The same steps as an in-place refresh (:class:`pgferry.refresh.pipeline.Refresh`),
split around the sibling:

1. On QA: snapshot, guard (QA is checked, not the sibling: that one is new),
   recover, plan, confirm.
2. A sibling ``<qa>__pgferry_next`` is made as a copy of QA (``CREATE DATABASE
   ... TEMPLATE``: QA's schema, its own tables and settings; QA must be alone
   for that moment).
3. On the sibling: plan again (on its schema, after ``--push-schema``), set
   aside, truncate, load, put back, sequences, views, counts, one insert per
   table; a sibling that does not verify is never swapped in.  Apps connected
   to QA see nothing of this.
4. In one transaction on the maintenance database, QA is renamed to
   ``<qa>__pgferry_old_<time>`` and the sibling to QA: both renames happen or
   neither does.  The old database stays, tagged, as the instant rollback
   target (``pgferry backups`` lists it).

Any failure before step 4 drops the sibling and leaves QA untouched (but for
step 1's putting back what an interrupted in-place run had set aside in it).
Needs superuser or CREATEDB and ownership of QA, and QA without sessions at
steps 2 and 4 (``force`` ends them).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from psycopg import conninfo as pgconninfo

from . import runlock, swapped
from .endpoints import Endpoint
from .errors import PrivilegeError, translating
from .plan import Plan
from .refresh.options import MigrateOptions, Strategy
from .refresh.outcome import MigrateReport, check_counts
from .refresh.pipeline import Refresh
from .refresh.streams import Progress
from .safety import backup as backupmod
from .safety import databases
from .safety.databases import Conn, DatabaseInfo


def on_database(endpoint: Endpoint, dbname: str) -> Endpoint:
    """*endpoint* with another database name (schema and role kept)."""
    params = pgconninfo.conninfo_to_dict(endpoint.conninfo)
    params["dbname"] = dbname
    return replace(endpoint, conninfo=pgconninfo.make_conninfo("", **params))


@translating()
def migrate_swap(
    source: Endpoint,
    target: Endpoint,
    options: MigrateOptions | None = None,
    *,
    confirm: Callable[[Plan, str], bool] | None = None,
    progress: Progress | None = None,
) -> MigrateReport:
    """Refresh QA by loading a sibling and swapping it in; see the module docstring."""
    options = replace(options or MigrateOptions(), strategy=Strategy.SWAP)
    run = Refresh(source, target, options, confirm=confirm, progress=progress)
    return run.run() if options.dry_run else swap(run)


def swap(run: Refresh) -> MigrateReport:
    """Run *run*'s steps on a sibling of its QA and swap it in (QA's run lock held
    for the whole swap)."""
    with runlock.held(run.target, "swap"):
        return _swap(run)


def _swap(run: Refresh) -> MigrateReport:
    options, qa = run.options, run.target
    try:
        with run.snapshot():
            with run.prepared() as tconn:
                run.confirm_run(tconn)
            with databases.maintenance_session(qa) as conn:
                db = databases.info(conn, qa.dbname)
                with run.step("make sibling"):
                    sibling = _sibling(conn, db, options.force)
                changes_at_copy = databases.row_changes(conn, db.name)
                try:
                    run.retarget(on_database(qa, sibling))
                    if options.push_schema:
                        run.push_schema()  # plans again on the schema it leaves
                    else:
                        with run.qa_session() as tconn:
                            run.replan(tconn)  # on the sibling's own schema
                    with run.qa_session() as tconn:
                        run.load(tconn)
                        run.afterwards(tconn)
                    report = run.report_
                    check_counts(report)  # a sibling that does not verify is never swapped in
                    with run.step("swap in"):
                        _swap_in(run, conn, db, sibling, qa, changes_at_copy)
                except BaseException:
                    databases.drop(conn, sibling, force=True)
                    raise
    except BaseException as exc:
        raised = run.stopped(exc)
        if raised is exc:
            raise
        raise raised from exc
    return run.finish()


def _sibling(conn: Conn, db: DatabaseInfo, force: bool) -> str:
    """Make the sibling, a template copy of QA (dropping one an interrupted swap left)."""
    if not db.can_copy:
        raise PrivilegeError(
            f"--strategy swap builds a sibling database: {db.why_not_copy}",
            hint=f"ALTER ROLE {db.role} CREATEDB (and make it QA's owner), or run "
            "without --strategy swap (QA is then refreshed in place, after a backup)",
        )
    sibling = databases.derived_name(db.name, "__pgferry_next")
    databases.drop(conn, sibling, force=True)  # left by an interrupted swap
    databases.create_copy(
        conn,
        sibling,
        db.name,
        owner=db.owner if db.owner != db.role else None,
        force=force,
        why="the swap starts from a copy of QA, which needs QA alone for a moment",
        size=db.size,
    )
    return sibling


def _swap_in(
    run: Refresh, conn: Conn, db: DatabaseInfo, sibling: str, qa: Endpoint, changes_at_copy: int
) -> None:
    """Rename QA away and the sibling into its place, in one transaction; tag the old
    one as the rollback target and say what apps wrote to QA meanwhile."""
    options, report = run.options, run.report_
    stamp = time.strftime("%Y%m%d_%H%M%S", time.gmtime())
    old = databases.derived_name(db.name, f"__pgferry_old_{stamp}")
    missed = databases.carry_properties(conn, db.name, sibling)
    swapped.mark(conn, sibling, run.source)  # QA's comment, now carried, with the mark
    written = databases.row_changes(conn, db.name) - changes_at_copy
    databases.rename_all(
        conn,
        [(db.name, old), (sibling, db.name)],
        force=options.force,
        why="the swap renames QA, which needs it alone for a moment",
    )
    name = f"old_{stamp}"
    report.backup = backupmod.tag_copy(
        conn,
        qa,
        old,
        of=db.name,
        name=name,
        method=backupmod.BackupMethod.SWAP,
        reason="the database the swap replaced",
    )
    run.retarget(qa)
    report.log.append(f"swapped: {db.name} is the loaded sibling; the old one is {old}")
    report.log += [f"not carried over to the new QA (no privilege): {m}" for m in missed]
    if written > 0:  # what apps wrote to QA while the sibling loaded stays with the old one
        report.notices.append(
            f"QA took {written} row change(s) while the sibling loaded: they are in {old}, "
            "not in the new QA"
        )
    report.notices += [f"not carried over to the new QA: {m}" for m in missed]
    if options.backup_keep:
        backupmod.prune(
            conn,
            qa,
            options.backup_folder or backupmod.DEFAULT_FOLDER,
            options.backup_keep,
            spare=name,
            say=report.log.append,
        )


__all__ = ["migrate_swap", "on_database", "swap"]
