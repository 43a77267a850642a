"""Turn library results into what a person reads (rich tables) or a machine reads (JSON)."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..endpoints import mask
from ..integrity import InsertStatus
from ..migrate import MigrateReport
from ..plan import Plan
from ..report import checklist
from ..safety.backup import Backup
from ..safety.preflight import Mark, PreflightReport
from ..sequences import SequenceReport, SequenceState, Status
from ..verify import VerifyReport


def console() -> Console:
    """stdout; wide and plain when it is not a terminal, so lines do not wrap in logs."""
    if sys.stdout.isatty():
        return Console(highlight=False)
    return Console(width=200, highlight=False, no_color=True, soft_wrap=True)


def print_json(data: Any) -> None:
    sys.stdout.write(mask(json.dumps(data, indent=2, default=str)) + "\n")


_STYLE = {
    Status.OK: "green",
    Status.FIXED: "green",
    Status.BEHIND: "red",
    Status.BEHIND_SOURCE: "yellow",
    Status.OUT_OF_RANGE: "red",
    Status.SKIPPED: "dim",
}


def _num(v: int | None) -> str:
    return "" if v is None else str(v)


def _status(s: SequenceState, dry_run: bool) -> str:
    label = s.status.value
    if dry_run and s.needs_change:
        label += " (would fix)"
    return f"[{_STYLE[s.status]}]{label}[/]"


#: Rows shown without --all; the summary line counts every sequence.
MAX_ROWS = 40


def sequence_table(report: SequenceReport, *, show_all: bool) -> tuple[Table | None, int]:
    """The table to print, and how many rows were left out of it."""
    rows = [s for s in report.states if show_all or s.status is not Status.OK]
    hidden = 0
    if not show_all and len(rows) > MAX_ROWS:
        rows, hidden = rows[:MAX_ROWS], len(rows) - MAX_ROWS
    if not rows:
        return None, 0
    fixing = report.applied or report.dry_run
    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    table.add_column("sequence", overflow="fold")
    table.add_column("columns", overflow="fold")
    table.add_column("data max/min", justify="right")
    table.add_column("next value", justify="right")
    if report.source:
        table.add_column("production next", justify="right")
    if fixing:
        table.add_column("new next value", justify="right")
    table.add_column("status")
    table.add_column("note", overflow="fold")
    for s in rows:
        cells = [
            escape(str(s.name)),
            escape(", ".join(str(f.column) for f in s.feeds)),
            _num(s.data_extreme),
            _num(s.next_value),
        ]
        if report.source:
            cells.append(_num(s.source_next))
        if fixing:
            cells.append(_num(s.target_next))
        cells += [_status(s, report.dry_run), escape(s.note)]
        table.add_row(*cells)
    return table, hidden


def sequence_summary(report: SequenceReport) -> str:
    n = len(report.states)
    ok = sum(1 for s in report.states if s.status is Status.OK)
    parts = [f"{n} sequence{'s' if n != 1 else ''} in {escape(report.database)}: {ok} ok"]
    counts: dict[str, int] = {}
    for s in report.states:
        if s.status is not Status.OK:
            label = s.status.value
            if report.dry_run and s.needs_change:
                label = f"{label} (would fix)"
            counts[label] = counts.get(label, 0) + 1
    parts += [f"{c} {label}" for label, c in counts.items()]
    return ", ".join(parts)


def size(n: int) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def backups_table(listed: list[Backup]) -> None:
    out = console()
    if not listed:
        out.print("no backups (pgferry backup takes one)")
        return
    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    for col in ("name", "created (UTC)", "method", "size", "location"):
        table.add_column(col, justify="right" if col == "size" else "left", overflow="fold")
    for b in listed:
        table.add_row(escape(b.name), b.created, b.method, size(b.size), escape(str(b.location)))
    out.print(table)
    out.print(f"roll back with: pgferry rollback --backup {listed[-1].name}", markup=False)


_MARKS = {Mark.OK: "[green]ok  [/]", Mark.WARN: "[yellow]warn[/]", Mark.FAIL: "[red]FAIL[/]"}


def preflight_lines(report: PreflightReport) -> None:
    out = console()
    out.print(f"preflight: {report.source} -> {report.target}", markup=False)
    for c in report.checks:
        out.print(f"{_MARKS[c.mark]} {escape(c.title)}: {escape(c.reason)}")
        if c.fix and c.mark is not Mark.OK:
            out.print(f"       fix: {c.fix}", markup=False)
    failed = len(report.failed)
    out.print(f"{failed} failing line(s)" if failed else "ready: no line fails")


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def plan_table(plan: Plan) -> Table:
    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    for col in ("#", "production", "QA", "format", "est. rows", "est. size", "note"):
        table.add_column(col, justify="right" if col.startswith(("#", "est")) else "left")
    for i, t in enumerate(plan.tables, 1):
        table.add_row(
            str(i),
            escape(str(t.source)),
            escape(str(t.target)),
            "binary" if t.binary else "text",
            str(t.estimated_rows),
            _mb(t.estimated_bytes),
            escape(t.note),
        )
    return table


def migrate_summary(report: MigrateReport) -> None:
    out = console()
    plan = report.plan
    if report.restored_before:
        out.print(
            f"put back {report.restored_before} constraints/triggers an interrupted run "
            "had set aside"
        )
    for what, why in report.journal_skipped:
        out.print(f"[yellow]journal: {escape(what)} {escape(why)}[/]")
    if report.schema_pushed:
        verb = "would first run" if report.dry_run else "schema push ran"
        out.print(f"{verb} {len(report.schema_pushed)} schema statement(s) (pgferry schema push)")
    for tp in plan.tables:
        if tp.masked:  # the rule's kind per column, never a value
            rules = ", ".join(f"{c} ({kind})" for c, kind in tp.masked)
            out.print(f"masked in {tp.target}: {rules}", markup=False)
    if report.dry_run:
        out.print(plan_table(plan))
        out.print(
            f"would empty {len(plan.truncate)} QA tables: "
            + ", ".join(str(n) for n in plan.truncate),
            markup=False,
        )
        if plan.refresh:
            out.print("would refresh: " + ", ".join(str(n) for n in plan.refresh), markup=False)
        lobs = report.large_objects
        if lobs is not None and lobs.production:
            verb = "would copy" if lobs.copied else "would leave behind"
            out.print(f"{verb} {lobs.production} large object(s)")
        out.print(f"about {plan.estimated_rows} rows, {_mb(plan.estimated_bytes)}")
    else:
        counts = {c.table: c for c in report.counts}
        table = Table(show_edge=False, pad_edge=False, header_style="bold")
        for col in ("table", "rows", "size", "seconds", "counts"):
            table.add_column(col, justify="left" if col == "table" else "right")
        for r in sorted(report.results, key=lambda r: str(r.table.target)):
            c = counts.get(r.table.target)
            ok = (
                "[green]match[/]"
                if c and c.ok
                else f"[red]{c.source_rows if c else '?'} in prod[/]"
            )
            table.add_row(
                escape(str(r.table.target)), str(r.rows), _mb(r.bytes), f"{r.seconds:.2f}", ok
            )
        out.print(table)
    for name, why in plan.skipped:
        out.print(f"[dim]left out {escape(str(name))}: {escape(why)}[/]")
    for caution in plan.cautions:
        out.print(f"[red]may be production (never refreshed by pgferry): {escape(caution)}[/]")
    for p in plan.problems:
        style = "red" if p.severity.value == "blocking" else "yellow"
        out.print(f"[{style}]{p.severity.value}: {escape(p.message)}[/]")
    if not report.dry_run:
        if report.sequences is not None:
            out.print(
                f"sequences: {len(report.sequences.fixed)} fixed, "
                f"{len(report.sequences.behind)} still behind"
            )
        for ins in report.inserts:
            if not ins.ok:
                out.print(
                    f"[red]a new row in {escape(str(ins.table))} would collide: "
                    f"{escape(ins.detail)}[/]"
                )
        for fk_name, why in report.not_validated:
            out.print(f"[red]foreign key {escape(fk_name)} left NOT VALID: {escape(why)}[/]")
        if report.not_valid_in_production:  # production's state, copied: not a failure
            out.print("foreign keys NOT VALID in production too (kept so), for information:")
            for fk in report.not_valid_in_production:
                out.print(f"  {escape(fk.explain())}")
        for view, why in report.not_refreshed:
            out.print(
                f"[red]materialized view {escape(str(view))} could not be refreshed: "
                f"{escape(why)}[/]"
            )
        for view in report.unpopulated:
            out.print(
                f"[dim]materialized view {escape(str(view))} left WITH NO DATA, as in production[/]"
            )
        for done, text in checklist(report):
            out.print(f"{'[green]✓[/]' if done else '[yellow]·[/]'} {escape(text)}")
        for notice in report.notices:
            out.print(f"[yellow]note: {escape(notice)}[/]")
        total = sum(r.rows for r in report.results)
        verdict = "[green]verified[/]" if report.ok else "[red]NOT verified[/]"
        out.print(
            f"copied {total} rows in {len(report.results)} tables in {report.seconds:.1f} s "
            f"({report.mode} mode): {verdict}"
        )


def verify_table(report: VerifyReport) -> Table:
    inserts = {i.table: i for i in report.inserts}
    masked = {m.table for m in report.masks}
    leaking = {m.table for m in report.masks if not m.ok}
    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    columns = ["table", "production rows", "QA rows", "content", "new row"]
    for col in columns + (["masked"] if report.masks else []):
        table.add_column(col, justify="left" if col == "table" else "right")
    for t in report.tables:
        if t.source_hash is None:
            content = ""
        else:
            content = "[green]equal[/]" if t.source_hash == t.target_hash else "[red]differs[/]"
        ins = inserts.get(t.target)
        new_row = ""
        if ins is not None:
            new_row = {
                InsertStatus.OK: "[green]ok[/]",
                InsertStatus.COLLISION: "[red]collides[/]",
            }.get(ins.status, ins.status)
        rows_style = "" if t.source_rows == t.target_rows else "[red]"
        cells = [escape(str(t.target)), str(t.source_rows), f"{rows_style}{t.target_rows}"]
        cells += [content, new_row]
        if report.masks:  # production's values found in a masked column, on a sample
            leaks = t.target in leaking
            cells.append("[red]leaks[/]" if leaks else "[green]ok[/]" if t.target in masked else "")
        table.add_row(*cells)
    return table
