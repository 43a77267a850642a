"""The refresh as a pipeline of named steps: :class:`Refresh`.

One object holds the endpoints, the options, the run log and the report; its
methods are the steps, in the order they run::

    snapshot -> guard -> recover -> plan -> confirm -> back up (or, for a swap,
    make sibling) -> push schema -> set aside -> truncate -> load -> put back
    -> sequences -> views -> count -> verify (-> swap in)

Each step names itself to the progress display while it runs (see
:class:`pgferry.refresh.streams.StepProgress`) and in the run log.  ``migrate`` runs them
all on QA; ``--strategy swap`` (:mod:`pgferry.swap`) runs the first five on QA,
then points the same object at the sibling database and runs the rest there.
After a failure, :attr:`Refresh.report` holds the report so far.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import psycopg

from .. import details, journal, largeobjects, matviews, runlock, swapped, waits
from ..catalog import Catalog, Constraint, Index, Name, RelKind, read_catalog
from ..endpoints import Endpoint, connect
from ..errors import (
    ConfigError,
    DatabaseError,
    PgferryError,
    RefusedError,
    from_server,
    interruption,
)
from ..integrity import check_insert
from ..plan import Plan, build_plan, empty_selection
from ..safety import backup as backupmod
from ..safety import preflight
from ..schema.push import PushResult, push
from ..sequences import fix_sequences
from . import aside as asidemod
from . import putback
from .aside import LoadMode
from .options import MigrateOptions, Strategy
from .outcome import CountCheck, MigrateReport
from .refusals import guard, refuse_before_writing, refuse_unpushable, with_rls_problems
from .snapshot import Snapshot, count_rows
from .streams import (
    Progress,
    RunLog,
    StepProgress,
    can_use_replica_role,
    run_copies,
    target_session,
    truncate,
)

#: every step, in order; a run shows those that apply to it
STEPS = (
    "snapshot",
    "guard",
    "recover",
    "plan",
    "confirm",
    "back up",
    "make sibling",
    "push schema",
    "set aside",
    "truncate",
    "load",
    "put back",
    "sequences",
    "views",
    "count",
    "verify",
    "swap in",
)
_WAITING = "set QA's tables aside, empty them or put them back"

#: changes a plan before it runs: (plan, production's catalog, QA's) -> plan
Shaper = Callable[[Plan, Catalog, Catalog], Plan]
#: a check of the plan on production's snapshot session (see Refresh.checks)
Check = Callable[[psycopg.Connection[Any], Plan, Catalog], None]


class Refresh:
    """Replace QA's data with production's, step by step; see the module docstring.

    *confirm* gets the plan and the target database's name and returns whether
    to go on; ``None`` means the caller already confirmed (``--yes``).
    """

    def __init__(
        self,
        source: Endpoint,
        target: Endpoint,
        options: MigrateOptions | None = None,
        *,
        confirm: Callable[[Plan, str], bool] | None = None,
        progress: Progress | None = None,
        shapers: Sequence[Shaper] = (),
        checks: Sequence[Check] = (),
    ) -> None:
        self.options = options or MigrateOptions()
        #: applied in order to every plan made (masking adds column transforms, subsetting
        #: row filters): the other steps run what the plan says
        self.shapers = list(shapers)
        #: run on production's snapshot session once the plan is made, before QA is
        #: written (masking's sample of rows through the rules): they raise to refuse
        self.checks = list(checks)
        self.source = source
        self.target = replace(target, lock_timeout=self.options.lock_timeout)  # waits bounded
        self.confirm = confirm
        self.log = RunLog(progress)
        self.run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:6]
        self.started = time.monotonic()
        #: the report so far: set once the plan is made, kept after a failure
        self.report: MigrateReport | None = None
        self.steps = self._applicable()
        self._snap: Snapshot | None = None
        self._src_cat: Catalog | None = None
        self._dst_cat: Catalog | None = None
        self._filtered: list[Name] = []
        self._cautions: tuple[str, ...] = ()
        self._preview: PushResult | None = None
        self._restored = journal.RestoreResult((), ())
        self._deferred = False  # NOT NULL a push left for after the load
        self._positions: dict[Name, int] = {}
        self._replica = False
        self._fks: list[Constraint] = []
        self._as_production: list[Constraint] = []
        self._entries: list[journal.Entry] = []

    # -- the whole run ---------------------------------------------------------------

    def run(self) -> MigrateReport:
        """Every step on QA (a dry run stops after the plan, having written nothing).
        One run per QA database at a time (see :mod:`pgferry.runlock`).  A swap is run
        by :func:`pgferry.migrate.execute`."""
        if self.options.dry_run:
            return self._run()
        if self.options.strategy is Strategy.SWAP:  # pgferry.swap builds on this module
            raise ConfigError(
                "a swap runs its steps around a sibling database",
                hint="call pgferry.migrate.execute(run) or pgferry.swap.swap(run)",
            )
        with runlock.held(self.target, "migrate"):
            return self._run()

    def _run(self) -> MigrateReport:
        try:
            with self.snapshot():
                with self.prepared() as tconn:
                    if self.options.dry_run:
                        return self.finish()
                    self.confirm_run(tconn)
                self.back_up()  # QA's session is closed here: a template copy needs QA alone
                self.push_schema()
                with self.qa_session() as tconn:
                    self.load(tconn)
                    self.afterwards(tconn)
        except BaseException as exc:
            raised = self.stopped(exc)
            if raised is exc:
                raise
            raise raised from exc
        return self.finish()

    @contextmanager
    def prepared(self) -> Iterator[psycopg.Connection[Any]]:
        """QA's first session: lock QA, guard, put back what an interrupted run set
        aside (:func:`pgferry.journal.recovered`, not in a dry run), plan.  The block
        confirms with the session and its lock still held."""
        with (
            connect(self.target, autocommit=True) as tconn,
            journal.recovered(
                tconn,
                before=lambda: self.guard(tconn),
                put_back=not self.options.dry_run,
                around=self._recovering(tconn),
            ) as restored,
        ):
            self._restored = restored
            if restored.restored:
                self.log.note(
                    f"put back {len(restored.restored)} objects an interrupted run had set aside"
                )
            self.plan(tconn)
            yield tconn

    def load(self, tconn: psycopg.Connection[Any]) -> None:
        """set aside -> truncate -> load -> put back; what was set aside comes back even
        after a failure.  QA is recorded as mid-refresh before the first write and no
        longer once every table is in; a load that stops before has every key over it
        checked when put back."""
        if not swapped.mark(tconn, tconn.info.dbname, self.source):
            self.log.note(
                "QA is not marked as refreshed by pgferry (only its owner may comment on "
                "it): the check for swapped URLs runs again next time"
            )
        self._positions = self.snap.sequence_positions(self.src_cat)  # production's, now
        with waits.named(tconn, self.plan_.truncate, self.options.lock_timeout, _WAITING):
            self.set_aside(tconn)
            try:
                self.truncate(tconn)
                self.copy(tconn)
            finally:
                self.put_back(tconn)
            if self._deferred:  # NOT NULL on columns the load has now filled
                self.report_.schema_pushed += self._push(dry_run=False).plan.statements

    def afterwards(self, tconn: psycopg.Connection[Any]) -> None:
        """sequences -> views -> count -> verify."""
        with waits.named(tconn, self.plan_.truncate, self.options.lock_timeout, _WAITING):
            self.sequences(tconn)
            self.views(tconn)
            self.count(tconn)
            self.verify(tconn)

    def finish(self) -> MigrateReport:
        report = self.report_
        if not report.dry_run:
            fixed = len(report.sequences.fixed) if report.sequences else 0
            differ = sum(1 for c in report.counts if not c.ok)
            self.log.note(f"sequences: {fixed} fixed; counts: {differ} differ")
        report.seconds = time.monotonic() - self.started
        return report

    def stopped(self, exc: BaseException) -> BaseException:
        """The error to raise for *exc*, with the report so far saying why the run stopped."""
        raised = self._translated(exc)
        if self.report is not None:
            if isinstance(raised, PgferryError):
                self.report.error = raised.message
            elif isinstance(raised, KeyboardInterrupt):  # Ctrl-C, SIGTERM, SIGHUP
                self.report.error = f"interrupted by {interruption(raised)}"
            self.report.seconds = time.monotonic() - self.started
        return raised

    @staticmethod
    def _translated(exc: BaseException) -> BaseException:
        """A statement QA's server refused becomes a pgferry error with its words (the
        production sessions only read); a lost connection stays as it is."""
        if isinstance(exc, psycopg.Error) and not isinstance(exc, PgferryError):
            return from_server(exc, server="QA's server") or exc
        return exc

    # -- the steps -------------------------------------------------------------------

    @contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        """Open production's snapshot: every table is read as of this one moment."""
        for ep in (self.source, self.target):
            if ep.pgbouncer:
                raise RefusedError(
                    f"{ep.describe()} goes through PgBouncer (pgbouncer=true), whose transaction "
                    "pooling drops the session settings a consistent copy needs",
                    hint="give pgferry a direct URL to the server (Prisma's directUrl)",
                )
        with self.step("snapshot"):
            snap = Snapshot(self.source)
        self._snap = snap
        try:
            yield snap
        finally:
            snap.close()
            self._snap = None

    @contextmanager
    def qa_session(self) -> Iterator[psycopg.Connection[Any]]:
        """QA's session for the steps, holding the journal's lock (one writer at a time)."""
        with connect(self.target, autocommit=True) as tconn, journal.exclusive(tconn):
            yield tconn

    def guard(self, tconn: psycopg.Connection[Any]) -> None:
        """Refuse a target that is production itself or protected; run the cheap
        preflight lines (not in a dry run); refuse URLs that look swapped."""
        with self.step("guard"):
            guard(self.snap, tconn, self.target, self.options.protected)
            if not self.options.dry_run:  # its failing lines say more than a sign would
                preflight.gate(
                    self.source, self.target, self.scope(), ignore=[tconn.info.backend_pid]
                )
            self._cautions = swapped.check(
                self.snap.conn,
                tconn,
                self.source,
                self.target,
                first_refresh=self.options.first_refresh,
                from_copy=self.options.from_copy,
                refuse=self.confirm is None and not self.options.dry_run,
            )

    @contextmanager
    def _recovering(self, tconn: psycopg.Connection[Any]) -> Iterator[None]:
        """The recover step: the putting back, its lock waits bounded."""
        doing = "put back what an earlier run set aside"
        with self.step("recover"), waits.named(tconn, (), self.options.lock_timeout, doing):
            yield

    def plan(self, tconn: psycopg.Connection[Any]) -> None:
        """Read both catalogs and plan the copy; the report starts here."""
        with self.step("plan"):
            skipped = putback.skipped(self._restored, self.log)
            if self.options.push_schema:  # what the push would do, here; it runs after backup
                self._preview = self._push(dry_run=True)
            self._src_cat = self.snap.catalog()
            self._dst_cat = read_catalog(tconn)
            plan = self._build_plan()
            if (empty := self._empty_selection(plan)) is not None:
                raise empty
            plan, self._filtered = with_rls_problems(plan, self.snap, self.src_cat)
            for check in self.checks:
                check(self.snap.conn, plan, self.src_cat)
            self.report = MigrateReport(
                source=self.source.describe(),
                target=self.target.describe(),
                plan=replace(plan, cautions=self._cautions),
                dry_run=self.options.dry_run,
                restored_before=len(self._restored.restored),
                run_id=self.run_id,
                log=self.log.lines,
                schema_pushed=self._preview.plan.statements if self._preview else [],
                large_objects=self._large_objects(tconn),
                journal_skipped=skipped,
            )

    def confirm_run(self, tconn: psycopg.Connection[Any]) -> None:
        """Refuse before any write (schemas that do not fit, hidden rows, a push that
        would not bring QA level, a lock table too small), then ask."""
        with self.step("confirm"):
            plan = self.plan_
            if self._preview is not None:
                refuse_unpushable(plan, self._preview)
            if not plan.blocking:  # QA's lock table must hold the emptying: say so now
                asidemod.truncate_batches(tconn, plan, self.dst_cat, self.src_cat)
            refuse_before_writing(
                plan,
                self._filtered,
                self.src_cat,
                self.dst_cat,
                self.confirm,
                drift_ok=self._preview is not None,
            )
            self.log.note(
                f"plan: {len(plan.tables)} tables, {len(plan.warnings)} warnings; confirmed"
            )

    def back_up(self) -> None:
        """Back QA up before the first write; a backup that cannot be taken stops the run."""
        if not self.options.backup:
            return
        options = self.options
        with self.step("back up"):
            try:
                made = backupmod.backup(
                    self.target,
                    method=options.backup_method,
                    folder=options.backup_folder,
                    keep=options.backup_keep,
                    force=options.force,
                    jobs=options.jobs,
                    say=self.log.note,
                )
            except PgferryError as exc:  # same class and exit code, saying nothing was written
                hint = exc.hint or ""
                if "--no-backup" not in hint:
                    hint = (f"{hint}; or " if hint else "") + (
                        "pass --no-backup to migrate without one ([migrate] backup = false)"
                    )
                said = f"no backup of QA could be taken, so nothing was written: {exc.message}"
                raise exc.reworded(said, hint) from exc
        self.log.note(f"backup {made.name} ({made.method}) at {made.location}")
        self.report_.backup = made

    def push_schema(self) -> None:
        """``--push-schema``: after the backup, the push is QA's first write."""
        if not self.options.push_schema:
            return
        with self.step("push schema"):
            pushed = self._push(dry_run=False)
        self.report_.schema_pushed = pushed.plan.statements
        self._deferred = bool(pushed.plan.deferred)
        with self.qa_session() as tconn:  # plan again, on the schema the push left
            self.replan(tconn)

    def replan(self, tconn: psycopg.Connection[Any]) -> None:
        """Plan again on QA's schema as it is now (after a push, or on a swap's sibling)."""
        self._dst_cat = read_catalog(tconn)
        plan, self._filtered = with_rls_problems(self._build_plan(), self.snap, self.src_cat)
        self.report_.plan = replace(plan, cautions=self._cautions)
        refuse_before_writing(plan, self._filtered, self.src_cat, self.dst_cat, None)
        for check in self.checks:  # columns a push added are checked too, before any row
            check(self.snap.conn, plan, self.src_cat)

    def set_aside(self, tconn: psycopg.Connection[Any]) -> None:
        """Journal the load and set aside the keys, triggers and large tables' indexes."""
        with self.step("set aside"):
            plan, dst_cat, report = self.plan_, self.dst_cat, self.report_
            self._replica = can_use_replica_role(tconn)
            report.mode = LoadMode.REPLICA if self._replica else LoadMode.CONSTRAINTS
            fks, triggers, self._as_production = asidemod.aside(
                plan, dst_cat, self._replica, self.src_cat
            )
            indexes = asidemod.deferred_indexes(plan, dst_cat)
            kept = asidemod.kept(plan, dst_cat, fks)
            found = self._details(tconn, indexes, fks)
            journal.begin_load(tconn, self.run_id, plan.truncate, mode=report.mode, kept=kept)
            self._fks = fks
            self._entries = journal.set_aside(
                tconn, self.run_id, fks, triggers, indexes, details=found
            )
            self.log.note(
                f"{report.mode} mode: set aside {len(fks)} foreign keys, {len(triggers)} "
                f"triggers, {len(indexes)} indexes (journal: pgferry.journal)"
            )

    def truncate(self, tconn: psycopg.Connection[Any]) -> None:
        """Empty exactly the copy set, in batches QA's lock table holds."""
        with self.step("truncate"):
            plan, dst_cat = self.plan_, self.dst_cat
            batches = asidemod.truncate_batches(
                tconn, plan, dst_cat, self.src_cat, replica=self._replica
            )
            with asidemod.replica_session(tconn, self._replica):
                for batch in batches:
                    truncate(tconn, batch, partitioned=asidemod.partitioned(batch, dst_cat))
            self.log.note(f"emptied {len(plan.truncate)} tables in {len(batches)} statement(s)")
            if self.options.large_objects:
                self.log.note(f"removed QA's {largeobjects.remove_all(tconn)} large objects")

    def copy(self, tconn: psycopg.Connection[Any]) -> None:
        """COPY every table in parallel from the snapshot, then the large objects."""
        with self.step("load"):
            plan, report = self.plan_, self.report_
            rebuild: dict[Name, list[journal.Entry]] = {}
            for e in self._entries:
                if e.kind is journal.Kind.INDEX:
                    rebuild.setdefault(e.table, []).append(e)
            report.results = run_copies(
                self.snap,
                self.target,
                plan.tables,
                jobs=self.options.jobs,
                replica=self._replica,
                progress=self.log,
                indexes=rebuild,
            )
            lobs = report.large_objects
            if self.options.large_objects and lobs is not None and lobs.production:
                with (
                    self.snap.worker() as sconn,
                    target_session(self.target, replica=False) as qconn,
                ):
                    lobs.bytes = largeobjects.copy_all(sconn, qconn, say=self.log.note).bytes
            journal.end_load(tconn, self.run_id, plan.truncate)  # every table is in

    def put_back(self, tconn: psycopg.Connection[Any]) -> None:
        """Put back what was set aside (after a failure too), and say what is left."""
        with self.step("put back"):
            plan, report = self.plan_, self.report_
            # the workers analysed every table they loaded; after a failure, analyse here
            put_back = journal.restore(
                tconn,
                self.dst_cat,
                analyzed=len(report.results) == len(plan.tables),
                connect=lambda: connect(self.target, autocommit=True),
                jobs=self.options.jobs,
            )
            putback.record(report, put_back, self.log)
            report.not_valid_in_production = putback.kept_not_valid(
                tconn, self._as_production, self.dst_cat, put_back
            )
        if report.not_valid_in_production:
            self.log.note(
                f"{len(report.not_valid_in_production)} foreign keys NOT VALID in production "
                "too, kept so"
            )

    def sequences(self, tconn: psycopg.Connection[Any]) -> None:
        """Move every sequence to production's position or past QA's data."""
        with self.step("sequences"):
            options, plan = self.options, self.plan_
            selective = bool(options.tables or options.exclude)  # the copied tables' only
            self.report_.sequences = fix_sequences(
                tconn,
                positions=self._positions,
                schemas=options.schemas or None,
                tables={*plan.truncate, *(tp.target for tp in plan.tables)} if selective else None,
                connect=lambda: connect(self.target, read_only=True, autocommit=True),
            )

    def views(self, tconn: psycopg.Connection[Any]) -> None:
        """Refresh materialized views as production has them (after the sequences: a
        failing view must not leave them behind)."""
        with self.step("views"):
            report = self.report_
            views = matviews.refresh(tconn, self.plan_.refresh, matviews.populated(self.snap.conn))
            report.refreshed, report.unpopulated = views.refreshed, views.unpopulated
            report.not_refreshed = views.failed

    def count(self, tconn: psycopg.Connection[Any]) -> None:
        """Compare QA's row counts with what production's COPY sent from the snapshot
        (no second scan of production), and the large objects."""
        with self.step("count"):
            plan, report = self.plan_, self.report_
            lobs = report.large_objects
            if lobs is not None and lobs.copied:
                lobs.qa = largeobjects.count(tconn)
            elif lobs is not None:
                report.notices.append(
                    f"{lobs.production} large object(s) of production were left behind "
                    "(--no-large-objects); QA's own were left as they were"
                )
            sent = {r.table.target: r.source_rows for r in report.results}
            target_counts = count_rows(tconn, [(tp.target, tp.only) for tp in plan.tables])
            report.counts = [
                CountCheck(tp.target, sent[tp.target], target_counts[tp.target])
                for tp in plan.tables
            ]

    def verify(self, tconn: psycopg.Connection[Any]) -> None:
        """Can the application create a row in every table now? (one insert each,
        taking every default, rolled back)"""
        if not self.options.verify:
            return
        with self.step("verify"):
            qa_now = read_catalog(tconn)
            self.report_.inserts = [
                check_insert(tconn, qa_now, tp.target)
                for tp in self.plan_.tables
                if (t := qa_now.table(tp.target)) is not None and t.kind is RelKind.TABLE
            ]

    # -- what the steps share --------------------------------------------------------

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Name *name* to the progress display and the run log while it runs."""
        inner = self.log.inner
        number = self.steps.index(name) + 1 if name in self.steps else 0
        self.log.note(f"step {name}")
        if isinstance(inner, StepProgress):
            inner.step(name, number, len(self.steps))
        began = time.monotonic()
        yield
        if isinstance(inner, StepProgress):
            inner.step_done(name, time.monotonic() - began)

    def retarget(self, target: Endpoint) -> None:
        """Run the remaining steps on *target* (a swap's sibling) instead of QA."""
        self.target = replace(target, lock_timeout=self.options.lock_timeout)

    def scope(self) -> preflight.Scope:
        options = self.options
        return preflight.Scope(
            tables=options.tables,
            exclude=options.exclude,
            schemas=options.schemas,
            backup=options.backup and options.strategy is Strategy.REFRESH,
            backup_method=options.backup_method,
            strategy=str(options.strategy),
            force=options.force,
        )

    def _applicable(self) -> list[str]:
        options, skip = self.options, set[str]()
        if options.dry_run:
            return ["snapshot", "guard", "plan"]
        if not options.backup or options.strategy is Strategy.SWAP:
            skip.add("back up")
        if options.strategy is not Strategy.SWAP:
            skip |= {"make sibling", "swap in"}
        if not options.push_schema:
            skip.add("push schema")
        if not options.verify:
            skip.add("verify")
        return [s for s in STEPS if s not in skip]

    def _build_plan(self) -> Plan:
        plan = build_plan(
            self.src_cat,
            self.dst_cat,
            tables=self.options.tables,
            exclude=self.options.exclude,
            schemas=self.options.schemas,
        )
        for shape in self.shapers:
            plan = shape(plan, self.src_cat, self.dst_cat)
        return plan

    def _empty_selection(self, plan: Plan) -> PgferryError | None:
        options = self.options
        return empty_selection(
            plan,
            self.src_cat,
            tables=options.tables,
            exclude=options.exclude,
            schemas=options.schemas,
        )

    def _push(self, *, dry_run: bool) -> PushResult:
        """``schema push`` (additive only); in a dry run, what it would run.
        ``plan.deferred`` of the result: statements that wait for the load (NOT NULL
        on a new column of a table that holds rows)."""
        result = push(  # recovered already, and QA's lock may be held by this run
            self.source,
            self.target,
            dry_run=dry_run,
            schemas=tuple(self.options.schemas),
            recover=False,
        )
        if dry_run:
            self.log.note(f"schema push would run {result.plan.size} statements first")
        elif result.plan.statements:
            self.log.note(
                f"schema push: {result.plan.size} statements applied ({result.plan.method})"
            )
        for d in (*result.plan.held_back, *result.plan.refused):
            why = d.refused or "needs --allow-drop"
            self.log.note(f"schema push left alone: {d.kind} {d.name}: {why}")
        return result

    def _large_objects(self, tconn: psycopg.Connection[Any]) -> largeobjects.Tally:
        """Production's large objects, counted in the snapshot; before any write, whether
        this run may read them and remove QA's (a missing privilege stops it here)."""
        copied = self.options.large_objects
        tally = largeobjects.Tally(largeobjects.count(self.snap.conn), copied=copied)
        if copied and not self.options.dry_run:
            if tally.production:
                with self.snap.worker() as conn:
                    largeobjects.check_readable(conn)
            largeobjects.check_removable(tconn)
        return tally

    def _details(
        self,
        tconn: psycopg.Connection[Any],
        indexes: Sequence[Index],
        fks: Sequence[Constraint],
    ) -> dict[tuple[Name, str], str]:
        """What pg_dump shows for the objects about to be set aside (see
        :mod:`pgferry.details`); when QA cannot be dumped, the load goes on with their
        definitions only, and says so."""
        if not indexes and not fks:
            return {}
        try:
            return details.read(
                self.target,
                tconn.info.server_version // 10000,
                indexes,
                fks,
                lock_wait=self.options.lock_timeout,
            )
        except DatabaseError as exc:
            note = (
                "comments, tablespaces, CLUSTER ON and statistics targets of the indexes and "
                f"foreign keys set aside could not be read, so they may be lost: {exc.message}"
            )
            self.log.note(note)
            self.report_.notices.append(note)
            return {}

    # -- state the steps fill in, checked where it is read ---------------------------

    @property
    def snap(self) -> Snapshot:
        assert self._snap is not None, "the snapshot step has not run"
        return self._snap

    @property
    def src_cat(self) -> Catalog:
        assert self._src_cat is not None, "the plan step has not run"
        return self._src_cat

    @property
    def dst_cat(self) -> Catalog:
        assert self._dst_cat is not None, "the plan step has not run"
        return self._dst_cat

    @property
    def report_(self) -> MigrateReport:
        assert self.report is not None, "the plan step has not run"
        return self.report

    @property
    def plan_(self) -> Plan:
        return self.report_.plan


__all__ = ["STEPS", "Check", "Refresh", "Shaper"]
