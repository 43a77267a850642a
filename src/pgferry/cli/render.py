"""Turn library results into what a person reads (rich tables) or a machine reads (JSON)."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from ..endpoints import mask
from ..sequences import SequenceReport, SequenceState, Status


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


def sequence_table(report: SequenceReport, *, show_all: bool) -> Table | None:
    rows = [s for s in report.states if show_all or s.status is not Status.OK]
    if not rows:
        return None
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
            str(s.name),
            ", ".join(str(f.column) for f in s.feeds),
            _num(s.data_extreme),
            _num(s.next_value),
        ]
        if report.source:
            cells.append(_num(s.source_next))
        if fixing:
            cells.append(_num(s.target_next))
        cells += [_status(s, report.dry_run), s.note]
        table.add_row(*cells)
    return table


def sequence_summary(report: SequenceReport) -> str:
    n = len(report.states)
    ok = sum(1 for s in report.states if s.status is Status.OK)
    parts = [f"{n} sequence{'s' if n != 1 else ''} in {report.database}: {ok} ok"]
    counts: dict[str, int] = {}
    for s in report.states:
        if s.status is not Status.OK:
            label = s.status.value
            if report.dry_run and s.needs_change:
                label = f"{label} (would fix)"
            counts[label] = counts.get(label, 0) + 1
    parts += [f"{c} {label}" for label, c in counts.items()]
    return ", ".join(parts)
