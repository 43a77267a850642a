"""``migrate``: replace QA's data with production's, consistently and verifiably.

The flow: open one snapshot of production -> guard the target (not production
itself, not protected, not swapped with the source: :mod:`pgferry.swapped`) and
run the cheap preflight lines -> put back anything an interrupted run set aside ->
read both catalogs -> plan (refuse before any write if the schemas do not fit:
see :mod:`pgferry.refusals`) -> confirm -> back QA up (unless told not to; QA's
own session is closed meanwhile, as a template copy needs QA alone) -> push
the schema (``--push-schema``) -> mark QA as refreshed by pgferry -> plan
again -> set foreign keys and triggers aside (or use
``session_replication_role``), with what pg_dump shows for them
(:mod:`pgferry.details`), and record in QA that a load is in progress ->
truncate exactly the copy set ->
COPY in parallel -> replace QA's large objects with production's (same
snapshot, same OIDs; see :mod:`pgferry.largeobjects`) -> put constraints and
triggers back (after a failure too: a load that did not finish has every key
over it checked, see :mod:`pgferry.journal`) -> fix sequences -> refresh
materialized views as production has them (see :mod:`pgferry.matviews`) ->
ANALYZE -> compare row counts.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import psycopg

from . import backup as backupmod
from . import details, journal, largeobjects, matviews, preflight, runlock, swapped, waits
from .catalog import Catalog, Constraint, ConstraintType, Index, Name, RelKind, read_catalog
from .endpoints import Endpoint, connect
from .errors import (
    DatabaseError,
    ExitCode,
    PgferryError,
    RefusedError,
    from_server,
    interruption,
)
from .integrity import (
    NOT_VALID_IN_PRODUCTION,
    ForeignKeyCheck,
    InsertCheck,
    check_insert,
    not_valid_in_production,
    orphan_check,
    production_key,
)
from .load import (
    Progress,
    RunLog,
    TableResult,
    can_use_replica_role,
    run_copies,
    target_session,
    truncate,
)
from .locks import truncate_batches
from .plan import Plan, build_plan, covered_tables, empty_selection
from .refusals import (
    guard,
    refuse_before_writing,
    refuse_unpushable,
    with_rls_problems,
)
from .schema.push import PushResult, push
from .sequences import SequenceReport, fix_sequences
from .source import Snapshot, count_rows


class VerificationFailed(PgferryError):
    """The copy finished but QA does not match the snapshot."""

    exit_code = ExitCode.FOUND


@dataclass(frozen=True)
class MigrateOptions:
    tables: Sequence[str] = ()
    exclude: Sequence[str] = ()
    schemas: Sequence[str] = ()
    jobs: int = field(default_factory=lambda: max(2, os.cpu_count() or 2))
    dry_run: bool = False
    protected: Sequence[str] = ()
    #: after the load, try one insert per table that takes every default (rolled back)
    verify: bool = True
    #: run ``schema push`` (additive) before planning, so that a drifted QA is brought level
    push_schema: bool = False
    #: back QA up before the first write (see :mod:`pgferry.backup`)
    backup: bool = True
    backup_method: str = "auto"
    backup_folder: Path | None = None
    backup_keep: int | None = backupmod.DEFAULT_KEEP
    #: end other sessions on QA where a step needs it alone (a template backup)
    force: bool = False
    #: replace QA's large objects with production's (False: leave both alone, say how many)
    large_objects: bool = True
    #: how long each statement waits for a lock on QA (see :mod:`pgferry.waits`)
    lock_timeout: str = waits.DEFAULT_LOCK_TIMEOUT
    #: the target has never been refreshed and may look like production: go on anyway
    first_refresh: bool = False
    #: the source is a copy pgferry made or refreshed (staging into dev): read it anyway
    from_copy: bool = False


@dataclass(frozen=True)
class CountCheck:
    table: Name
    source_rows: int
    target_rows: int

    @property
    def ok(self) -> bool:
        return self.source_rows == self.target_rows


@dataclass
class MigrateReport:
    source: str
    target: str
    plan: Plan
    dry_run: bool = False
    mode: str = ""  # "replica" or "constraints"
    results: list[TableResult] = field(default_factory=list)
    counts: list[CountCheck] = field(default_factory=list)
    sequences: SequenceReport | None = None
    restored_before: int = 0
    #: objects this run set aside and put back (after a failure too)
    put_back: int = 0
    not_validated: list[tuple[str, str]] = field(default_factory=list)
    #: journal entries skipped because their table, a column or a referenced table is gone
    journal_skipped: list[tuple[str, str]] = field(default_factory=list)
    #: set when QA is still mid-refresh after this run (a load that did not finish)
    mid_refresh: str | None = None
    #: keys production holds NOT VALID, kept so in QA, with their orphans (information)
    not_valid_in_production: list[ForeignKeyCheck] = field(default_factory=list)
    refreshed: list[Name] = field(default_factory=list)
    #: left WITH NO DATA in QA because production's are
    unpopulated: list[Name] = field(default_factory=list)
    not_refreshed: list[tuple[Name, str]] = field(default_factory=list)
    large_objects: largeobjects.Tally | None = None
    seconds: float = 0.0
    run_id: str = ""
    log: list[str] = field(default_factory=list)
    inserts: list[InsertCheck] = field(default_factory=list)
    schema_pushed: list[str] = field(default_factory=list)  # statements --push-schema ran
    error: str | None = None  # why the run stopped, when it did
    notices: list[str] = field(default_factory=list)  # what the user must know, said at the end
    backup: backupmod.Backup | None = None

    @property
    def rollback_command(self) -> str | None:
        if self.backup is None:
            return None
        return f"pgferry rollback --backup {self.backup.name}"

    @property
    def ok(self) -> bool:
        return (
            self.error is None
            and all(c.ok for c in self.counts)
            and not self.not_validated
            and self.mid_refresh is None
            and not self.not_refreshed
            and (self.large_objects is None or self.large_objects.ok)
            and all(i.ok for i in self.inserts)
            and (self.sequences is None or self.sequences.healthy)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "source": self.source,
            "target": self.target,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "mode": self.mode,
            "seconds": round(self.seconds, 3),
            "plan": self.plan.to_dict(),
            "tables": [r.to_dict() for r in self.results],
            "counts": [
                {
                    "table": str(c.table),
                    "production": c.source_rows,
                    "qa": c.target_rows,
                    "ok": c.ok,
                }
                for c in self.counts
            ],
            "sequences": self.sequences.to_dict() if self.sequences else None,
            "restored_from_interrupted_run": self.restored_before,
            "put_back": self.put_back,
            "journal_skipped": [{"object": n, "reason": r} for n, r in self.journal_skipped],
            "mid_refresh": self.mid_refresh,
            "constraints_not_validated": [
                {"constraint": n, "reason": r} for n, r in self.not_validated
            ],
            "constraints_not_valid_in_production": [
                {**f.to_dict(), "constraint": f"{f.table}.{f.name}", "note": f.explain()}
                for f in self.not_valid_in_production
            ],
            "materialized_views_refreshed": [str(n) for n in self.refreshed],
            "materialized_views_unpopulated": [str(n) for n in self.unpopulated],
            "materialized_views_not_refreshed": [
                {"view": str(n), "reason": why} for n, why in self.not_refreshed
            ],
            "large_objects": self.large_objects.to_dict() if self.large_objects else None,
            "inserts": [i.to_dict() for i in self.inserts],
            "schema_pushed": self.schema_pushed,
            "error": self.error,
            "notices": self.notices,
            "backup": self.backup.to_dict() if self.backup else None,
            "rollback_command": self.rollback_command,
        }


def recover(target: Endpoint) -> journal.RestoreResult:
    """Put back what an interrupted run set aside in *target* (a no-op when nothing is)."""
    with connect(target, autocommit=True) as conn, journal.exclusive(conn):
        return journal.restore(conn)  # kept keys of an unfinished load included


def _aside(
    plan: Plan, catalog: Catalog, replica: bool, source: Catalog
) -> tuple[list[Constraint], list[Any], list[Constraint]]:
    """Foreign keys and triggers to set aside for the load, and the keys QA keeps
    NOT VALID because production holds them so.

    Each key set aside carries, in ``validated``, the state it comes back in:
    production's, where production has the key (so a key NOT VALID there is
    never validated in QA, and one valid there is validated again), else QA's own.
    """
    copied = covered_tables(set(plan.truncate), catalog)
    triggers = [
        trg
        for trg in catalog.triggers
        if trg.table in copied
        and trg.enabled in (("A", "R") if replica else ("O", "A"))
        and _is_own_trigger(trg, catalog)
    ]
    fks = [fk for fk in catalog.foreign_keys() if fk.table in copied or fk.ref_table in copied]
    as_production = [fk for fk in fks if not_valid_in_production(fk, source)]
    if replica:
        # Foreign-key triggers do not fire for a replica session, so nothing checks
        # the rows: keep only the keys production's snapshot is known to satisfy
        # (the same validated key there, both tables copied), and those QA already
        # holds NOT VALID as production does.  The others are set aside and put
        # back afterwards like in constraints mode, never left marked valid over
        # rows that break them.
        fks = [
            fk
            for fk in fks
            if not _holds_in_source(fk, copied, source)
            and not (not fk.validated and fk in as_production)
        ]
    wanted = [replace(fk, validated=_wanted(fk, source)) for fk in fks]
    return wanted, triggers, as_production


def _wanted(fk: Constraint, source: Catalog) -> bool:
    """Whether QA's *fk* is to be validated after the load: as production has it."""
    found = production_key(fk, source)
    return fk.validated if found is None else found.validated


