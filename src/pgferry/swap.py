"""``migrate --strategy swap``: load a sibling database, verify it, then swap names.

1. A sibling ``<qa>__pgferry_next`` is made as a copy of QA (``CREATE DATABASE
   ... TEMPLATE``: QA's schema, its own tables and settings; QA must be alone
   for that moment).
2. Production is loaded into the sibling by :func:`pgferry.migrate.migrate`,
   the whole machinery, and verified (row counts, foreign keys, sequences,
   one insert per table).  Apps connected to QA see nothing of this.
3. In one transaction on the maintenance database, QA is renamed to
   ``<qa>__pgferry_old_<time>`` and the sibling to QA: both renames happen or
   neither does.  The old database stays, tagged, as the instant rollback
   target (``pgferry backups`` lists it).

Any failure before step 3 drops the sibling and leaves QA untouched.  Needs
superuser or CREATEDB and ownership of QA, and QA without sessions at steps
1 and 3 (``force`` ends them).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from psycopg import conninfo as pgconninfo

from . import backup as backupmod
from . import databases, preflight, runlock, swapped
from .endpoints import Endpoint, connect
from .errors import PrivilegeError, RefusedError
from .load import Progress
from .migrate import MigrateOptions, MigrateReport, check_counts, migrate
from .plan import Plan
from .refusals import refuse_protected
from .source import refuse_same_database, server_identity


def on_database(endpoint: Endpoint, dbname: str) -> Endpoint:
    """*endpoint* with another database name (schema and role kept)."""
    params = pgconninfo.conninfo_to_dict(endpoint.conninfo)
    params["dbname"] = dbname
    return replace(endpoint, conninfo=pgconninfo.make_conninfo("", **params))


def migrate_swap(
    source: Endpoint,
    target: Endpoint,
    options: MigrateOptions | None = None,
    *,
    confirm: Callable[[Plan, str], bool] | None = None,
    progress: Progress | None = None,
) -> MigrateReport:
    """Refresh QA by loading a sibling and swapping it in; see the module docstring."""
    options = options or MigrateOptions()
    if options.dry_run:
        return migrate(source, target, options, confirm=confirm, progress=progress)
    # QA's own run lock, for the whole swap: the sibling's load locks the sibling's name
    with runlock.held(target, "swap"):
        return _swap(source, target, options, confirm, progress)


def _swap(
    source: Endpoint,
    target: Endpoint,
    options: MigrateOptions,
    confirm: Callable[[Plan, str], bool] | None,
    progress: Progress | None,
) -> MigrateReport:
    with (
        connect(source, read_only=True, autocommit=True) as sconn,
        connect(target, autocommit=True) as tconn,
    ):
        # the sibling is a new database: check the real QA is not production, first
        refuse_same_database(server_identity(sconn), server_identity(tconn), target)
        refuse_protected(target, target.dbname, options.protected)
        if confirm is None:  # asked, the plan below shows the signs at the prompt
            swapped.check(
                sconn,
                tconn,
                source,
                target,
                first_refresh=options.first_refresh,
                from_copy=options.from_copy,
            )
    preflight.gate(
        source,
        target,
        preflight.Scope(
            tables=options.tables,
            exclude=options.exclude,
            schemas=options.schemas,
            backup=False,
            strategy="swap",
            force=options.force,
        ),
    )
    if confirm is not None:  # ask before anything is made or any session ended
        seen = migrate(source, target, replace(options, dry_run=True, backup=False))
        if not options.push_schema:  # with it, the sibling's run pushes, then plans again
            seen.plan.raise_if_blocked()
        if not confirm(seen.plan, target.dbname):
            raise RefusedError(
                f"not confirmed: QA database {target.dbname} was left as it was",
                hint="type the database's name at the prompt, or pass --yes in scripts",
            )
    with databases.maintenance_session(target) as conn:
        db = databases.info(conn, target.dbname)
        if not db.can_copy:
            raise PrivilegeError(
                f"--strategy swap builds a sibling database: {db.why_not_copy}",
                hint=f"ALTER ROLE {db.role} CREATEDB (and make it QA's owner), or run "
                "without --strategy swap (QA is then refreshed in place, after a backup)",
            )
        sibling = databases.derived_name(db.name, "__pgferry_next")
        databases.drop(conn, sibling, force=True)  # left by an interrupted swap
        owner = db.owner if db.owner != db.role else None
        databases.create_copy(
            conn,
            sibling,
            db.name,
            owner=owner,
            force=options.force,
            why="the swap starts from a copy of QA, which needs QA alone for a moment",
        )
        changes_at_copy = databases.row_changes(conn, db.name)
        try:
            report = migrate(
                source,
                on_database(target, sibling),
                # checked above on the real QA: the sibling is a new database
                replace(options, backup=False, first_refresh=True),
                confirm=None,  # asked above, before the sibling was made
                progress=progress,
            )
            check_counts(report)  # a sibling that does not verify is never swapped in
            written = databases.row_changes(conn, db.name) - changes_at_copy
            stamp = time.strftime("%Y%m%d_%H%M%S", time.gmtime())
            old = databases.derived_name(db.name, f"__pgferry_old_{stamp}")
            missed = databases.carry_properties(conn, db.name, sibling)
            swapped.mark(conn, sibling, source)  # QA's comment, now carried, with the mark
            databases.rename_all(
                conn,
                [(db.name, old), (sibling, db.name)],
                force=options.force,
                why="the swap renames QA, which needs it alone for a moment",
            )
        except BaseException:
            databases.drop(conn, sibling, force=True)
            raise
        created = backupmod.now()
        name = f"old_{stamp}"
        reason = "the database the swap replaced"
        databases.tag(
            conn,
            old,
            {
                "kind": "swap",
                "of": db.name,
                "name": name,
                "method": "swap",
                "created": created,
                "reason": reason,
            },
        )
        size = databases.info(conn, old).size
        report.backup = backupmod.Backup(
            name, "swap", db.name, created, size, old, backupmod.server_key(target), reason
        )
        report.target = target.describe()
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
                target,
                options.backup_folder or backupmod.DEFAULT_FOLDER,
                options.backup_keep,
                spare=name,
                say=report.log.append,
            )
    return report


__all__ = ["migrate_swap", "on_database"]
