"""What a refresh did: :class:`MigrateReport`, and :func:`check_counts`, which turns a
report that does not verify into the error to raise."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import largeobjects, matviews
from ..catalog import Name
from ..errors import VerificationFailed as VerificationFailed  # defined in pgferry.errors
from ..integrity import ForeignKeyCheck, InsertCheck
from ..plan import Plan
from ..safety import backup as backupmod
from ..sequences import SequenceReport
from .aside import LoadMode
from .streams import TableResult


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
    """What a refresh did, step by step: the plan, every table's copy, the counts, the
    sequences, what was put back or left NOT VALID, the backup, and why it stopped
    (``error``) when it did; :attr:`ok` when QA verifies."""

    source: str
    target: str
    plan: Plan
    dry_run: bool = False
    mode: LoadMode | None = None  # how QA's checks were kept from firing, once loaded
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
            "mode": str(self.mode or ""),
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


__all__ = ["CountCheck", "MigrateReport", "VerificationFailed", "check_counts"]