def _holds_in_source(fk: Constraint, copied: set[Name], source: Catalog) -> bool:
    if not fk.validated or fk.table not in copied or fk.ref_table not in copied:
        return False
    definition = fk.definition.removesuffix(" NOT VALID")
    return any(
        c.type is ConstraintType.FOREIGN_KEY and c.validated and c.definition == definition
        for c in source.constraints_of(fk.table)
    )


#: Tables with at least this many rows (planner estimate) load without their
#: secondary indexes, which are built again afterwards, as pg_restore does.
DEFER_INDEXES_FROM_ROWS = 10_000


def _deferred_indexes(plan: Plan, catalog: Catalog) -> list[Index]:
    """Plain secondary indexes of the large tables being loaded: one sorted build
    after the load costs much less than updating them row by row during it."""
    large = {tp.target for tp in plan.tables if tp.estimated_rows >= DEFER_INDEXES_FROM_ROWS}
    return [ix for ix in catalog.indexes if ix.table in large and ix.is_plain]


def _is_own_trigger(trg: Any, catalog: Catalog) -> bool:
    """A trigger cloned onto a partition follows its parent's: set the parent's aside only."""
    table = catalog.table(trg.table)
    if table is None or not table.is_partition:
        return True
    return not any(t.table in table.parents and t.name == trg.name for t in catalog.triggers)


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
    """
    options = options or MigrateOptions()
    if options.dry_run:
        return _migrate(source, target, options, confirm, progress)
    with runlock.held(target, "migrate"):
        return _migrate(source, target, options, confirm, progress)


def _migrate(
    source: Endpoint,
    target: Endpoint,
    options: MigrateOptions,
    confirm: Callable[[Plan, str], bool] | None,
    progress: Progress | None,
) -> MigrateReport:
    started = time.monotonic()
    log = RunLog(progress)
    run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:6]
    for ep in (source, target):
        if ep.pgbouncer:
            raise RefusedError(
                f"{ep.describe()} goes through PgBouncer (pgbouncer=true), whose transaction "
                "pooling drops the session settings a consistent copy needs",
                hint="give pgferry a direct URL to the server (Prisma's directUrl)",
            )
    report: MigrateReport | None = None
    target = replace(target, lock_timeout=options.lock_timeout)  # every wait on QA bounded
    waiting = "set QA's tables aside, empty them or put them back"
    try:
        with Snapshot(source) as snap:
            with connect(target, autocommit=True) as tconn, journal.exclusive(tconn):
                guard(snap, tconn, target, options.protected)
                cautions = swapped.check(  # before any write: --from and --to swapped?
                    snap.conn,
                    tconn,
                    source,
                    target,
                    first_refresh=options.first_refresh,
                    from_copy=options.from_copy,
                    refuse=confirm is None and not options.dry_run,
                )
                if (
                    not options.dry_run
                ):  # the cheap part of pgferry preflight: stop on a failing line
                    preflight.gate(source, target, _scope(options), ignore=[tconn.info.backend_pid])
                # what an interrupted run set aside comes back first (not in a dry run: it writes)
                with waits.named(
                    tconn, (), options.lock_timeout, "put back what an earlier run set aside"
                ):
                    restored = (
                        journal.RestoreResult((), ()) if options.dry_run else journal.restore(tconn)
                    )
                if restored.restored:
                    log.note(
                        f"put back {len(restored.restored)} objects an interrupted run "
                        "had set aside"
                    )
                skipped = _skipped(restored, log)
                # --push-schema: what the push would do, here; it runs after the backup
                preview = (
                    _push_schema(source, target, options, log, dry_run=True)
                    if options.push_schema
                    else None
                )
                src_cat, dst_cat = snap.catalog(), read_catalog(tconn)
                plan = build_plan(
                    src_cat,
                    dst_cat,
                    tables=options.tables,
                    exclude=options.exclude,
                    schemas=options.schemas,
                )
                if (empty := _empty_selection(plan, src_cat, options)) is not None:
                    raise empty
                plan, filtered = with_rls_problems(plan, snap, src_cat)
                plan = replace(plan, cautions=cautions)
                report = MigrateReport(
                    source=source.describe(),
                    target=target.describe(),
                    plan=plan,
                    dry_run=options.dry_run,
                    restored_before=len(restored.restored),
                    run_id=run_id,
                    log=log.lines,
                    schema_pushed=preview.plan.statements if preview else [],
                    large_objects=_large_objects(snap, tconn, options),
                    journal_skipped=skipped,
                )
                if options.dry_run:
                    report.seconds = time.monotonic() - started
                    return report
                if preview is not None:
                    refuse_unpushable(plan, preview)
                if not plan.blocking:  # QA's lock table must hold the emptying: say so now
                    _truncate_batches(tconn, plan, dst_cat, src_cat)
                refuse_before_writing(
                    plan, filtered, src_cat, dst_cat, confirm, drift_ok=preview is not None
                )
                log.note(
                    f"plan: {len(plan.tables)} tables, {len(plan.warnings)} warnings; confirmed"
                )
            # QA's session is closed here: a template copy needs QA to itself
            if options.backup:
                report.backup = _backup(target, options, log)
            deferred = False
            if options.push_schema:  # after the backup: the push is QA's first write
                pushed = _push_schema(source, target, options, log)
                report.schema_pushed, deferred = pushed.plan.statements, bool(pushed.plan.deferred)
            with connect(target, autocommit=True) as tconn, journal.exclusive(tconn):
                if not swapped.mark(tconn, tconn.info.dbname, source):
                    log.note(
                        "QA is not marked as refreshed by pgferry (only its owner may comment "
                        "on it): the check for swapped URLs runs again next time"
                    )
                if options.push_schema:  # plan again, on the schema the push left
                    dst_cat = read_catalog(tconn)
                    plan, filtered = with_rls_problems(
                        build_plan(
                            src_cat,
                            dst_cat,
                            tables=options.tables,
                            exclude=options.exclude,
                            schemas=options.schemas,
                        ),
                        snap,
                        src_cat,
                    )
                    report.plan = plan
                    refuse_before_writing(plan, filtered, src_cat, dst_cat, None)
                # production's positions now: its snapshot then only has to last through the load
                positions = snap.sequence_positions(src_cat)
                with waits.named(tconn, plan.truncate, options.lock_timeout, waiting):
                    _load(snap, tconn, target, plan, src_cat, dst_cat, options, report, log)
                    if deferred:  # NOT NULL on columns the load has now filled
                        report.schema_pushed += _push_schema(
                            source, target, options, log
                        ).plan.statements
                    _afterwards(snap, tconn, target, plan, src_cat, options, report, positions)
    except PgferryError as exc:  # the report so far goes with the error, for the ticket
        _attach(report, exc, started)
        raise
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, SIGHUP: put back above, now the report
        if report is not None:
            report.error = f"interrupted by {interruption(exc)}"
            report.seconds = time.monotonic() - started
            exc.report = report  # type: ignore[attr-defined]
        raise
    except psycopg.Error as exc:  # a statement the server refused: its words, and the report
        refused = from_server(exc, server="QA's server")  # production's sessions only read
        if refused is None:  # the connection itself failed
            raise
        _attach(report, refused, started)
        raise refused from exc
    log.note(
        f"sequences: {len(report.sequences.fixed) if report.sequences else 0} fixed; "
        f"counts: {sum(1 for c in report.counts if not c.ok)} differ"
    )
    report.seconds = time.monotonic() - started
    return report


def _large_objects(
    snap: Snapshot, tconn: psycopg.Connection[Any], options: MigrateOptions
) -> largeobjects.Tally:
    """Production's large objects, counted in the snapshot; before any write, whether
    this run may read them and remove QA's (a missing privilege stops it here)."""
    tally = largeobjects.Tally(largeobjects.count(snap.conn), copied=options.large_objects)
    if options.large_objects and not options.dry_run:
        if tally.production:
            with snap.worker() as conn:
                largeobjects.check_readable(conn)
        largeobjects.check_removable(tconn)
    return tally


def _attach(report: MigrateReport | None, exc: PgferryError, started: float) -> None:
    if report is not None:
        report.error = exc.message
        report.seconds = time.monotonic() - started
        exc.report = report  # type: ignore[attr-defined]


def _push_schema(
    source: Endpoint,
    target: Endpoint,
    options: MigrateOptions,
    log: RunLog,
    *,
    dry_run: bool = False,
) -> PushResult:
    """``schema push`` before the copy (additive only); in a dry run, what it would run.

    ``plan.deferred`` of the result: statements that wait for the load (NOT NULL on a
    new column of a table that holds rows).
    """
    result = push(source, target, dry_run=dry_run, schemas=tuple(options.schemas))
    statements = result.plan.statements
    if dry_run:
        log.note(f"schema push would run {result.plan.size} statements first")
    elif statements:
        log.note(f"schema push: {result.plan.size} statements applied ({result.plan.method})")
    for d in (*result.plan.held_back, *result.plan.refused):
        log.note(f"schema push left alone: {d.kind} {d.name}: {d.refused or 'needs --allow-drop'}")
    return result


def _empty_selection(plan: Plan, src_cat: Catalog, options: MigrateOptions) -> PgferryError | None:
    return empty_selection(
        plan, src_cat, tables=options.tables, exclude=options.exclude, schemas=options.schemas
    )


def _scope(options: MigrateOptions) -> preflight.Scope:
    return preflight.Scope(
        tables=options.tables,
        exclude=options.exclude,
        schemas=options.schemas,
        backup=options.backup,
        backup_method=options.backup_method,
        force=options.force,
    )


def _backup(target: Endpoint, options: MigrateOptions, log: RunLog) -> backupmod.Backup:
    """Back QA up before the first write; a backup that cannot be taken stops the run."""
    try:
        made = backupmod.backup(
            target,
            method=options.backup_method,
            folder=options.backup_folder,
            keep=options.backup_keep,
            force=options.force,
            jobs=options.jobs,
            say=log.note,
        )
    except PgferryError as exc:  # same class and exit code, saying that nothing was written
        exc.message = f"no backup of QA could be taken, so nothing was written: {exc.message}"
        if "--no-backup" not in (exc.hint or ""):
            exc.hint = f"{exc.hint}; or " if exc.hint else ""
            exc.hint += "pass --no-backup to migrate without one ([migrate] backup = false)"
        raise
    log.note(f"backup {made.name} ({made.method}) at {made.location}")
    return made


def _load(
    snap: Snapshot,
    tconn: psycopg.Connection[Any],
    target: Endpoint,
    plan: Plan,
    src_cat: Catalog,
    dst_cat: Catalog,
    options: MigrateOptions,
    report: MigrateReport,
    log: RunLog,
) -> None:
    """Set aside -> empty -> copy -> put back; what was set aside comes back even on failure.

    QA is recorded as mid-refresh before the first write and no longer once every table
    is in; a load that stops before has every key over it checked when put back."""
    replica = can_use_replica_role(tconn)
    report.mode = "replica" if replica else "constraints"
    fks, triggers, as_production = _aside(plan, dst_cat, replica, src_cat)
    indexes = _deferred_indexes(plan, dst_cat)
    kept = _kept(plan, dst_cat, fks)
    found = _details(target, tconn, indexes, fks, options, report, log)
    try:
        journal.begin_load(tconn, report.run_id, plan.truncate, mode=report.mode, kept=kept)
        entries = journal.set_aside(tconn, report.run_id, fks, triggers, indexes, details=found)
        log.note(
            f"{report.mode} mode: set aside {len(fks)} foreign keys, {len(triggers)} "
            f"triggers, {len(indexes)} indexes (journal: pgferry.journal)"
        )
        batches = _truncate_batches(tconn, plan, dst_cat, src_cat, replica=replica)
        with _replica_session(tconn, replica):
            for batch in batches:
                truncate(tconn, batch, partitioned=_partitioned(batch, dst_cat))
        log.note(f"emptied {len(plan.truncate)} tables in {len(batches)} statement(s)")
        if options.large_objects:
            log.note(f"removed QA's {largeobjects.remove_all(tconn)} large objects")
        rebuild: dict[Name, list[journal.Entry]] = {}
        for e in entries:
            if e.kind is journal.Kind.INDEX:
                rebuild.setdefault(e.table, []).append(e)
        report.results = run_copies(
            snap,
            target,
            plan.tables,
            jobs=options.jobs,
            replica=replica,
            progress=log,
            indexes=rebuild,
        )
        if options.large_objects and report.large_objects and report.large_objects.production:
            with snap.worker() as sconn, target_session(target, replica=False) as qconn:
                copied = largeobjects.copy_all(sconn, qconn, say=log.note)
            assert report.large_objects is not None
            report.large_objects.bytes = copied.bytes
        journal.end_load(tconn, report.run_id, plan.truncate)  # every table is in
    finally:
        # the workers analysed every table they loaded; after a failure, analyse here
        put_back = journal.restore(
            tconn,
            dst_cat,
            analyzed=len(report.results) == len(plan.tables),
            connect=lambda: connect(target, autocommit=True),
            jobs=options.jobs,
        )
        _record_put_back(report, put_back, log)
    report.not_valid_in_production = _kept_not_valid(tconn, as_production, dst_cat, put_back)
    if report.not_valid_in_production:
        log.note(
            f"{len(report.not_valid_in_production)} foreign keys NOT VALID in production "
            "too, kept so"
        )


def _record_put_back(report: MigrateReport, put_back: journal.RestoreResult, log: RunLog) -> None:
    """What came back, what is left NOT VALID or skipped, and whether QA is mid-refresh:
    in the report of a stopped run as much as of a finished one."""
    report.put_back = len(put_back.restored)
    log.note(f"put back {len(put_back.restored)} objects")
    report.not_validated = [(f"{e.table}.{e.name}", why) for e, why in put_back.not_validated]
    report.journal_skipped += _skipped(put_back, log)
    if put_back.unfinished:
        last = put_back.unfinished[-1].describe()
        report.mid_refresh = f"QA is mid-refresh: {last}; {journal.MID_REFRESH_HINT}"


def _skipped(result: journal.RestoreResult, log: RunLog) -> list[tuple[str, str]]:
    """Journal entries that no longer apply, said in the log and kept in the report with
    the statement that set them up (the journal's history)."""
    out = []
    for e, why in result.skipped:
        what = f"{e.kind} {e.table}.{e.name}"
        log.note(f"journal: {what} {why}")
        out.append((what, f"{why}; its definition was: {e.definition}"))
    return out


def _kept(plan: Plan, catalog: Catalog, aside: Sequence[Constraint]) -> list[Constraint]:
    """The validated foreign keys over the copy set a load leaves in place (replica mode:
    production's snapshot satisfies them once the load is whole, not before)."""
    copied = covered_tables(set(plan.truncate), catalog)
    set_aside = {(fk.table, fk.name) for fk in aside}
    return [
        fk
        for fk in catalog.foreign_keys()
        if fk.validated
        and (fk.table in copied or fk.ref_table in copied)
        and (fk.table, fk.name) not in set_aside
    ]


def _details(
    target: Endpoint,
    tconn: psycopg.Connection[Any],
    indexes: Sequence[Index],
    fks: Sequence[Constraint],
    options: MigrateOptions,
    report: MigrateReport,
    log: RunLog,
) -> dict[tuple[Name, str], str]:
    """What pg_dump shows for the objects about to be set aside (see :mod:`pgferry.details`);
    when QA cannot be dumped, the load goes on with their definitions only, and says so."""
    if not indexes and not fks:
        return {}
    try:
        return details.read(
            target,
            tconn.info.server_version // 10000,
            indexes,
            fks,
            lock_wait=options.lock_timeout,
        )
    except DatabaseError as exc:
        note = (
            "comments, tablespaces, CLUSTER ON and statistics targets of the indexes and "
            f"foreign keys set aside could not be read, so they may be lost: {exc.message}"
        )
        log.note(note)
        report.notices.append(note)
        return {}


def _kept_not_valid(
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


def _afterwards(
    snap: Snapshot,
    tconn: psycopg.Connection[Any],
    target: Endpoint,
    plan: Plan,
    src_cat: Catalog,
    options: MigrateOptions,
    report: MigrateReport,
    positions: dict[Name, int],
) -> None:
    """Fix sequences, refresh materialized views, compare row counts."""
    selective = bool(options.tables or options.exclude)  # only the copied tables' sequences
    report.sequences = fix_sequences(
        tconn,
        positions=positions,
        schemas=options.schemas or None,
        tables={*plan.truncate, *(tp.target for tp in plan.tables)} if selective else None,
        connect=lambda: connect(target, read_only=True, autocommit=True),
    )
    # after the sequences: a failing view must not leave them behind
    views = matviews.refresh(tconn, plan.refresh, matviews.populated(snap.conn))
    report.refreshed, report.unpopulated = views.refreshed, views.unpopulated
    report.not_refreshed = views.failed
    lobs = report.large_objects
    if lobs is not None and lobs.copied:
        lobs.qa = largeobjects.count(tconn)
    elif lobs is not None:
        report.notices.append(
            f"{lobs.production} large object(s) of production were left behind "
            "(--no-large-objects); QA's own were left as they were"
        )
    # production's side of the comparison is what its COPY reported sending from
    # the snapshot: no second scan of production
    sent = {r.table.target: r.source_rows for r in report.results}
    target_counts = count_rows(tconn, [(tp.target, tp.only) for tp in plan.tables])
    report.counts = [
        CountCheck(tp.target, sent[tp.target], target_counts[tp.target]) for tp in plan.tables
    ]
    if options.verify:  # can the application create a row in every table now?
        qa_now = read_catalog(tconn)
        report.inserts = [
            check_insert(tconn, qa_now, tp.target)
            for tp in plan.tables
            if (t := qa_now.table(tp.target)) is not None and t.kind is RelKind.TABLE
        ]


def _truncate_batches(
    tconn: psycopg.Connection[Any],
    plan: Plan,
    catalog: Catalog,
    source: Catalog,
    *,
    replica: bool | None = None,
) -> list[list[Name]]:
    """The TRUNCATEs that empty the copy set within QA's lock table (see
    :mod:`pgferry.locks`): tables a foreign key left in place ties share one."""
    if replica is None:
        replica = can_use_replica_role(tconn)
    aside = {(fk.table, fk.name) for fk in _aside(plan, catalog, replica, source)[0]}
    units = set(plan.truncate)

    def unit(name: Name) -> Name | None:  # a partition is emptied with its truncated root
        if name in units:
            return name
        return next((a for a in catalog.ancestors(name) if a in units), None)

    links = [
        (a, b)
        for fk in catalog.foreign_keys()
        if (fk.table, fk.name) not in aside
        and (a := unit(fk.table)) is not None
        and fk.ref_table is not None
        and (b := unit(fk.ref_table)) is not None
    ]
    return truncate_batches(
        tconn, plan.truncate, partitioned=_partitioned(plan.truncate, catalog), links=links
    )


def _partitioned(tables: Sequence[Name], catalog: Catalog) -> set[Name]:
    return {
        n for n in tables if (t := catalog.table(n)) is not None and t.kind is RelKind.PARTITIONED
    }


@contextmanager
def _replica_session(conn: psycopg.Connection[Any], enabled: bool) -> Iterator[None]:
    """``session_replication_role = replica`` for the block, when allowed."""
    if enabled:
        conn.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        if enabled:
            conn.execute("RESET session_replication_role")


def check_counts(report: MigrateReport) -> None:
    """Raise :class:`~pgferry.errors.RefreshFailed` naming every materialized view that
    could not be refreshed, then :class:`VerificationFailed` naming every table whose
    counts differ, a large-object count that differs, every foreign key QA's data do
    not satisfy (left ``NOT VALID``), or every table where a new row would collide.
    Keys production itself holds ``NOT VALID`` (kept so in QA) are production's state,
    not a failure."""
    if report.not_refreshed:
        raise matviews.refresh_failed(report.not_refreshed)
    bad = [c for c in report.counts if not c.ok]
    if bad:
        listed = ", ".join(f"{c.table} ({c.source_rows} vs {c.target_rows})" for c in bad[:5])
        raise VerificationFailed(
            f"row counts differ between production's snapshot and QA: {listed}",
            hint="something wrote to QA during the load; rerun pgferry migrate",
        )
    lobs = report.large_objects
    if lobs is not None and not lobs.ok:
        raise VerificationFailed(
            f"large objects differ: production's snapshot has {lobs.production}, QA {lobs.qa}",
            hint="something created or removed large objects in QA during the load; rerun "
            "pgferry migrate",
        )
    if report.not_validated:
        listed = "; ".join(f"{name}: {why}" for name, why in report.not_validated[:5])
        raise VerificationFailed(
            f"QA's data do not satisfy {len(report.not_validated)} foreign key(s), left "
            f"NOT VALID: {listed}",
            hint="QA's schema has foreign keys production's data break, or a table they "
            "reference was left out; pgferry validates them again on its next run",
        )
    behind = report.sequences.behind if report.sequences is not None else []
    if behind:
        listed = "; ".join(f"{s.name}: {s.note or s.status.value}" for s in behind[:5])
        raise VerificationFailed(
            f"{len(behind)} sequence(s) could not be moved past the data: {listed}",
            hint="apply the ALTER SEQUENCE named above, then run pgferry sequences fix",
        )
    collisions = [i for i in report.inserts if not i.ok]
    if collisions:
        listed = "; ".join(f"{i.table}: {i.detail}" for i in collisions[:5])
        raise VerificationFailed(
            f"a new row would collide in {len(collisions)} table(s): {listed}",
            hint="see pgferry sequences check; pgferry doctor explains a pasted error",
        )


__all__ = ["MigrateOptions", "MigrateReport", "RelKind", "VerificationFailed", "migrate", "recover"]
